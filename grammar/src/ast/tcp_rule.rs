//! `tcp-request connection|content accept|reject [if|unless COND]` and
//! `tcp-request inspect-delay TIME`: the rules of a TCP (or HTTP) frontend
//! that run before any HTTP parsing, in the order they were written.

use crate::ast::condition::{split_condition, Condition};
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::word::Word;

/// When a `tcp-request` rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpRuleStage {
    /// At accept, before any byte is read: only L4 facts (`src`, `dst`…).
    Connection,
    /// Once data arrives, waiting up to `tcp-request inspect-delay` for the
    /// rules to be able to decide.
    Content,
}

impl TcpRuleStage {
    /// The directive's keywords, for messages.
    pub fn keyword(self) -> &'static str {
        match self {
            TcpRuleStage::Connection => "tcp-request connection",
            TcpRuleStage::Content => "tcp-request content",
        }
    }
}

/// What a `tcp-request` rule does when its condition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpAction {
    /// Stops the rules of this stage; the connection goes on.
    Accept,
    /// Closes the connection at once.
    Reject,
}

/// One `tcp-request connection|content` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRule {
    /// When it runs.
    pub stage: TcpRuleStage,
    /// What it does.
    pub action: TcpAction,
    /// When it applies; `None`: always.
    pub condition: Option<Condition>,
    /// The whole directive, keywords included.
    pub span: Span,
}

/// HAProxy 2.6 actions of `tcp-request connection|content` that Switchyard
/// does not implement yet: refused by name rather than called unknown.
const KNOWN_UNSUPPORTED: &[&str] = &[
    "expect-proxy",
    "expect-netscaler-cip",
    "capture",
    "do-resolve",
    "lua",
    "sc-inc-gpc",
    "sc-inc-gpc0",
    "sc-inc-gpc1",
    "sc-set-gpt0",
    "send-spoe-group",
    "set-dst",
    "set-dst-port",
    "set-log-level",
    "set-mark",
    "set-nice",
    "set-priority-class",
    "set-priority-offset",
    "set-src",
    "set-src-port",
    "set-tos",
    "set-var",
    "set-var-fmt",
    "silent-drop",
    "switch-mode",
    "track-sc0",
    "track-sc1",
    "track-sc2",
    "unset-var",
    "use-service",
    "attach-srv",
    "set-bandwidth-limit",
];

const ACTIONS: &[&str] = &["accept", "reject"];

impl TcpRule {
    /// Parses the words after `tcp-request connection|content` (`stage_word`).
    pub fn parse(
        keyword: &Word,
        stage_word: &Word,
        stage: TcpRuleStage,
        words: &[Word],
    ) -> Result<TcpRule, Diagnostic> {
        let (action_words, condition) = split_condition(words)?;
        let Some((name, rest)) = action_words.split_first() else {
            return Err(Diagnostic::error(
                keyword.span.to(stage_word.span),
                format!("'{}' expects an action (missing argument)", stage.keyword()),
            )
            .with_help("e.g. 'tcp-request connection reject if { src 192.0.2.0/24 }'"));
        };
        let action = match name.text.as_str() {
            "accept" => TcpAction::Accept,
            "reject" => TcpAction::Reject,
            other if KNOWN_UNSUPPORTED.contains(&other) => {
                return Err(Diagnostic::error(
                    name.span,
                    format!(
                        "'{} {other}' is not supported by switchyard yet",
                        stage.keyword()
                    ),
                )
                .with_help("the supported actions are: accept, reject"))
            }
            other => {
                let diag = Diagnostic::error(
                    name.span,
                    format!("unknown {} action '{other}'", stage.keyword()),
                );
                return Err(match crate::suggest::did_you_mean(other, ACTIONS) {
                    Some(s) => diag.with_help(format!("did you mean '{s}'?")),
                    None => diag.with_help("the supported actions are: accept, reject"),
                });
            }
        };
        if let Some(extra) = rest.first() {
            return Err(Diagnostic::error(
                extra.span,
                format!("unexpected word '{}' after '{}'", extra.text, name.text),
            )
            .with_help("a condition starts with 'if' or 'unless'"));
        }
        let end = words.last().map(|w| w.span).unwrap_or(name.span);
        Ok(TcpRule {
            stage,
            action,
            condition,
            span: keyword.span.to(end),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Word> {
        let mut col = 1;
        text.split(' ')
            .map(|t| {
                let w = Word::new(
                    t,
                    Span {
                        line: 1,
                        column: col,
                        ..Span::default()
                    },
                );
                col += t.len() as u32 + 1;
                w
            })
            .collect()
    }

    #[test]
    fn parses_accept_and_reject_with_conditions() {
        let w = words("tcp-request connection reject if { src 127.0.0.2 }");
        let rule = TcpRule::parse(&w[0], &w[1], TcpRuleStage::Connection, &w[2..]).unwrap();
        assert_eq!(rule.action, TcpAction::Reject);
        assert!(rule.condition.is_some());
        let w = words("tcp-request content accept");
        let rule = TcpRule::parse(&w[0], &w[1], TcpRuleStage::Content, &w[2..]).unwrap();
        assert_eq!(rule.action, TcpAction::Accept);
        assert!(rule.condition.is_none());
    }

    #[test]
    fn refuses_unknown_unsupported_and_missing_actions() {
        let w = words("tcp-request content acept");
        let e = TcpRule::parse(&w[0], &w[1], TcpRuleStage::Content, &w[2..]).unwrap_err();
        assert!(e
            .message
            .contains("unknown tcp-request content action 'acept'"));
        let w = words("tcp-request content track-sc0 src");
        let e = TcpRule::parse(&w[0], &w[1], TcpRuleStage::Content, &w[2..]).unwrap_err();
        assert!(e.message.contains("not supported by switchyard yet"));
        let w = words("tcp-request connection");
        let e = TcpRule::parse(&w[0], &w[1], TcpRuleStage::Connection, &w[2..]).unwrap_err();
        assert!(e.message.contains("missing argument"));
        let w = words("tcp-request connection reject now");
        let e = TcpRule::parse(&w[0], &w[1], TcpRuleStage::Connection, &w[2..]).unwrap_err();
        assert!(e.message.contains("unexpected word 'now'"));
    }
}

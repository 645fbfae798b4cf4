//! Conditions: `if`/`unless` followed by ACL terms, with implicit AND,
//! `||`/`or`, `!` and anonymous `{ … }` ACLs, as in
//! `if host_api !{ src 127.0.0.0/8 } || METH_POST`.

use crate::ast::acl::AclExpr;
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::word::Word;

/// Whether a condition applies the rule when it holds or when it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polarity {
    /// `if COND`: the rule applies when the condition holds.
    If,
    /// `unless COND`: the rule applies when it does not.
    Unless,
}

/// A reference to an ACL: by name (declared or predefined) or anonymous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclRef {
    /// An ACL by its name: declared with `acl`, or one of HAProxy's predefined
    /// ones (`TRUE`, `METH_GET`, `HTTP_1.1`…).
    Named(Word),
    /// `{ fetch [flags] patterns }`, written inside the condition.
    Anonymous(Box<AclExpr>),
}

/// One term of a condition: an ACL, perhaps negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclTerm {
    /// `!`: the term holds when the ACL does not match.
    pub negated: bool,
    /// The ACL tested.
    pub acl: AclRef,
    /// Where the term is written, `!` included.
    pub span: Span,
}

/// `if`/`unless` and an OR of ANDs of terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// `if` or `unless`.
    pub polarity: Polarity,
    /// Each inner list is ANDed; the lists are ORed.
    pub alternatives: Vec<Vec<AclTerm>>,
    /// From `if`/`unless` to the last word.
    pub span: Span,
}

/// Splits a rule's words at its first unquoted `if` or `unless`: the words
/// before it and the parsed condition after it.
pub fn split_condition(words: &[Word]) -> Result<(&[Word], Option<Condition>), Diagnostic> {
    match words.iter().position(|w| w.is("if") || w.is("unless")) {
        None => Ok((words, None)),
        Some(at) => Ok((
            &words[..at],
            Some(Condition::parse(&words[at], &words[at + 1..])?),
        )),
    }
}

impl Condition {
    /// Parses the terms that follow the `if`/`unless` word `keyword`.
    pub fn parse(keyword: &Word, words: &[Word]) -> Result<Condition, Diagnostic> {
        let polarity = if keyword.text == "if" {
            Polarity::If
        } else {
            Polarity::Unless
        };
        if words.is_empty() {
            return Err(Diagnostic::error(
                keyword.span,
                format!("'{}' needs a condition (missing argument)", keyword.text),
            )
            .with_help("name an ACL after it, e.g. 'if is_api', or remove the condition"));
        }
        let mut alternatives = vec![Vec::new()];
        let mut negated = false;
        let mut i = 0;
        while i < words.len() {
            let w = &words[i];
            let mut text = w.text.as_str();
            if !w.quoted {
                // HAProxy strips any number of leading '!' and flips each time.
                while let Some(rest) = text.strip_prefix('!') {
                    negated = !negated;
                    text = rest;
                }
            }
            let start_span = w.span;
            if text.is_empty() && !w.quoted {
                i += 1;
                continue;
            }
            // HAProxy compares `or` without case (`strcasecmp`), `||` exactly.
            if !w.quoted && (text == "||" || text.eq_ignore_ascii_case("or")) {
                if negated || alternatives.last().is_none_or(Vec::is_empty) {
                    return Err(Diagnostic::error(
                        w.span,
                        format!("'{text}' has no condition on its left"),
                    )
                    .with_help("write a term on each side of '||'"));
                }
                alternatives.push(Vec::new());
                i += 1;
                continue;
            }
            let term = if !w.quoted && text == "{" {
                let close = words[i + 1..].iter().position(|x| x.is("}")).map(|p| i + 1 + p).ok_or_else(|| {
                    Diagnostic::error(w.span, "missing closing brace for the anonymous ACL")
                        .with_help("end the anonymous ACL with '}' separated by a space, e.g. '{ path_beg /api }'")
                })?;
                let inner = &words[i + 1..close];
                if inner.is_empty() {
                    return Err(Diagnostic::error(w.span, "empty anonymous ACL '{ }'")
                        .with_help("write a fetch and patterns between the braces"));
                }
                let expr = AclExpr::parse(inner)?;
                let span = start_span.to(words[close].span);
                i = close + 1;
                AclTerm {
                    negated,
                    acl: AclRef::Anonymous(Box::new(expr)),
                    span,
                }
            } else if !w.quoted && text == "}" {
                return Err(Diagnostic::error(w.span, "'}' without an opening brace")
                    .with_help("anonymous ACLs are written '{ fetch patterns }'"));
            } else {
                i += 1;
                let mut name = w.clone();
                name.text = text.to_owned();
                let offset = (w.text.len() - text.len()) as u32;
                name.span.column += offset;
                name.span.len = name.span.len.saturating_sub(offset);
                AclTerm {
                    negated,
                    acl: AclRef::Named(name),
                    span: start_span,
                }
            };
            negated = false;
            alternatives.last_mut().expect("never empty").push(term);
        }
        if alternatives.last().is_some_and(Vec::is_empty) {
            let last = &words[words.len() - 1];
            return Err(Diagnostic::error(
                last.span,
                format!("condition ends with '{}'", last.text),
            )
            .with_help("add the term that should follow, or remove it"));
        }
        let span = keyword.span.to(words[words.len() - 1].span);
        Ok(Condition {
            polarity,
            alternatives,
            span,
        })
    }

    /// Every ACL name the condition refers to.
    pub fn named_acls(&self) -> impl Iterator<Item = &Word> {
        self.alternatives
            .iter()
            .flatten()
            .filter_map(|t| match &t.acl {
                AclRef::Named(w) => Some(w),
                AclRef::Anonymous(_) => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Environment;
    use crate::lexer::lex_line;
    use crate::span::FileId;

    fn cond(text: &str) -> Result<Condition, Diagnostic> {
        let words = lex_line(text, FileId(0), 1, &Environment::new()).unwrap();
        Condition::parse(&words[0], &words[1..])
    }

    #[test]
    fn and_or_not_and_anonymous() {
        let c = cond("if a !b || { path_beg /api /v2 } or !!c").unwrap();
        assert_eq!(c.polarity, Polarity::If);
        assert_eq!(c.alternatives.len(), 3);
        assert_eq!(c.alternatives[0].len(), 2);
        assert!(!c.alternatives[0][0].negated && c.alternatives[0][1].negated);
        match &c.alternatives[1][0].acl {
            AclRef::Anonymous(e) => {
                assert_eq!(e.fetch.fetch.name, "path_beg");
                assert_eq!(e.patterns.len(), 2);
            }
            other => panic!("expected anonymous, got {other:?}"),
        }
        assert!(!c.alternatives[2][0].negated, "'!!' cancels out");
    }

    #[test]
    fn or_is_one_operator_in_any_case() {
        for or in ["or", "OR", "Or", "||"] {
            let c = cond(&format!("unless has_token {or} has_header")).unwrap();
            assert_eq!(c.alternatives.len(), 2, "{or}");
        }
        // A quoted word is an ACL name, never the operator.
        let c = cond("if a \"OR\" b").unwrap();
        assert_eq!(c.alternatives.len(), 1);
    }

    #[test]
    fn separate_bang_and_unless() {
        let c = cond("unless ! { src 127.0.0.1 }").unwrap();
        assert_eq!(c.polarity, Polarity::Unless);
        assert!(c.alternatives[0][0].negated);
    }

    #[test]
    fn malformed_conditions_are_located() {
        let e = cond("if { path_beg /x").unwrap_err();
        assert!(e.message.contains("missing closing brace"));
        assert_eq!(e.span.unwrap().column, 4);
        assert!(cond("if").unwrap_err().message.contains("missing argument"));
        assert!(cond("if a ||").is_err());
        assert!(cond("if || a").is_err());
        assert!(cond("if a }").is_err());
    }

    #[test]
    fn named_term_span_skips_the_bang() {
        let c = cond("if !host_a").unwrap();
        match &c.alternatives[0][0].acl {
            AclRef::Named(w) => {
                assert_eq!(w.text, "host_a");
                assert_eq!(w.span.column, 5);
            }
            other => panic!("{other:?}"),
        }
    }
}

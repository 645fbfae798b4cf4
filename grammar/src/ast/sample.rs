//! Sample expressions: a fetch followed by converters, as in
//! `req.hdr(host),lower,map(hosts.map,default)`.

use pest::iterators::Pair;
use pest::Parser;

use crate::diagnostic::Diagnostic;
use crate::lexer::{ConfigGrammar, Rule};
use crate::span::Span;

/// One fetch or converter call: a name and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleCall {
    /// The fetch's or converter's name (`req.hdr`, `lower`).
    pub name: String,
    /// The arguments between the parentheses, unquoted.
    pub args: Vec<String>,
    /// Whether the call had parentheses (`hdr()` and `hdr` differ for some fetches).
    pub has_parens: bool,
    /// Where the call is written.
    pub span: Span,
}

/// A fetch and the converters applied to its result, left to right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleExpr {
    /// The fetch that produces the value.
    pub fetch: SampleCall,
    /// The converters, in the order applied.
    pub converters: Vec<SampleCall>,
    /// The whole expression as written.
    pub span: Span,
}

impl SampleExpr {
    /// Parses `text`, whose first character is at `span` (one line).
    pub fn parse(text: &str, span: Span) -> Result<SampleExpr, Diagnostic> {
        let pairs = ConfigGrammar::parse(Rule::sample, text).map_err(|e| {
            let offset = match e.location {
                pest::error::InputLocation::Pos(p) => p,
                pest::error::InputLocation::Span((p, _)) => p,
            };
            let column = span.column + text[..offset.min(text.len())].chars().count() as u32;
            Diagnostic::error(
                Span {
                    column,
                    len: 1,
                    ..span
                },
                format!("invalid sample expression '{text}'"),
            )
            .with_help(
                "write a fetch with optional arguments and converters, e.g. req.hdr(host),lower",
            )
        })?;
        let mut calls = pairs
            .flatten()
            .filter(|p| p.as_rule() == Rule::sample_call)
            .map(|p| call(p, text, span))
            .collect::<Vec<_>>()
            .into_iter();
        let fetch = calls.next().expect("the sample rule has at least one call");
        Ok(SampleExpr {
            fetch,
            converters: calls.collect(),
            span,
        })
    }
}

fn call(pair: Pair<'_, Rule>, text: &str, base: Span) -> SampleCall {
    let start = pair.as_span().start();
    let column = base.column + text[..start].chars().count() as u32;
    let span = Span {
        column,
        len: pair.as_str().chars().count() as u32,
        ..base
    };
    let mut name = String::new();
    let mut args = Vec::new();
    let mut has_parens = false;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::sample_name => name = p.as_str().to_owned(),
            Rule::sample_args => {
                has_parens = true;
                args = p.into_inner().map(|a| unescape_arg(a.as_str())).collect();
            }
            _ => {}
        }
    }
    // `hdr()` has parentheses but no sample_args pair when empty.
    if !has_parens
        && text[start..]
            .trim_start_matches(name.as_str())
            .starts_with('(')
    {
        has_parens = true;
        args.push(String::new());
    }
    SampleCall {
        name,
        args,
        has_parens,
        span,
    }
}

/// HAProxy's argument unescaping (`make_arg_list`): a backslash before a
/// backslash or a quote stands for that character; any other backslash
/// stays, so `regsub(a(b),\1)`'s back-reference reaches the converter.
fn unescape_arg(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&next) = chars.peek().filter(|n| matches!(n, '\\' | '\'' | '"')) {
                chars.next();
                out.push(next);
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::FileId;

    #[test]
    fn argument_backslashes_other_than_before_quotes_stay() {
        assert_eq!(unescape_arg(r#"\1\\x\,\"q\'"#), r#"\1\x\,"q'"#);
    }

    #[test]
    fn fetch_with_converters() {
        let e = SampleExpr::parse(
            "req.hdr(host),lower,map(hosts.map,default)",
            Span::new(FileId(0), 3, 10, 40),
        )
        .unwrap();
        assert_eq!(e.fetch.name, "req.hdr");
        assert_eq!(e.fetch.args, ["host"]);
        assert_eq!(e.converters.len(), 2);
        assert_eq!(e.converters[1].name, "map");
        assert_eq!(e.converters[1].args, ["hosts.map", "default"]);
        assert_eq!(e.converters[0].span.column, 24);
    }

    #[test]
    fn bare_fetch_and_errors() {
        let e = SampleExpr::parse("path", Span::default()).unwrap();
        assert!(e.fetch.args.is_empty() && !e.fetch.has_parens);
        assert!(SampleExpr::parse("hdr(host", Span::default()).is_err());
        assert!(SampleExpr::parse("", Span::default()).is_err());
    }
}

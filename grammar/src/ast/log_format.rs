//! Log-format strings: literal text mixed with `%[sample]` expressions and
//! `%var` log variables, used by `log-format`, header actions and redirects.

use pest::Parser;

use crate::ast::sample::SampleExpr;
use crate::diagnostic::Diagnostic;
use crate::lexer::{ConfigGrammar, Rule};
use crate::span::Span;
use crate::word::Word;

/// One piece of a log-format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormatPart {
    /// Text copied as it is (`%%` already turned into `%`).
    Literal(String),
    /// `%[expr]`, with optional `%{+Q}` style flags.
    Sample {
        /// The fetch and converters between the brackets.
        expr: SampleExpr,
        /// The flags in braces before it (`+Q` quotes the value), as written.
        flags: Option<String>,
    },
    /// `%ci`, `%{+Q}r`…
    Variable {
        /// The variable's name (`ci`, `r`, `ST`).
        name: String,
        /// The flags in braces before it, as written.
        flags: Option<String>,
        /// Where it is written, for messages about an unknown name.
        span: Span,
    },
}

/// A parsed log-format string: `log-format`, header values, redirect
/// targets and other arguments that expand `%` variables and samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFormat {
    /// The pieces, in order.
    pub parts: Vec<LogFormatPart>,
    /// Where the string is written (its word's span).
    pub span: Span,
}

impl LogFormat {
    /// Parses `word`'s text; the error points at the malformed `%` sequence.
    pub fn parse(word: &Word) -> Result<LogFormat, Diagnostic> {
        let text = &word.text;
        let pairs = ConfigGrammar::parse(Rule::log_format, text).map_err(|_| {
            Diagnostic::error(word.span, format!("invalid log-format string '{text}'")).with_help(
                "a '%' starts a variable (%ci), a sample (%[src]) or a literal percent (%%)",
            )
        })?;
        // Columns inside a quoted word are approximate: the word's own span
        // is used when the text was quoted or escaped.
        let column_of = |offset: usize| -> Span {
            if word.quoted {
                word.span
            } else {
                Span {
                    column: word.span.column + text[..offset].chars().count() as u32,
                    ..word.span
                }
            }
        };
        let mut parts = Vec::new();
        for pair in pairs.into_iter().flat_map(|p| p.into_inner()) {
            match pair.as_rule() {
                Rule::lf_text => push_literal(&mut parts, pair.as_str()),
                Rule::lf_percent => push_literal(&mut parts, "%"),
                Rule::lf_sample => {
                    let mut flags = None;
                    let mut expr = None;
                    for p in pair.into_inner() {
                        match p.as_rule() {
                            Rule::lf_flags => flags = Some(p.as_str().to_owned()),
                            Rule::lf_expr => {
                                let mut span = column_of(p.as_span().start());
                                span.len = p.as_str().chars().count() as u32;
                                expr = Some(SampleExpr::parse(p.as_str(), span)?);
                            }
                            _ => {}
                        }
                    }
                    let expr = expr.ok_or_else(|| {
                        Diagnostic::error(word.span, "empty sample expression '%[]'")
                    })?;
                    parts.push(LogFormatPart::Sample { expr, flags });
                }
                Rule::lf_variable => {
                    let span = column_of(pair.as_span().start());
                    let mut flags = None;
                    let mut name = String::new();
                    for p in pair.into_inner() {
                        match p.as_rule() {
                            Rule::lf_flags => flags = Some(p.as_str().to_owned()),
                            Rule::lf_name => name = p.as_str().to_owned(),
                            _ => {}
                        }
                    }
                    parts.push(LogFormatPart::Variable { name, flags, span });
                }
                _ => {}
            }
        }
        Ok(LogFormat {
            parts,
            span: word.span,
        })
    }

    /// The text when the format has no variable part.
    pub fn as_literal(&self) -> Option<String> {
        match self.parts.as_slice() {
            [] => Some(String::new()),
            [LogFormatPart::Literal(s)] => Some(s.clone()),
            _ => None,
        }
    }
}

fn push_literal(parts: &mut Vec<LogFormatPart>, text: &str) {
    if let Some(LogFormatPart::Literal(s)) = parts.last_mut() {
        s.push_str(text);
    } else {
        parts.push(LogFormatPart::Literal(text.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes_literals_samples_and_variables() {
        let f = LogFormat::parse(&Word::new(
            "host=%[req.hdr(host),lower] from %ci:%{+Q}cp 100%%",
            Span::default(),
        ))
        .unwrap();
        assert_eq!(f.parts.len(), 7);
        assert!(
            matches!(&f.parts[1], LogFormatPart::Sample { expr, .. } if expr.converters[0].name == "lower")
        );
        assert!(matches!(&f.parts[6], LogFormatPart::Literal(s) if s == " 100%"));
        assert_eq!(
            LogFormat::parse(&Word::new("plain", Span::default()))
                .unwrap()
                .as_literal()
                .unwrap(),
            "plain"
        );
        assert!(LogFormat::parse(&Word::new("bad %[src", Span::default())).is_err());
    }
}

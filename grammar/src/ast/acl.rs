//! ACL expressions: a sample fetch, match flags and patterns, as written on
//! an `acl` line or inside an anonymous `{ … }` condition term.

use crate::ast::sample::SampleExpr;
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::word::Word;

/// `-i`, `-n`, `-m METHOD`, `-f FILE`, `-M`, `-u ID`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclFlags {
    /// `-i`: compare case-insensitively.
    pub ignore_case: bool,
    /// `-n`: no DNS resolution of IP patterns.
    pub no_dns: bool,
    /// `-m METHOD`: forced match method (`str beg end sub reg dom dir len found int ip bool`).
    pub match_method: Option<Word>,
    /// `-f FILE` (repeatable): patterns read from files.
    pub files: Vec<Word>,
    /// `-M`: the `-f` files are maps (only their keys are patterns).
    pub map_files: bool,
    /// `-u ID`: unique id for the runtime API.
    pub unique_id: Option<Word>,
}

/// A fetch, flags and patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclExpr {
    /// The fetch and its converters.
    pub fetch: SampleExpr,
    /// The word the fetch was written in, for messages.
    pub fetch_word: Word,
    /// The `-i`, `-m`, `-f`… flags before the patterns.
    pub flags: AclFlags,
    /// The patterns, ORed; integer operators (`ge 3`) stay as words here.
    pub patterns: Vec<Word>,
    /// From the fetch to the last pattern.
    pub span: Span,
}

impl AclExpr {
    /// Parses `FETCH [flags] [patterns…]`.
    pub fn parse(words: &[Word]) -> Result<AclExpr, Diagnostic> {
        let (fetch_word, rest) = words
            .split_first()
            .ok_or_else(|| Diagnostic::global_error("an ACL needs a fetch (missing argument)"))?;
        let fetch = SampleExpr::parse(&fetch_word.text, fetch_word.span)?;
        let mut flags = AclFlags::default();
        let mut i = 0;
        while i < rest.len() {
            let w = &rest[i];
            if w.quoted || !w.text.starts_with('-') || w.text.len() < 2 {
                break;
            }
            let value = |i: usize| -> Result<Word, Diagnostic> {
                rest.get(i + 1).cloned().ok_or_else(|| {
                    Diagnostic::error(
                        w.span,
                        format!("ACL flag '{}' expects a value (missing argument)", w.text),
                    )
                })
            };
            match w.text.as_str() {
                "-i" => flags.ignore_case = true,
                "-n" => flags.no_dns = true,
                "-M" => flags.map_files = true,
                "-m" => {
                    flags.match_method = Some(value(i)?);
                    i += 1;
                }
                "-f" => {
                    flags.files.push(value(i)?);
                    i += 1;
                }
                "-u" => {
                    flags.unique_id = Some(value(i)?);
                    i += 1;
                }
                "--" => {
                    i += 1;
                    break;
                }
                // A negative number is a pattern (`-1`), not a flag.
                t if t[1..].chars().all(|c| c.is_ascii_digit()) => break,
                _ => return Err(Diagnostic::error(
                    w.span,
                    format!("unknown ACL flag '{}'", w.text),
                )
                .with_help(
                    "the flags are -i, -n, -m METHOD, -f FILE, -M, -u ID and -- (end of flags); \
                         put '--' before a pattern that starts with '-'",
                )),
            }
            i += 1;
        }
        let last = words.last().map(|w| w.span).unwrap_or(fetch_word.span);
        Ok(AclExpr {
            fetch,
            fetch_word: fetch_word.clone(),
            flags,
            patterns: rest[i.min(rest.len())..].to_vec(),
            span: fetch_word.span.to(last),
        })
    }
}

/// `acl NAME FETCH [flags] [patterns…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclDef {
    /// The ACL's name; lines with the same name are ORed.
    pub name: Word,
    /// What the line tests.
    pub expr: AclExpr,
}

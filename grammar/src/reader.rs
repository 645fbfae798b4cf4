//! Reads configuration files line by line into sections of raw directives.
//!
//! This is where HAProxy's reading order lives: conditional blocks are
//! evaluated, environment keywords of `global` take effect for the lines that
//! follow, and each line is attached to the section header above it.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::env::Environment;
use crate::lexer::lex_line;
use crate::preprocess::Conditionals;
use crate::span::{SourceMap, Span};
use crate::suggest::did_you_mean;
use crate::word::Word;

/// The section kinds of HAProxy's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SectionKind {
    Global,
    Defaults,
    Frontend,
    Backend,
    Listen,
    Userlist,
}

impl SectionKind {
    pub fn keyword(self) -> &'static str {
        match self {
            SectionKind::Global => "global",
            SectionKind::Defaults => "defaults",
            SectionKind::Frontend => "frontend",
            SectionKind::Backend => "backend",
            SectionKind::Listen => "listen",
            SectionKind::Userlist => "userlist",
        }
    }

    fn from_keyword(word: &str) -> Option<SectionKind> {
        Some(match word {
            "global" => SectionKind::Global,
            "defaults" => SectionKind::Defaults,
            "frontend" => SectionKind::Frontend,
            "backend" => SectionKind::Backend,
            "listen" => SectionKind::Listen,
            "userlist" => SectionKind::Userlist,
            _ => return None,
        })
    }
}

/// Section kinds HAProxy has and Switchyard does not implement yet.
const UNSUPPORTED_SECTIONS: &[&str] = &[
    "peers",
    "resolvers",
    "mailers",
    "program",
    "http-errors",
    "ring",
    "cache",
    "crt-store",
    "traces",
];

/// One directive line: its words, the first being the keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDirective {
    pub words: Vec<Word>,
}

impl RawDirective {
    pub fn keyword(&self) -> &Word {
        &self.words[0]
    }

    pub fn args(&self) -> &[Word] {
        &self.words[1..]
    }

    /// From the keyword to the last word.
    pub fn span(&self) -> Span {
        self.words[0].span.to(self.words[self.words.len() - 1].span)
    }
}

/// A section header and the directives below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSection {
    pub kind: SectionKind,
    /// The header line (`frontend web from base`).
    pub header: RawDirective,
    pub directives: Vec<RawDirective>,
}

/// What reading produced: the sections, the environment after every
/// `setenv`, and the files' text for diagnostics.
#[derive(Debug, Default)]
pub struct ReadConfig {
    pub sections: Vec<RawSection>,
    pub env: Environment,
}

/// Reads `files` (name, text) in order, as HAProxy reads several `-f`.
pub fn read_files(
    files: &[(String, String)],
    env: Environment,
    sources: &mut SourceMap,
    diags: &mut Diagnostics,
) -> ReadConfig {
    let mut out = ReadConfig {
        sections: Vec::new(),
        env,
    };
    for (name, text) in files {
        let file = sources.add(name.as_str(), text.as_str());
        let mut conditionals = Conditionals::new();
        // Directives that follow an unsupported section header are dropped:
        // the header already carries the error.
        let mut skipping = false;
        for (index, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let words = match lex_line(line, file, index as u32 + 1, &out.env) {
                Ok(words) => words,
                Err(diag) => {
                    if conditionals.is_active() {
                        diags.push(diag);
                    }
                    continue;
                }
            };
            if words.is_empty()
                || conditionals.directive(&words, &out.env, diags)
                || !conditionals.is_active()
            {
                continue;
            }
            let first = &words[0];
            if let Some(kind) = SectionKind::from_keyword(&first.text) {
                skipping = false;
                out.sections.push(RawSection {
                    kind,
                    header: RawDirective { words },
                    directives: Vec::new(),
                });
            } else if UNSUPPORTED_SECTIONS.contains(&first.text.as_str()) {
                skipping = true;
                diags.push(
                    Diagnostic::error(
                        first.span,
                        format!(
                            "'{}' sections are not supported by switchyard yet",
                            first.text
                        ),
                    )
                    .with_help("remove the section, or run this configuration with HAProxy"),
                );
            } else if skipping {
                continue;
            } else if let Some(section) = out.sections.last_mut() {
                if section.kind == SectionKind::Global {
                    apply_environment_keyword(&words, &mut out.env, diags);
                }
                section.directives.push(RawDirective { words });
            } else {
                let mut diag = Diagnostic::error(
                    first.span,
                    format!("'{}' is outside of a section", first.text),
                )
                .with_help(
                    "put it below a 'global', 'defaults', 'frontend', 'backend' or 'listen' line",
                );
                if let Some(section) = did_you_mean(&first.text, ALL_SECTIONS) {
                    diag = Diagnostic::error(
                        first.span,
                        format!("unknown section '{}' (outside of a section)", first.text),
                    )
                    .with_help(format!("did you mean '{section}'?"));
                }
                diags.push(diag);
            }
        }
        conditionals.finish_file(diags);
    }
    out
}

const ALL_SECTIONS: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "userlist",
    "peers",
    "resolvers",
    "mailers",
    "program",
    "http-errors",
    "ring",
    "cache",
];

/// `setenv`, `presetenv`, `unsetenv`, `resetenv` change the environment at
/// once so that the next lines expand with it; their arguments are checked
/// again with the other global keywords.
fn apply_environment_keyword(words: &[Word], env: &mut Environment, diags: &mut Diagnostics) {
    let args: Vec<&str> = words[1..].iter().map(Word::as_str).collect();
    match (words[0].text.as_str(), args.as_slice()) {
        ("setenv", [name, value]) => env.set(name, value),
        ("presetenv", [name, value]) => env.preset(name, value),
        ("unsetenv", names) if !names.is_empty() => names.iter().for_each(|n| env.unset(n)),
        ("resetenv", keep) => env.reset_except(keep),
        ("setenv" | "presetenv", _) => diags.push(
            Diagnostic::error(
                words[0].span,
                format!(
                    "'{}' expects a name and a value (missing argument)",
                    words[0].text
                ),
            )
            .with_help(format!("write '{} NAME VALUE'", words[0].text)),
        ),
        ("unsetenv", _) => diags.push(
            Diagnostic::error(
                words[0].span,
                "'unsetenv' expects at least one name (missing argument)",
            )
            .with_help("write 'unsetenv NAME [NAME…]'"),
        ),
        _ => {}
    }
}

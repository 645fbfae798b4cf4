//! Reads configuration files line by line into sections of raw directives.
//!
//! This is where HAProxy's reading order lives: conditional blocks are
//! evaluated, environment keywords of `global` take effect for the lines that
//! follow, and each line is attached to the section header above it.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::env::Environment;
use crate::lexer::lex_line;
use crate::preprocess::{LineAction, Preprocessor};
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
    HttpErrors,
    FcgiApp,
}

impl SectionKind {
    fn from_keyword(word: &str) -> Option<SectionKind> {
        Some(match word {
            "global" => SectionKind::Global,
            "defaults" => SectionKind::Defaults,
            "frontend" => SectionKind::Frontend,
            "backend" => SectionKind::Backend,
            "listen" => SectionKind::Listen,
            "userlist" => SectionKind::Userlist,
            "http-errors" => SectionKind::HttpErrors,
            "fcgi-app" => SectionKind::FcgiApp,
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
    'files: for (name, text) in files {
        let file = sources.add(name.as_str(), text.as_str());
        let mut preprocessor = Preprocessor::new();
        // Directives that follow an unsupported section header are dropped:
        // the header already carries the error.
        let mut skipping = false;
        for (index, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            // HAProxy cuts every line into words, in false branches too, so
            // an unclosed quote is an error wherever it is.
            let words = match lex_line(line, file, index as u32 + 1, &out.env) {
                Ok(words) => expand_address_word(words, &out.env),
                Err(diag) => {
                    diags.push(diag);
                    continue;
                }
            };
            match preprocessor.line(&words, &out.env, diags) {
                LineAction::Parse => {}
                LineAction::Skip => continue,
                // `.alert`: HAProxy reads no further, in any file.
                LineAction::Stop => break 'files,
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
        preprocessor.finish_file(diags);
    }
    out
}

/// HAProxy expands environment variables once more in the address of
/// `bind`, `server` and `log` (its address parser calls `env_expand`), so
/// an unquoted `log ${ADDR}:${PORT}` works there and nowhere else.
fn expand_address_word(mut words: Vec<Word>, env: &Environment) -> Vec<Word> {
    let at = match words.first().map(|w| w.text.as_str()) {
        Some("log" | "bind") => 1,
        Some("server") => 2,
        _ => return words,
    };
    if let Some(word) = words.get_mut(at).filter(|w| w.text.contains('$')) {
        word.text = env.expand_in_address(&word.text);
    }
    words
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
    "fcgi-app",
    "ring",
    "cache",
];

/// `setenv`, `presetenv`, `unsetenv`, `resetenv` change the environment at
/// once so that the next lines expand with it. Their arguments are checked
/// here, as HAProxy 2.6 checks them: a value must not be empty, a name must
/// be one `setenv(3)` accepts, and a name list ends at the first empty word.
fn apply_environment_keyword(words: &[Word], env: &mut Environment, diags: &mut Diagnostics) {
    let keyword = &words[0];
    // HAProxy reads arguments up to the first empty one.
    let args: Vec<&Word> = words[1..]
        .iter()
        .take_while(|w| !w.text.is_empty())
        .collect();
    match keyword.text.as_str() {
        "setenv" | "presetenv" => {
            let [name, value, rest @ ..] = args.as_slice() else {
                diags.push(
                    Diagnostic::error(
                        keyword.span,
                        format!(
                            "'{}' expects a name and a value (missing argument)",
                            keyword.text
                        ),
                    )
                    .with_help(format!(
                        "write '{} NAME VALUE'; a value cannot be empty",
                        keyword.text
                    )),
                );
                return;
            };
            if !valid_variable_name(name, diags) {
                return;
            }
            if let Some(extra) = rest.first() {
                diags.push(
                    Diagnostic::warning(
                        extra.span,
                        format!(
                            "'{}' ignores the argument '{}' and what follows",
                            keyword.text, extra.text
                        ),
                    )
                    .with_help(format!(
                        "quote the value if it contains spaces: {} {} \"{} …\"",
                        keyword.text, name.text, value.text
                    )),
                );
            }
            if keyword.text == "setenv" {
                env.set(&name.text, &value.text);
            } else {
                env.preset(&name.text, &value.text);
            }
        }
        "unsetenv" => {
            if args.is_empty() {
                diags.push(
                    Diagnostic::error(
                        keyword.span,
                        "'unsetenv' expects at least one name (missing argument)",
                    )
                    .with_help("write 'unsetenv NAME [NAME…]'"),
                );
            }
            for name in args {
                if valid_variable_name(name, diags) {
                    env.unset(&name.text);
                }
            }
        }
        "resetenv" => {
            let keep: Vec<&str> = args.iter().map(|w| w.as_str()).collect();
            env.reset_except(&keep);
        }
        _ => {}
    }
}

/// `setenv(3)` and `unsetenv(3)` refuse a name containing `=`.
fn valid_variable_name(name: &Word, diags: &mut Diagnostics) -> bool {
    if !name.text.contains('=') {
        return true;
    }
    diags.push(
        Diagnostic::error(
            name.span,
            format!("invalid environment variable name '{}'", name.text),
        )
        .with_help("a variable name cannot contain '='; write 'setenv NAME VALUE'"),
    );
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `files`; returns the environment after them and the
    /// diagnostics as `file:line:col severity message`.
    fn read(files: &[&str]) -> (Environment, Vec<String>) {
        let files: Vec<(String, String)> = files
            .iter()
            .enumerate()
            .map(|(i, text)| (format!("f{i}.cfg"), text.to_string()))
            .collect();
        let mut sources = SourceMap::new();
        let mut diags = Diagnostics::new();
        let read = read_files(&files, Environment::new(), &mut sources, &mut diags);
        let shown = diags
            .iter()
            .map(|d| {
                let s = d.span.unwrap_or_default();
                format!(
                    "{}:{}:{} {} {}",
                    s.file.0, s.line, s.column, d.severity, d.message
                )
            })
            .collect();
        (read.env, shown)
    }

    #[test]
    fn environment_keywords_apply_in_order() {
        let (env, diags) = read(&["global\n  setenv A 1\n  setenv B \"$A-2\"\n  presetenv A 3\n  presetenv C \"${A}${NOPE-x}\"\n  unsetenv A\n"]);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            (env.get("A"), env.get("B"), env.get("C")),
            (None, Some("1-2"), Some("1x"))
        );
        let (env, _) =
            read(&["global\n  setenv A 1\n  setenv B 2\n  setenv C 3\n  resetenv A C\n"]);
        assert_eq!(env.vars().map(|(k, _)| k).collect::<Vec<_>>(), ["A", "C"]);
    }

    #[test]
    fn environment_keywords_only_in_global_and_read_branches() {
        let (env, _) = read(&["global\n.if 0\n  setenv A 1\n.endif\ndefaults\n  setenv B 1\n"]);
        assert_eq!((env.get("A"), env.get("B")), (None, None));
    }

    #[test]
    fn environment_keyword_arguments_as_haproxy_reads_them() {
        let (env, diags) = read(&["global\n  setenv A b c\n"]);
        assert_eq!(env.get("A"), Some("b"));
        assert_eq!(
            diags,
            ["0:2:14 warning 'setenv' ignores the argument 'c' and what follows"]
        );
        let (env, diags) = read(&["global\n  setenv A \"\"\n  presetenv \"\" x\n"]);
        assert_eq!(env.get("A"), None);
        assert_eq!(diags.len(), 2);
        assert!(diags
            .iter()
            .all(|d| d.contains("expects a name and a value")));
        let (_, diags) = read(&["global\n  setenv A=B x\n  unsetenv C=D\n"]);
        assert_eq!(
            diags,
            [
                "0:2:10 error invalid environment variable name 'A=B'",
                "0:3:12 error invalid environment variable name 'C=D'"
            ]
        );
        let (env, diags) =
            read(&["global\n  setenv A 1\n  setenv B 2\n  unsetenv A \"\" B\n  unsetenv \"\"\n"]);
        assert_eq!((env.get("A"), env.get("B")), (None, Some("2")));
        assert_eq!(
            diags,
            ["0:5:3 error 'unsetenv' expects at least one name (missing argument)"]
        );
    }

    #[test]
    fn lines_of_false_branches_are_still_cut_into_words() {
        let (_, diags) = read(&["global\n.if 0\n  log \"unclosed\n.endif\n"]);
        assert_eq!(diags, ["0:3:7 error unterminated double quote"]);
    }

    #[test]
    fn alert_stops_reading_every_file() {
        let (env, diags) = read(&[
            "global\n  setenv A 1\n.alert \"stop\"\n  setenv B 1\n.if 1\n",
            "global\n  setenv C 1\nnot-a-section\n",
        ]);
        assert_eq!(
            (env.get("A"), env.get("B"), env.get("C")),
            (Some("1"), None, None)
        );
        assert_eq!(diags, ["0:3:1 error stop"]);
    }

    #[test]
    fn each_file_closes_its_own_blocks() {
        let (_, diags) = read(&["global\n.if 1\n", ".endif\n"]);
        assert_eq!(
            diags,
            [
                "0:2:1 error unterminated '.if' block",
                "1:1:1 error '.endif' without a matching '.if'"
            ]
        );
    }
}

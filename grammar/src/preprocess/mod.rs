//! HAProxy's preprocessor: conditional blocks (`.if` / `.elif` / `.else` /
//! `.endif`) and messages (`.diag`, `.notice`, `.warning`, `.alert`),
//! applied while a file is read so that lines in a false branch are never
//! parsed as directives.
//!
//! The reader hands every line's words to [`Preprocessor::line`], which says
//! whether the line is for the section parser. What HAProxy 2.6 does is the
//! reference, with one difference of manner: HAProxy stops reading at the
//! first preprocessor error, Switchyard reports it and reads on (a block
//! whose condition is malformed is skipped whole), so that one check shows
//! every problem. Only `.alert` stops reading, because that is its purpose.
//!
//! [`condition`] parses and evaluates conditions, [`predicate`] answers
//! their predicates, `written` joins the words of a `.if` line (or the text
//! of `-cc`) into one and points errors back at them, and [`identity`] holds
//! the version and features conditions ask about. What each answers is
//! documented in `docs/preprocessor.md`.

pub mod condition;
pub mod identity;
pub mod predicate;
mod written;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::env::Environment;
use crate::span::Span;
use crate::suggest::did_you_mean;
use crate::word::Word;

use written::evaluate_words;

pub use written::evaluate_condition_text;

/// HAProxy refuses the 100th nested `.if` (`MAXNESTEDCONDS` is 100 and the
/// level is checked after counting the new block).
const MAX_NESTED_BLOCKS: usize = 99;

const DIRECTIVES: &[&str] = &[
    ".if", ".elif", ".else", ".endif", ".diag", ".notice", ".warning", ".alert",
];

/// What the reader does with a line after the preprocessor has seen it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineAction {
    /// An ordinary line in a branch that is read: parse it.
    Parse,
    /// A preprocessor directive, an empty line, or a line in a false branch.
    Skip,
    /// An `.alert`: read nothing more, of this file or the next ones.
    Stop,
}

/// The state of one `.if` block.
#[derive(Debug, Clone, Copy)]
struct Block {
    /// Where the `.if` was, for "unterminated" errors.
    opened_at: Span,
    /// The lines of the current branch are read.
    reading: bool,
    /// No later branch may be taken: one was, or the whole block is inside a
    /// false branch, or its condition was malformed.
    decided: bool,
    /// `.else` has been seen.
    seen_else: bool,
}

impl Block {
    fn skipped(opened_at: Span) -> Block {
        Block {
            opened_at,
            reading: false,
            decided: true,
            seen_else: false,
        }
    }
}

/// The preprocessor state of the file being read: its open `.if` blocks.
#[derive(Debug, Default)]
pub struct Preprocessor {
    blocks: Vec<Block>,
}

impl Preprocessor {
    /// The state at the start of a file: no block open, every line read.
    pub fn new() -> Self {
        Preprocessor::default()
    }

    /// Whether ordinary lines are read at this point of the file.
    pub fn is_active(&self) -> bool {
        match self.blocks.last() {
            Some(block) => block.reading,
            None => true,
        }
    }

    /// Handles one line's words. Conditional directives are handled in every
    /// branch (so blocks nest), messages and unknown directives only in
    /// branches that are read; as in HAProxy, a first word starting with `.`
    /// is a directive however it was quoted.
    pub fn line(
        &mut self,
        words: &[Word],
        env: &Environment,
        diags: &mut Diagnostics,
    ) -> LineAction {
        let Some(first) = words.first() else {
            return LineAction::Skip;
        };
        match first.text.as_str() {
            ".if" => self.open(words, env, diags),
            ".elif" => self.elif(words, env, diags),
            ".else" => self.otherwise(words, diags),
            ".endif" => self.close(words, diags),
            _ if !self.is_active() => {}
            ".diag" | ".notice" | ".warning" | ".alert" => return message(words, diags),
            text if text.starts_with('.') => {
                let mut diag = Diagnostic::error(
                    first.span,
                    format!("unknown preprocessor directive '{text}'"),
                );
                diag = match did_you_mean(text, DIRECTIVES) {
                    Some(near) => diag.with_help(format!("did you mean '{near}'?")),
                    None => diag.with_help(
                        "the directives are .if, .elif, .else, .endif, .diag, .notice, .warning and .alert",
                    ),
                };
                diags.push(diag);
            }
            _ => return LineAction::Parse,
        }
        LineAction::Skip
    }

    /// Reports the blocks left open at the end of a file; each file must
    /// close its own blocks.
    pub fn finish_file(&mut self, diags: &mut Diagnostics) {
        for block in self.blocks.drain(..).rev() {
            diags.push(
                Diagnostic::error(block.opened_at, "unterminated '.if' block")
                    .with_help("close the block with '.endif' before the end of the file"),
            );
        }
    }

    fn open(&mut self, words: &[Word], env: &Environment, diags: &mut Diagnostics) {
        let directive = &words[0];
        if self.blocks.len() >= MAX_NESTED_BLOCKS {
            diags.push(
                Diagnostic::error(directive.span, "too many nested '.if' blocks")
                    .with_help(format!("HAProxy allows {MAX_NESTED_BLOCKS} levels; combine conditions with '&&' instead")),
            );
            self.blocks.push(Block::skipped(directive.span));
            return;
        }
        if !self.is_active() {
            // Not evaluated at all: a malformed condition here is no error.
            self.blocks.push(Block::skipped(directive.span));
            return;
        }
        let block = match evaluate_words(directive, &words[1..], env) {
            Ok(value) => Block {
                opened_at: directive.span,
                reading: value,
                decided: value,
                seen_else: false,
            },
            Err(diag) => {
                diags.push(diag);
                Block::skipped(directive.span)
            }
        };
        self.blocks.push(block);
    }

    fn elif(&mut self, words: &[Word], env: &Environment, diags: &mut Diagnostics) {
        let directive = &words[0];
        let Some(block) = self.current_block(directive, diags) else {
            return;
        };
        if block.decided {
            block.reading = false;
            return;
        }
        match evaluate_words(directive, &words[1..], env) {
            Ok(value) => {
                block.reading = value;
                block.decided = value;
            }
            Err(diag) => {
                diags.push(diag);
                block.reading = false;
                block.decided = true;
            }
        }
    }

    fn otherwise(&mut self, words: &[Word], diags: &mut Diagnostics) {
        let directive = &words[0];
        no_arguments(words, diags);
        let Some(block) = self.current_block(directive, diags) else {
            return;
        };
        block.reading = !block.decided;
        block.decided = true;
        block.seen_else = true;
    }

    fn close(&mut self, words: &[Word], diags: &mut Diagnostics) {
        no_arguments(words, diags);
        if self.blocks.pop().is_none() {
            diags.push(
                Diagnostic::error(words[0].span, "'.endif' without a matching '.if'")
                    .with_help("remove this line, or add the '.if CONDITION' it closes"),
            );
        }
    }

    /// The innermost block, for `.elif` and `.else`; `None`, with the error
    /// reported, when there is none or it already had its `.else`.
    fn current_block(&mut self, directive: &Word, diags: &mut Diagnostics) -> Option<&mut Block> {
        let name = &directive.text;
        let Some(block) = self.blocks.last_mut() else {
            diags.push(
                Diagnostic::error(directive.span, format!("'{name}' without a matching '.if'"))
                    .with_help("open the block with '.if CONDITION', or remove this line"),
            );
            return None;
        };
        if block.seen_else {
            diags.push(
                Diagnostic::error(directive.span, format!("'{name}' after '.else'"))
                    .with_help("a block has at most one '.else', and it comes after every '.elif'"),
            );
            return None;
        }
        Some(block)
    }
}

/// `.else` and `.endif` take no argument (HAProxy refuses one).
fn no_arguments(words: &[Word], diags: &mut Diagnostics) {
    if let Some(extra) = words.get(1) {
        diags.push(
            Diagnostic::error(
                extra.span,
                format!(
                    "unexpected argument '{}' for '{}'",
                    extra.text, words[0].text
                ),
            )
            .with_help("remove it; to comment, start the comment with '#'"),
        );
    }
}

/// `.diag`, `.notice`, `.warning` and `.alert` with their one message, shown
/// at the directive's place as HAProxy shows `parsing [file:line]: 'text'`.
/// `.alert` is an error and stops reading.
fn message(words: &[Word], diags: &mut Diagnostics) -> LineAction {
    let directive = &words[0];
    if let Some(extra) = words.get(2).filter(|w| !w.text.is_empty()) {
        diags.push(
            Diagnostic::error(
                extra.span,
                format!(
                    "unexpected argument '{}' for '{}'",
                    extra.text, directive.text
                ),
            )
            .with_help(format!(
                "quote the message if it contains spaces: {} \"…\"",
                directive.text
            )),
        );
        return LineAction::Skip;
    }
    let span = directive.span.to(words[words.len() - 1].span);
    let text = match words.get(1) {
        Some(word) if !word.text.is_empty() => word.text.clone(),
        _ => format!("'{}' with no message", directive.text),
    };
    match directive.text.as_str() {
        ".alert" => {
            diags.push(
                Diagnostic::error(span, text)
                    .with_help("this '.alert' stops startup; the lines after it were not read"),
            );
            LineAction::Stop
        }
        ".warning" => {
            diags.push(Diagnostic::warning(span, text));
            LineAction::Skip
        }
        _ => {
            diags.push(Diagnostic::notice(span, text));
            LineAction::Skip
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` through the preprocessor; returns the lines given to
    /// the parser and the diagnostics as `line:col severity message`.
    fn run(text: &str) -> (Vec<String>, Vec<String>) {
        let mut env = Environment::new();
        env.set("SET", "yes");
        let mut pre = Preprocessor::new();
        let mut diags = Diagnostics::new();
        let mut kept = Vec::new();
        let mut stopped = false;
        for (i, line) in text.lines().enumerate() {
            let words =
                crate::lexer::lex_line(line, crate::span::FileId(0), i as u32 + 1, &env).unwrap();
            match pre.line(&words, &env, &mut diags) {
                LineAction::Parse => kept.push(line.trim().to_owned()),
                LineAction::Skip => {}
                LineAction::Stop => {
                    stopped = true;
                    break;
                }
            }
        }
        if !stopped {
            pre.finish_file(&mut diags);
        }
        let diags = diags
            .iter()
            .map(|d| {
                let s = d.span.unwrap_or_default();
                format!("{}:{} {} {}", s.line, s.column, d.severity, d.message)
            })
            .collect();
        (kept, diags)
    }

    fn kept(text: &str) -> Vec<String> {
        let (kept, diags) = run(text);
        assert!(diags.is_empty(), "{diags:?}");
        kept
    }

    #[test]
    fn branches_are_chosen_in_order() {
        let text = ".if 0\na\n.elif 1\nb\n.elif 1\nc\n.else\nd\n.endif\ne";
        assert_eq!(kept(text), ["b", "e"]);
        assert_eq!(kept(".if 0\na\n.else\nb\n.endif"), ["b"]);
        assert_eq!(kept(".if 1\na\n.else\nb\n.endif"), ["a"]);
        assert_eq!(kept(".if 0\na\n.elif 0\nb\n.endif"), Vec::<String>::new());
    }

    #[test]
    fn blocks_nest() {
        let text = "\
.if 1
  a
  .if 0
    b
  .elif defined(SET)
    c
    .if 1
      d
    .endif
  .else
    e
  .endif
.else
  .if 1
    f
  .else
    g
  .endif
.endif
h";
        assert_eq!(kept(text), ["a", "c", "d", "h"]);
    }

    #[test]
    fn false_branches_are_not_evaluated_or_parsed() {
        let text = "\
.if 0
  .if nosuch(
  .elif ((
  .endif
  .unknown
  .alert \"not shown\"
  not parsed
.elif 1
.elif nosuch(
.endif";
        assert!(kept(text).is_empty());
    }

    #[test]
    fn empty_conditions_are_false() {
        assert!(kept(".if\na\n.endif").is_empty());
        assert!(kept(".if \"\"\na\n.endif").is_empty());
        assert_eq!(kept(".if \" 1\"\na\n.endif"), ["a"]);
    }

    #[test]
    fn conditions_span_several_words() {
        assert_eq!(
            kept(".if defined(SET) && streq(\"a b\",'a b')\na\n.endif"),
            ["a"]
        );
        assert_eq!(kept(".if !defined(NOPE) || 0 # comment\na\n.endif"), ["a"]);
    }

    #[test]
    fn structure_errors() {
        let (_, d) = run(".endif");
        assert_eq!(d, ["1:1 error '.endif' without a matching '.if'"]);
        let (_, d) = run(".else");
        assert_eq!(d, ["1:1 error '.else' without a matching '.if'"]);
        let (_, d) = run("  .elif 1");
        assert_eq!(d, ["1:3 error '.elif' without a matching '.if'"]);
        let (_, d) = run(".if 1\n.else\n.elif 1\n.endif");
        assert_eq!(d, ["3:1 error '.elif' after '.else'"]);
        let (_, d) = run(".if 1\n.else\n.else\n.endif");
        assert_eq!(d, ["3:1 error '.else' after '.else'"]);
        let (_, d) = run("a\n  .if 1\n.if 0\n.endif");
        assert_eq!(d, ["2:3 error unterminated '.if' block"]);
        let (_, d) = run(".if 1\n.else x\n.endif y");
        assert_eq!(
            d,
            [
                "2:7 error unexpected argument 'x' for '.else'",
                "3:8 error unexpected argument 'y' for '.endif'"
            ]
        );
    }

    #[test]
    fn malformed_conditions_skip_the_whole_block() {
        let (kept, d) = run(".if foo(1)\na\n.elif 1\nb\n.else\nc\n.endif\nd");
        assert_eq!(kept, ["d"]);
        assert_eq!(d, ["1:5 error unknown predicate 'foo'"]);
        let (kept, d) = run(".if 0\n.elif 1 &&\nb\n.else\nc\n.endif");
        assert!(kept.is_empty());
        assert_eq!(d, ["2:9 error missing condition after '&&'"]);
    }

    #[test]
    fn condition_errors_point_into_the_line() {
        let (_, d) = run(".if defined(SET) && (1 || fooo(2))");
        assert_eq!(d[0], "1:27 error unknown predicate 'fooo'");
        let (_, d) = run(".if defined(SET)&&(1||fooo(2))");
        assert_eq!(d[0], "1:23 error unknown predicate 'fooo'");
        let (_, d) = run(".if (1");
        assert_eq!(d[0], "1:5 error unclosed '(' in the condition");
        let (_, d) = run(".if 1 &&");
        assert_eq!(d[0], "1:7 error missing condition after '&&'");
        let (_, d) = run(".if \"$SET\"");
        assert_eq!(d[0], "1:5 error unknown predicate 'yes'");
        let (_, d) = run(".if 1 2");
        assert_eq!(d[0], "1:7 error unexpected '2' after the condition");
    }

    #[test]
    fn too_many_nested_blocks() {
        let text = format!("{}{}", ".if 1\n".repeat(100), ".endif\n".repeat(100));
        let (_, d) = run(&text);
        assert_eq!(d, ["100:1 error too many nested '.if' blocks"]);
        let text = format!("{}{}", ".if 1\n".repeat(99), ".endif\n".repeat(99));
        assert!(run(&text).1.is_empty());
    }

    #[test]
    fn messages() {
        let (kept, d) = run(".notice \"hello there\"\n.warning careful\n.diag d\n.notice\na");
        assert_eq!(kept, ["a"]);
        assert_eq!(
            d,
            [
                "1:1 notice hello there",
                "2:1 warning careful",
                "3:1 notice d",
                "4:1 notice '.notice' with no message"
            ]
        );
        let (_, d) = run(".warning two words");
        assert_eq!(d, ["1:14 error unexpected argument 'words' for '.warning'"]);
    }

    #[test]
    fn alert_stops_reading() {
        let (kept, d) = run("a\n.if 1\n  .alert \"SSL is required\"\n.endif\nb");
        assert_eq!(kept, ["a"]);
        assert_eq!(d, ["3:3 error SSL is required"]);
    }

    #[test]
    fn unknown_directives() {
        let (_, d) = run(".iff 1");
        assert_eq!(d, ["1:1 error unknown preprocessor directive '.iff'"]);
        let (_, d) = run(".if 0\n.iff 1\n.endif");
        assert!(d.is_empty());
    }

    #[test]
    fn quoted_directives_are_directives() {
        assert!(kept("\".if\" 0\na\n'.endif'").is_empty());
    }
}

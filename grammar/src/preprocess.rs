//! HAProxy's conditional blocks (`.if` / `.elif` / `.else` / `.endif`) and
//! messages (`.diag`, `.notice`, `.warning`, `.alert`), evaluated while the
//! file is read so that lines in a false branch are never parsed as
//! directives.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::env::Environment;
use crate::word::Word;

/// The state of one `.if` block.
#[derive(Debug, Clone, Copy)]
struct Block {
    /// Where the `.if` was, for "unterminated" errors.
    opened_at: crate::span::Span,
    /// Lines are read in this branch.
    active: bool,
    /// A branch of this block has already been taken.
    taken: bool,
    /// `.else` has been seen.
    in_else: bool,
}

/// The stack of open conditional blocks of the file being read.
#[derive(Debug, Default)]
pub struct Conditionals {
    blocks: Vec<Block>,
}

impl Conditionals {
    pub fn new() -> Self {
        Conditionals::default()
    }

    /// Whether the current line is in a branch that is read.
    pub fn is_active(&self) -> bool {
        self.blocks.iter().all(|b| b.active)
    }

    /// Handles a line whose first word starts with `.`; returns `false` when
    /// the line is not a preprocessor directive at all.
    pub fn directive(
        &mut self,
        words: &[Word],
        env: &Environment,
        diags: &mut Diagnostics,
    ) -> bool {
        let Some(first) = words.first() else {
            return false;
        };
        if first.quoted || !first.text.starts_with('.') {
            return false;
        }
        let outer_active = self.blocks.iter().all(|b| b.active);
        match first.text.as_str() {
            ".if" => {
                let value = outer_active && self.condition(words, env, diags);
                self.blocks.push(Block {
                    opened_at: first.span,
                    active: value,
                    taken: value,
                    in_else: false,
                });
            }
            ".elif" | ".else" => {
                let is_else = first.text == ".else";
                let Some(mut block) = self.blocks.pop() else {
                    diags.push(
                        Diagnostic::error(
                            first.span,
                            format!("'{}' without a matching '.if'", first.text),
                        )
                        .with_help("open the block with '.if CONDITION' or remove this line"),
                    );
                    return true;
                };
                if block.in_else {
                    diags.push(
                        Diagnostic::error(first.span, format!("'{}' after '.else'", first.text))
                            .with_help("a block has at most one '.else', and it comes last"),
                    );
                }
                let outer = self.blocks.iter().all(|b| b.active);
                let value = if is_else {
                    true
                } else {
                    outer && self.condition(words, env, diags)
                };
                block.active = outer && !block.taken && value;
                block.taken |= block.active;
                block.in_else |= is_else;
                self.blocks.push(block);
            }
            ".endif" => {
                if self.blocks.pop().is_none() {
                    diags.push(
                        Diagnostic::error(first.span, "'.endif' without a matching '.if'")
                            .with_help("remove this line or add the '.if CONDITION' it closes"),
                    );
                }
            }
            _ => {
                if outer_active {
                    diags.push(Diagnostic::error(first.span, format!("unknown preprocessor directive '{}'", first.text))
                        .with_help("the directives are .if, .elif, .else, .endif, .diag, .notice, .warning and .alert"));
                }
            }
        }
        true
    }

    /// Reports the blocks left open at the end of a file.
    pub fn finish_file(&mut self, diags: &mut Diagnostics) {
        for block in self.blocks.drain(..) {
            diags.push(
                Diagnostic::error(block.opened_at, "unterminated '.if' block")
                    .with_help("close the block with '.endif'"),
            );
        }
    }

    fn condition(&self, words: &[Word], _env: &Environment, diags: &mut Diagnostics) -> bool {
        let Some(term) = words.get(1) else {
            diags.push(Diagnostic::error(
                words[0].span,
                format!("'{}' needs a condition", words[0].text),
            ));
            return false;
        };
        !(term.text.is_empty() || term.text == "0")
    }
}

/// Evaluates `condition` (the text after `.if`) as `switchyard -cc` does.
pub fn evaluate_condition_text(condition: &str, env: &Environment) -> Result<bool, Diagnostic> {
    let words = crate::lexer::lex_line(condition, crate::span::FileId(0), 1, env)?;
    let mut line = vec![Word::new(".if", crate::span::Span::default())];
    line.extend(words);
    let mut diags = Diagnostics::new();
    let value = Conditionals::new().condition(&line, env, &mut diags);
    match diags.into_iter().find(|d| d.is_error()) {
        Some(d) => Err(d),
        None => Ok(value),
    }
}

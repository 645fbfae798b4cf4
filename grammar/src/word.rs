//! A word of a configuration line, after quoting, escapes and environment
//! variables have been applied, with the span of its text in the file.

use std::fmt;

use crate::span::Span;

/// One word of a configuration line: its value after quoting, escapes and
/// variables, and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word's value (unquoted, unescaped, variables expanded).
    pub text: String,
    /// Where it was written, quotes included.
    pub span: Span,
    /// Whether any part was quoted or escaped; a quoted `"{"` or `"||"` is
    /// data, never punctuation of a condition.
    pub quoted: bool,
}

impl Word {
    /// An unquoted word `text` at `span`.
    pub fn new(text: impl Into<String>, span: Span) -> Self {
        Word {
            text: text.into(),
            span,
            quoted: false,
        }
    }

    /// The word's value.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the word is the unquoted punctuation or keyword `s`.
    pub fn is(&self, s: &str) -> bool {
        !self.quoted && self.text == s
    }
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

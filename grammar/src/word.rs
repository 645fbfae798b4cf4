//! A word of a configuration line, after quoting, escapes and environment
//! variables have been applied, with the span of its text in the file.

use std::fmt;

use crate::span::Span;

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
    pub fn new(text: impl Into<String>, span: Span) -> Self {
        Word {
            text: text.into(),
            span,
            quoted: false,
        }
    }

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

//! Messages about a configuration: what is wrong, where, and how to fix it.
//!
//! Every stage collects diagnostics instead of stopping at the first one, so
//! an operator sees all the problems of a file in one `switchyard -c`.

use std::fmt;

use crate::span::{SourceMap, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Shown with `.diag`/`.notice` and informational remarks.
    Notice,
    /// The configuration is still valid.
    Warning,
    /// The configuration is refused.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One message about one place in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Where the problem is; `None` for whole-configuration remarks.
    pub span: Option<Span>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// How to fix it, when we know.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span: Some(span),
            message: message.into(),
            help: None,
        }
    }

    pub fn warning(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            span: Some(span),
            message: message.into(),
            help: None,
        }
    }

    pub fn notice(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Notice,
            span: Some(span),
            message: message.into(),
            help: None,
        }
    }

    /// An error about the configuration as a whole (no single line to blame).
    pub fn global_error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span: None,
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the message with its location, the quoted line, a caret under
    /// the offending text and the suggested fix.
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut out = String::new();
        let Some(span) = self.span else {
            out.push_str(&format!("{}: {}\n", self.severity, self.message));
            if let Some(help) = &self.help {
                out.push_str(&format!("  = help: {help}\n"));
            }
            return out;
        };
        out.push_str(&format!(
            "{}: {}: {}\n",
            sources.locate(span),
            self.severity,
            self.message
        ));
        if let Some(text) = sources.file(span.file).and_then(|f| f.line_text(span.line)) {
            let number = span.line.to_string();
            let pad = " ".repeat(number.len());
            let shown: String = text
                .chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .collect();
            let indent = " ".repeat(span.column.saturating_sub(1) as usize);
            let carets = "^".repeat(span.len.max(1) as usize);
            out.push_str(&format!(
                "{pad} |\n{number} | {shown}\n{pad} | {indent}{carets}\n"
            ));
            if let Some(help) = &self.help {
                out.push_str(&format!("{pad} = help: {help}\n"));
            }
        } else if let Some(help) = &self.help {
            out.push_str(&format!("  = help: {help}\n"));
        }
        out
    }
}

/// The diagnostics of one configuration, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Diagnostics::default()
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sorted by file and position so the output reads top to bottom.
    pub fn sorted(&self) -> Vec<&Diagnostic> {
        let mut all: Vec<&Diagnostic> = self.items.iter().collect();
        all.sort_by_key(|d| d.span.map(|s| (s.file, s.line, s.column)));
        all
    }

    pub fn render(&self, sources: &SourceMap) -> String {
        self.sorted()
            .iter()
            .map(|d| d.render(sources))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

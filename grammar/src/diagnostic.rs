//! Messages about a configuration: what is wrong, where, and how to fix it.
//!
//! Every stage collects diagnostics instead of stopping at the first one, so
//! an operator sees all the problems of a file in one `switchyard -c`.

use std::fmt;

use crate::span::{SourceMap, Span};

/// How bad a diagnostic is; `-c` exits 1 when any is an error.
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
    /// Whether the configuration is refused, still valid, or only informed.
    pub severity: Severity,
    /// Where the problem is; `None` for whole-configuration remarks.
    pub span: Option<Span>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// How to fix it, when we know.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`: the configuration is refused.
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span: Some(span),
            message: message.into(),
            help: None,
        }
    }

    /// A warning at `span`: the configuration is still valid.
    pub fn warning(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            span: Some(span),
            message: message.into(),
            help: None,
        }
    }

    /// A notice at `span`, shown as HAProxy shows its informational remarks.
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

    /// Adds how to fix the problem, shown under the quoted line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Whether this refuses the configuration.
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
    /// No diagnostics yet.
    pub fn new() -> Self {
        Diagnostics::default()
    }

    /// Adds one at the end.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Adds all of `other`'s, in their order.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// Whether any of them refuses the configuration.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// The errors, in the order found.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.is_error())
    }

    /// The warnings, in the order found (notices are neither).
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }

    /// All of them, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sorted by file and position so the output reads top to bottom.
    pub fn sorted(&self) -> Vec<&Diagnostic> {
        let mut all: Vec<&Diagnostic> = self.items.iter().collect();
        all.sort_by_key(|d| d.span.map(|s| (s.file, s.line, s.column)));
        all
    }

    /// Every diagnostic rendered with its quoted line, sorted by place, one
    /// after the other: what `switchyard -c` prints.
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

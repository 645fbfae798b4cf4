//! Where things are: every word, directive and section carries a [`Span`]
//! so that any later stage (validation, rule compilation, the fixture runner)
//! can point at the exact line and column of the text it came from.

use std::fmt;
use std::sync::Arc;

/// Identifies one loaded file inside a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A place in a configuration file: 1-based line and column (in characters),
/// and the length of the marked text in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// The file the text is in.
    pub file: FileId,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// Length of the marked text, in characters (0 marks a point).
    pub len: u32,
}

impl Span {
    /// A span of `len` characters at `line`:`column` of `file`.
    pub fn new(file: FileId, line: u32, column: u32, len: u32) -> Self {
        Span {
            file,
            line,
            column,
            len,
        }
    }

    /// A span covering `self` up to the end of `other` (same line), or `self`
    /// when the two are on different lines.
    pub fn to(self, other: Span) -> Span {
        if other.file == self.file && other.line == self.line && other.column >= self.column {
            Span {
                len: other.column + other.len - self.column,
                ..self
            }
        } else {
            self
        }
    }
}

/// One configuration file's name and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name shown in messages (the path given on the command line).
    pub name: Arc<str>,
    /// The whole text as read.
    pub text: Arc<str>,
}

impl SourceFile {
    /// The text of 1-based line `line`, without its line ending.
    pub fn line_text(&self, line: u32) -> Option<&str> {
        self.text
            .split('\n')
            .nth(line.checked_sub(1)? as usize)
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
    }
}

/// All files a configuration was read from, so diagnostics can quote them.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> Self {
        SourceMap::default()
    }

    /// Adds a file and returns the id its spans carry.
    pub fn add(&mut self, name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> FileId {
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
        });
        FileId(self.files.len() as u32 - 1)
    }

    /// The file `id` stands for, if it was added here.
    pub fn file(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// The name of file `id`, or `<unknown>` for an id from another map.
    pub fn name(&self, id: FileId) -> &str {
        self.file(id).map(|f| &*f.name).unwrap_or("<unknown>")
    }

    /// `file:line:column` for a span, the way every message starts.
    pub fn locate(&self, span: Span) -> Location<'_> {
        Location {
            file: self.name(span.file),
            span,
        }
    }
}

/// Displays as `file:line:column`.
pub struct Location<'a> {
    file: &'a str,
    span: Span,
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.span.line, self.span.column)
    }
}

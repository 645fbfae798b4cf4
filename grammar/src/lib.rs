//! The HAProxy configuration language as Switchyard reads it: a pest grammar
//! (`config.pest`) cuts lines into words and reads structured arguments; the
//! keyword modules build a typed, span-carrying model; `validate` resolves
//! references between sections. This crate does no I/O: files to read are
//! handed in, and files a keyword names are read through [`FileAccess`].
//!
//! Data flows one way: text → `reader` (sections of words) →
//! `keyword` (typed [`ast`]) → [`model::Config`] → the `rules` crate.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ast;
pub mod diagnostic;
pub mod env;
pub(crate) mod keyword;
pub mod lexer;
pub mod model;
pub mod preprocess;
pub(crate) mod reader;
pub mod span;
pub mod suggest;
pub mod validate;
pub mod word;

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use env::Environment;
pub use model::{load, Config, FileAccess, LoadedConfig, NoFiles};
pub use span::{SourceMap, Span};
pub use word::Word;

//! Helpers shared by the grammar's integration tests.
#![allow(dead_code)]

use std::collections::HashMap;

use switchyard_grammar::{load, Environment, FileAccess, LoadedConfig};

/// Files served from memory.
#[derive(Default)]
pub struct MemFiles(pub HashMap<String, Vec<u8>>);

impl FileAccess for MemFiles {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        self.0.get(path).cloned().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory")
        })
    }
}

/// Reads from the disk, relative to the given directory.
pub struct DiskFiles(pub std::path::PathBuf);

impl FileAccess for DiskFiles {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.0.join(path))
    }
}

pub fn load_text(text: &str) -> LoadedConfig {
    load(
        &[("test.cfg".to_owned(), text.to_owned())],
        Environment::new(),
        &MemFiles::default(),
    )
}

/// The errors as `line:col message` strings.
pub fn errors(loaded: &LoadedConfig) -> Vec<String> {
    loaded
        .diagnostics
        .errors()
        .map(|d| {
            let s = d.span.unwrap_or_default();
            format!("{}:{} {}", s.line, s.column, d.message)
        })
        .collect()
}

pub fn warnings(loaded: &LoadedConfig) -> Vec<String> {
    loaded
        .diagnostics
        .warnings()
        .map(|d| d.message.clone())
        .collect()
}

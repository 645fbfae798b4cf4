//! Shared helpers: compile a configuration text, build requests.
#![allow(dead_code)]

use switchyard_grammar::{load, Environment, FileAccess};
use switchyard_rules::RuleSet;

pub struct NoFiles;

impl FileAccess for NoFiles {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            path.to_owned(),
        ))
    }
}

pub fn compile(text: &str) -> RuleSet {
    let loaded = load(
        &[("t.cfg".into(), text.into())],
        Environment::new(),
        &NoFiles,
    );
    assert!(
        !loaded.diagnostics.has_errors(),
        "{}",
        loaded.diagnostics.render(&loaded.sources)
    );
    RuleSet::compile(&loaded.config, &NoFiles)
        .unwrap_or_else(|d| panic!("{}", d.render(&loaded.sources)))
}

pub const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n";

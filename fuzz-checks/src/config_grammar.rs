//! Feeds arbitrary bytes to the configuration loader: it must never panic,
//! and every diagnostic must render.

use switchyard_grammar::{load, Environment};

use crate::NoFiles;

/// One fuzz input: panics when a property above does not hold.
pub fn check(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut env = Environment::new();
        env.set("FUZZ", "127.0.0.1:80");
        let loaded = load(&[("fuzz.cfg".to_owned(), text.to_owned())], env, &NoFiles);
        let _ = loaded.diagnostics.render(&loaded.sources);
    }
}

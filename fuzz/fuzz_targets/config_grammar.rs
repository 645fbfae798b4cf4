//! Feeds arbitrary bytes to the configuration loader: it must never panic,
//! and every diagnostic must render.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_grammar::{load, Environment, FileAccess};

struct NoFiles;

impl FileAccess for NoFiles {
    fn read(&self, _path: &str) -> std::io::Result<Vec<u8>> {
        Err(std::io::Error::new(std::io::ErrorKind::NotFound, "fuzzing reads no files"))
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut env = Environment::new();
        env.set("FUZZ", "127.0.0.1:80");
        let loaded = load(&[("fuzz.cfg".to_owned(), text.to_owned())], env, &NoFiles);
        let _ = loaded.diagnostics.render(&loaded.sources);
    }
});

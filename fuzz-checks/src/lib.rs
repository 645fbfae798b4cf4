//! The properties each fuzz target checks of one input, one module per
//! target of `fuzz/fuzz_targets/`. The targets call `MODULE::check(data)`
//! under libFuzzer (nightly flags, `cargo fuzz`); `tests/corpus.rs` calls the
//! same functions on every file of `fuzz/corpus/TARGET/` under a plain
//! `cargo test`, so the inputs found by fuzzing are re-checked on every run
//! with the stable toolchain.

pub mod config_grammar;
pub mod fixture_format;
pub mod request_head;
pub mod rules_decide;
pub mod runtime_api_command;
pub mod server_response;

use switchyard_grammar::FileAccess;

/// File access for fuzzed configurations: every read fails, so an input
/// naming a file (`errorfile`, a map) is judged without touching the disk.
pub(crate) struct NoFiles;

impl FileAccess for NoFiles {
    fn read(&self, _path: &str) -> std::io::Result<Vec<u8>> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "fuzzing reads no files",
        ))
    }
}

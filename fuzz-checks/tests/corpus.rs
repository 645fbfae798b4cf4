//! Replays the fuzz corpora (`fuzz/corpus/TARGET/*`) through the checks the
//! fuzz targets run, with no nightly toolchain: every input libFuzzer kept
//! (and every crash it found, once fixed) must still pass.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// Runs `check` on every file of the target's corpus; fails naming each
/// input that panicked.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable corpus entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no input", dir.display());
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            catch_unwind(AssertUnwindSafe(|| check(&data))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} inputs of {target} panicked:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}

#[test]
fn config_grammar_corpus() {
    replay(
        "config_grammar",
        switchyard_fuzz_checks::config_grammar::check,
    );
}

#[test]
fn fixture_format_corpus() {
    replay(
        "fixture_format",
        switchyard_fuzz_checks::fixture_format::check,
    );
}

#[test]
fn rules_decide_corpus() {
    replay("rules_decide", switchyard_fuzz_checks::rules_decide::check);
}

#[test]
fn runtime_api_command_corpus() {
    replay(
        "runtime_api_command",
        switchyard_fuzz_checks::runtime_api_command::check,
    );
}

#[test]
fn server_response_corpus() {
    replay(
        "server_response",
        switchyard_fuzz_checks::server_response::check,
    );
}

#[test]
fn request_head_corpus() {
    replay("request_head", switchyard_fuzz_checks::request_head::check);
}

//! `switchyard -c`: load and validate a configuration, print what is wrong
//! with it, and exit 0 (valid) or 1 (invalid), as `haproxy -c` does.

use std::path::PathBuf;
use std::process::ExitCode;

use switchyard_grammar::Severity;

/// Prints diagnostics; returns the loaded configuration when it has no error.
pub fn load_and_report(
    files: &[PathBuf],
    quiet: bool,
) -> anyhow::Result<Option<switchyard_grammar::LoadedConfig>> {
    let loaded = crate::config_files::load(files)?;
    for diag in loaded.diagnostics.sorted() {
        if quiet && diag.severity != Severity::Error {
            continue;
        }
        eprint!("{}", diag.render(&loaded.sources));
    }
    if loaded.diagnostics.has_errors() {
        let count = loaded.diagnostics.errors().count();
        eprintln!(
            "Configuration has {count} error{}; fix {} and check again.",
            if count == 1 { "" } else { "s" },
            if count == 1 { "it" } else { "them" }
        );
        return Ok(None);
    }
    Ok(Some(loaded))
}

pub fn run(files: &[PathBuf], quiet: bool) -> anyhow::Result<ExitCode> {
    match load_and_report(files, quiet)? {
        Some(_) => {
            if !quiet {
                println!("Configuration file is valid");
            }
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::FAILURE),
    }
}

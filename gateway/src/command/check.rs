//! `switchyard -c`: load and validate a configuration, compile its rules,
//! print what is wrong with it, and exit 0 (valid) or 1 (invalid), as
//! `haproxy -c` does.

use std::path::PathBuf;
use std::process::ExitCode;

use switchyard_grammar::{LoadedConfig, Severity};

use crate::process::config_check::{check, Checked};

/// Prints diagnostics; returns the configuration when it has no error.
pub fn load_and_report(files: &[PathBuf], quiet: bool) -> anyhow::Result<Option<Checked>> {
    Ok(report(crate::process::config_files::load(files)?, quiet))
}

/// Compiles the rules of `loaded`, prints every diagnostic, and returns the
/// configuration when it has no error.
pub fn report(loaded: LoadedConfig, quiet: bool) -> Option<Checked> {
    let (checked, text) = check(loaded, quiet);
    eprint!("{text}");
    checked
}

pub fn run(files: &[PathBuf], quiet: bool) -> anyhow::Result<ExitCode> {
    match load_and_report(files, quiet)? {
        Some(checked) => {
            if !(quiet || checked.loaded.config.global.quiet) {
                // Valid HAProxy language, but this build cannot serve all of
                // it yet: say so now rather than at startup.
                for d in crate::process::support::not_yet_served(&checked.loaded.config) {
                    let warning = switchyard_grammar::Diagnostic {
                        severity: Severity::Warning,
                        ..d
                    };
                    eprint!("{}", warning.render(&checked.loaded.sources));
                }
                println!("Configuration file is valid");
            }
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::FAILURE),
    }
}

//! `switchyard -c`: load and validate a configuration, compile its rules,
//! print what is wrong with it, and exit 0 (valid) or 1 (invalid), as
//! `haproxy -c` does.

use std::path::PathBuf;
use std::process::ExitCode;

use switchyard_grammar::{LoadedConfig, Severity};
use switchyard_rules::RuleSet;

/// A configuration that passed every check, with its compiled rules.
pub struct Checked {
    pub loaded: LoadedConfig,
    pub rules: RuleSet,
}

/// Prints diagnostics; returns the configuration when it has no error.
pub fn load_and_report(files: &[PathBuf], quiet: bool) -> anyhow::Result<Option<Checked>> {
    let mut loaded = crate::config_files::load(files)?;
    // The rules are compiled only for a configuration without errors: their
    // messages would otherwise repeat the grammar's.
    let mut rules = None;
    if !loaded.diagnostics.has_errors() {
        match RuleSet::compile(&loaded.config, &crate::config_files::FsAccess) {
            Ok(compiled) => rules = Some(compiled),
            Err(diags) => loaded.diagnostics.extend(diags),
        }
    }
    for diag in loaded.diagnostics.sorted() {
        if quiet && diag.severity != Severity::Error {
            continue;
        }
        eprint!("{}", diag.render(&loaded.sources));
    }
    match rules {
        Some(rules) if !loaded.diagnostics.has_errors() => Ok(Some(Checked { loaded, rules })),
        _ => {
            let count = loaded.diagnostics.errors().count();
            eprintln!(
                "Configuration has {count} error{}; fix {} and check again.",
                if count == 1 { "" } else { "s" },
                if count == 1 { "it" } else { "them" }
            );
            Ok(None)
        }
    }
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

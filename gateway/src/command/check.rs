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
    Ok(report(crate::config_files::load(files)?, quiet))
}

/// Compiles the rules of `loaded`, prints every diagnostic, and returns the
/// configuration when it has no error.
pub fn report(loaded: LoadedConfig, quiet: bool) -> Option<Checked> {
    let (checked, text) = check(loaded, quiet);
    eprint!("{text}");
    checked
}

/// Compiles the rules of `loaded`; returns the configuration when it has
/// no error, and every diagnostic rendered as text.
pub fn check(mut loaded: LoadedConfig, quiet: bool) -> (Option<Checked>, String) {
    // The rules are compiled only for a configuration without errors: their
    // messages would otherwise repeat the grammar's.
    let mut rules = None;
    if !loaded.diagnostics.has_errors() {
        match RuleSet::compile(&loaded.config, &crate::config_files::FsAccess) {
            Ok(compiled) => rules = Some(compiled),
            Err(diags) => loaded.diagnostics.extend(diags),
        }
    }
    let mut text = String::new();
    for diag in loaded.diagnostics.sorted() {
        if quiet && diag.severity != Severity::Error {
            continue;
        }
        text.push_str(&diag.render(&loaded.sources));
    }
    match rules {
        Some(rules) if !loaded.diagnostics.has_errors() => (Some(Checked { loaded, rules }), text),
        _ => {
            let count = loaded.diagnostics.errors().count();
            text.push_str(&format!(
                "Configuration has {count} error{}; fix {} and check again.\n",
                if count == 1 { "" } else { "s" },
                if count == 1 { "it" } else { "them" }
            ));
            (None, text)
        }
    }
}

pub fn run(files: &[PathBuf], quiet: bool) -> anyhow::Result<ExitCode> {
    match load_and_report(files, quiet)? {
        Some(checked) => {
            if !quiet {
                // Valid HAProxy language, but this build cannot serve all of
                // it yet: say so now rather than at startup.
                for d in crate::support::not_yet_served(&checked.loaded.config) {
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

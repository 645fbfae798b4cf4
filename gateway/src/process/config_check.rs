//! A loaded configuration checked as `-c` checks it: its rules compiled,
//! its diagnostics rendered. `switchyard -c` prints the result; a reload
//! (`process/generation.rs`) logs it and keeps the running configuration when
//! there is an error.

use switchyard_grammar::{LoadedConfig, Severity};
use switchyard_rules::RuleSet;

/// A configuration that passed every check, with its compiled rules.
pub struct Checked {
    pub loaded: LoadedConfig,
    pub rules: RuleSet,
}

/// Compiles the rules of `loaded`; returns the configuration when it has
/// no error, and every diagnostic rendered as text.
pub fn check(mut loaded: LoadedConfig, quiet: bool) -> (Option<Checked>, String) {
    // `quiet` in `global` is `-q` written in the file, as in HAProxy.
    let quiet = quiet || loaded.config.global.quiet;
    // The rules are compiled only for a configuration without errors: their
    // messages would otherwise repeat the grammar's.
    let mut rules = None;
    if !loaded.diagnostics.has_errors() {
        match RuleSet::compile(&loaded.config, &crate::process::config_files::FsAccess) {
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
    // `zero-warning`: a warning refuses the configuration, as HAProxy does
    // (its message, after the warnings, which are printed even when quiet).
    let zero_warning = loaded.config.global.zero_warning
        && !loaded.diagnostics.has_errors()
        && loaded
            .diagnostics
            .sorted()
            .iter()
            .any(|d| d.severity == Severity::Warning);
    if zero_warning {
        if quiet {
            text.clear();
            for diag in loaded.diagnostics.sorted() {
                text.push_str(&diag.render(&loaded.sources));
            }
        }
        text.push_str("Some warnings were found and 'zero-warning' is set. Aborting.\n");
        return (None, text);
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

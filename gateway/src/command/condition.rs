//! `switchyard -cc 'COND'`: evaluate a preprocessor condition as `.if`
//! would and exit 0 when true, 1 when false, 2 when it is malformed, as
//! `haproxy -cc` does. The text is cut into words like a configuration line
//! (so `"$VAR"` expands) against the process environment; what the
//! predicates answer is in `docs/preprocessor.md`.

use std::process::ExitCode;

use switchyard_grammar::{preprocess, Environment, SourceMap};

pub fn run(condition: &str) -> anyhow::Result<ExitCode> {
    let env = Environment::from_vars(std::env::vars());
    match preprocess::evaluate_condition_text(condition, &env) {
        Ok(true) => Ok(ExitCode::SUCCESS),
        Ok(false) => Ok(ExitCode::from(1)),
        Err(diag) => {
            let mut sources = SourceMap::new();
            sources.add("command line", condition);
            eprint!("{}", diag.render(&sources));
            Ok(ExitCode::from(2))
        }
    }
}

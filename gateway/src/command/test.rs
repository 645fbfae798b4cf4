//! `switchyard test -f CONFIG [FIXTURE|DIR …]`.

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Configuration file or directory; repeatable.
    #[arg(short = 'f', required = true)]
    pub files: Vec<PathBuf>,
    /// Fixture files or directories.
    pub fixtures: Vec<PathBuf>,
}

pub fn run(_args: TestArgs) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("'switchyard test' is being built in this session")
}

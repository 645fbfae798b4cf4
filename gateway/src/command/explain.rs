//! `switchyard explain -f CONFIG REQUEST_FILE`.

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// Configuration file or directory; repeatable.
    #[arg(short = 'f', required = true)]
    pub files: Vec<PathBuf>,
    /// A raw HTTP request, or '-' for standard input.
    pub request: Option<PathBuf>,
}

pub fn run(_args: ExplainArgs) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("'switchyard explain' is being built in this session")
}

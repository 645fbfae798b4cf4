//! The command line, compatible with HAProxy's: `switchyard -f FILE -c`,
//! `-D`, `-p PIDFILE`, `-db`, `-sf PID…`, plus Switchyard's own
//! subcommands (`test`, `explain`). Every argument type lives here, so the
//! modules that run a mode import this one and this one imports none of them.
//!
//! HAProxy spells some flags as one dash and two letters (`-db`, `-cc`,
//! `-sf`, `-st`, `-vv`); clap wants those long, so [`normalize_args`] turns
//! them into `--db` and friends before parsing.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "switchyard",
    version,
    about = "An HAProxy-compatible L7 gateway",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// HAProxy's own flags.
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// Configuration file or directory (its *.cfg in lexical order); repeatable.
    #[arg(short = 'f', value_name = "FILE|DIR")]
    pub files: Vec<PathBuf>,
    /// Check the configuration and exit (0 valid, 1 invalid).
    #[arg(short = 'c')]
    pub check: bool,
    /// Quiet: no warnings, no "valid" message.
    #[arg(short = 'q')]
    pub quiet: bool,
    /// Foreground with debug output.
    #[arg(short = 'd')]
    pub debug: bool,
    /// Foreground without background mode (`-db`).
    #[arg(long = "db")]
    pub no_background: bool,
    /// Run in the background (daemon).
    #[arg(short = 'D')]
    pub daemon: bool,
    /// Write the process id to this file.
    #[arg(short = 'p', value_name = "PIDFILE")]
    pub pidfile: Option<PathBuf>,
    /// Evaluate a preprocessor condition and exit 0 (true) or 1 (false) (`-cc`).
    #[arg(long = "cc", value_name = "CONDITION", allow_hyphen_values = true)]
    pub condition: Option<String>,
    /// Fetch listening sockets from this stats socket of the old process.
    #[arg(short = 'x', value_name = "SOCKET")]
    pub expose_socket: Option<PathBuf>,
    /// Tell these old processes to finish and stop (`-sf`).
    #[arg(long = "sf", value_name = "PID", num_args = 1..)]
    pub soft_stop: Vec<u32>,
    /// Tell these old processes to stop at once (`-st`).
    #[arg(long = "st", value_name = "PID", num_args = 1..)]
    pub hard_stop: Vec<u32>,
    /// Print the version and build options (`-vv`).
    #[arg(long = "vv")]
    pub build_info: bool,
    /// Print the version.
    #[arg(short = 'v')]
    pub short_version: bool,
    /// This process's local peer name (`-L`): exported as
    /// `HAPROXY_LOCALPEER` for the configuration, as HAProxy does; the
    /// host's name when absent.
    #[arg(short = 'L', value_name = "NAME")]
    pub local_peer: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway on the built-in demo, with three origins in-process.
    Demo,
    /// Run fixture requests through a configuration and check each decision.
    Test(TestArgs),
    /// Show how a configuration decides one request, rule by rule.
    Explain(ExplainArgs),
}

/// `switchyard test`'s arguments.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Configuration file or directory; repeatable.
    #[arg(short = 'f', required = true)]
    pub files: Vec<PathBuf>,
    /// Fixture files, or directories of `*.http` files.
    #[arg(required = true)]
    pub fixtures: Vec<PathBuf>,
    /// List the acl, use_backend and http-request lines no fixture exercised.
    #[arg(long)]
    pub coverage: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// How `switchyard test` writes its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// `switchyard explain`'s arguments.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Configuration file or directory; repeatable.
    #[arg(short = 'f', required = true)]
    pub files: Vec<PathBuf>,
    /// A raw HTTP request (fixture format), or '-' for standard input.
    pub request: Option<PathBuf>,
    /// Build the request from a URL instead (`http://host/path?query`).
    #[arg(long, conflicts_with = "request")]
    pub url: Option<String>,
    /// A request header (`Name: value`); repeatable.
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// The request method.
    #[arg(short = 'X', long = "method", default_value = "GET")]
    pub method: String,
    /// The client address.
    #[arg(long)]
    pub src: Option<String>,
    /// The frontend the request arrives on (default: the first).
    #[arg(long)]
    pub frontend: Option<String>,
}

/// Rewrites HAProxy's two-letter single-dash flags into long flags.
pub fn normalize_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    args.into_iter()
        .map(|a| match a.to_str() {
            Some("-db") => "--db".into(),
            Some("-cc") => "--cc".into(),
            Some("-sf") => "--sf".into(),
            Some("-st") => "--st".into(),
            Some("-vv") => "--vv".into(),
            _ => a,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(normalize_args(args.iter().map(OsString::from))).unwrap()
    }

    #[test]
    fn haproxy_style_flags() {
        let cli = parse(&[
            "switchyard",
            "-f",
            "a.cfg",
            "-f",
            "conf.d",
            "-c",
            "-q",
            "-db",
            "-p",
            "/run/x.pid",
        ]);
        assert_eq!(cli.run.files.len(), 2);
        assert!(cli.run.check && cli.run.quiet && cli.run.no_background);
        let cli = parse(&[
            "switchyard",
            "-f",
            "a.cfg",
            "-sf",
            "12",
            "13",
            "-x",
            "/run/s.sock",
        ]);
        assert_eq!(cli.run.soft_stop, [12, 13]);
        assert!(cli.run.expose_socket.is_some());
        let cli = parse(&["switchyard", "-d", "-L", "A", "-f", "a.cfg"]);
        assert_eq!(cli.run.local_peer.as_deref(), Some("A"));
        let cli = parse(&["switchyard", "-cc", "defined(HOME)"]);
        assert_eq!(cli.run.condition.as_deref(), Some("defined(HOME)"));
    }
}

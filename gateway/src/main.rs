//! The `switchyard` binary.
// Denied, not forbidden: `net/inherit/fd.rs` allows it for the one call that
// turns an inherited descriptor number into an owned descriptor.
#![deny(unsafe_code)]

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod command;
mod front;
mod log;
mod message;
mod net;
mod process;
mod proxy;
mod runtime_api;
mod stats;
mod tcp;
mod upstream;

use std::process::ExitCode;

use clap::Parser;

use command::cli::{self, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse_from(cli::normalize_args(std::env::args_os()));
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("switchyard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Demo) => command::demo::run(),
        Some(Command::Test(args)) => command::test::run(args),
        Some(Command::Explain(args)) => command::explain::run(args),
        None => run_haproxy_style(cli.run),
    }
}

/// Sets `HAPROXY_LOCALPEER` before the configuration is read, as HAProxy
/// does: the `-L` name, else the host's name. A configuration refers to it
/// as `"${HAPROXY_LOCALPEER}"` (a `peers` section's local peer, a log tag).
fn export_local_peer(name: Option<&str>) {
    let name = match name {
        Some(name) => name.to_owned(),
        None => match nix::unistd::gethostname() {
            Ok(host) => host.to_string_lossy().into_owned(),
            Err(_) => return,
        },
    };
    std::env::set_var("HAPROXY_LOCALPEER", name);
}

/// The HAProxy-compatible modes: version, condition, check, serve.
fn run_haproxy_style(args: cli::RunArgs) -> anyhow::Result<ExitCode> {
    if args.short_version || args.build_info {
        println!(
            "Switchyard version {} (reads HAProxy 2.6 configurations)",
            env!("CARGO_PKG_VERSION")
        );
        if args.build_info {
            // What `.if feature(NAME)` answers, as `haproxy -vv` lists it.
            println!(
                "Feature list : {}",
                switchyard_grammar::preprocess::identity::feature_list()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    export_local_peer(args.local_peer.as_deref());
    if let Some(condition) = &args.condition {
        return command::condition::run(condition);
    }
    if args.check {
        return command::check::run(&args.files, args.quiet);
    }
    command::serve::run(&args)
}

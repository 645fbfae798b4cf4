//! The `switchyard` binary.
// Denied, not forbidden: `inherit/fd.rs` allows it for the one call that
// turns an inherited descriptor number into an owned descriptor.
#![deny(unsafe_code)]

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod accept;
mod body;
mod cli;
mod client_io;
mod client_response;
mod command;
mod config_files;
mod demo;
mod generation;
mod h2_front;
mod h2_peer_settings;
mod inherit;
mod keepalive;
mod listener;
mod log;
mod parked;
mod pool;
mod prefixed_io;
mod process;
mod proxy;
mod proxy_protocol;
mod proxy_response;
mod routing;
mod rules_router;
mod runtime;
mod runtime_api;
mod server_body;
mod server_conn;
mod stats;
mod support;
mod tcp;
mod tcp_connect;
mod tls;
mod tunnel;
mod unix_socket;
mod upstream;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

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

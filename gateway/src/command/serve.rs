//! Running the gateway: check the configuration, refuse what this build
//! cannot serve, open every listener, start health checks, and serve until
//! SIGINT or SIGTERM.

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use switchyard_grammar::Diagnostics;

use super::check::Checked;
use crate::cli::RunArgs;
use crate::listener::{bind_tcp, serve_http};
use crate::runtime;

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    // These flags parse (scripts written for HAProxy pass them) but need
    // process control that is not built yet: say so instead of ignoring them.
    let unbuilt = [
        (args.daemon, "-D (daemon mode)"),
        (args.pidfile.is_some(), "-p PIDFILE"),
        (
            args.expose_socket.is_some(),
            "-x SOCKET (fetching listeners from an old process)",
        ),
        (
            !args.soft_stop.is_empty(),
            "-sf PID… (soft-stopping an old process)",
        ),
        (
            !args.hard_stop.is_empty(),
            "-st PID… (stopping an old process)",
        ),
    ];
    if let Some((_, flag)) = unbuilt.iter().find(|(used, _)| *used) {
        anyhow::bail!("{flag} is not built yet; run in the foreground (-db) for now");
    }
    let Some(checked) = super::check::load_and_report(&args.files, args.quiet)? else {
        return Ok(ExitCode::FAILURE);
    };
    serve(checked, args.debug, None)
}

/// Serves a checked configuration until SIGINT/SIGTERM; `extra` runs beside
/// it on the same runtime (the demo's origins).
pub fn serve(
    checked: Checked,
    debug: bool,
    extra: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
) -> anyhow::Result<ExitCode> {
    if refuse_unbuilt(&checked) {
        return Ok(ExitCode::FAILURE);
    }
    init_logging(debug);
    let config = checked.loaded.config;
    let threads = config
        .global
        .nbthread
        .as_ref()
        .map(|n| n.value as usize)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    tokio.block_on(async move {
        if let Some(extra) = extra {
            tokio::spawn(extra);
        }
        let runtime = runtime::build(&config, Arc::new(checked.rules))?;
        let mut tasks = Vec::new();
        for (addr, frontend) in &runtime.listeners {
            let listener = bind_tcp(*addr, 1024)
                .with_context(|| format!("cannot bind {addr} for frontend '{}'", frontend.name))?;
            let tls = runtime.tls.get(addr).cloned();
            tasks.push(tokio::spawn(serve_http(listener, frontend.clone(), tls)));
        }
        for backend in &runtime.backends {
            tasks.extend(backend.spawn_checks(&config.global));
        }
        tracing::info!(
            "switchyard ready: {} listener(s), {} backend(s)",
            runtime.listeners.len(),
            runtime.backends.len()
        );
        wait_for_stop().await;
        for t in tasks {
            t.abort();
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Prints, as errors, what the configuration uses that this build does not
/// serve yet; true when there is any.
fn refuse_unbuilt(checked: &Checked) -> bool {
    let refused = crate::support::not_yet_served(&checked.loaded.config);
    if refused.is_empty() {
        return false;
    }
    let mut diags = Diagnostics::new();
    for d in refused {
        diags.push(d);
    }
    eprint!("{}", diags.render(&checked.loaded.sources));
    eprintln!(
        "switchyard cannot serve this configuration yet ({} feature(s) above).",
        diags.len()
    );
    true
}

fn init_logging(debug: bool) {
    let filter = if debug {
        "switchyard=debug,info"
    } else {
        "info"
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| filter.into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

async fn wait_for_stop() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

//! Running the gateway: check the configuration, refuse what this build
//! cannot serve, bind, go to the background, drop privileges, serve, and
//! obey signals (stop, soft stop, reload) until told to stop.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use switchyard_grammar::{Diagnostic, Diagnostics};

use crate::command::cli::RunArgs;
use crate::net::inherit::systemd::Activation;
use crate::net::inherit::Inherited;
use crate::process::config_check::Checked;
use crate::process::cpu_map::{pin_current_thread, ThreadPinning};
use crate::process::generation::{Gateway, Prebound, Source};
use crate::process::old_processes::OldProcesses;
use crate::process::privileges::Identity;
use crate::process::runtime;
use crate::process::signals::{Order, Signals};

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let old_processes = OldProcesses::new(&args.soft_stop, &args.hard_stop)?;
    let Some(checked) = super::check::load_and_report(&args.files, args.quiet)? else {
        return Ok(ExitCode::FAILURE);
    };
    // First, before the process opens anything it keeps: inherited
    // descriptors are taken by number (see net/inherit/fd.rs).
    if !collect_inherited(&checked, args.expose_socket.as_deref())? {
        return Ok(ExitCode::FAILURE);
    }
    let options = ProcessOptions {
        debug: args.debug,
        daemon: args.daemon,
        foreground: args.debug || args.no_background,
        pidfile: args.pidfile.clone(),
        old_processes,
    };
    serve(Source::Files(args.files.clone()), checked, options, None)
}

/// Adopts systemd's sockets and the configuration's `fd@N`, then (`-x`)
/// fetches the old process's listeners; false after printing why the
/// configuration cannot use them.
fn collect_inherited(checked: &Checked, old_stats_socket: Option<&Path>) -> anyhow::Result<bool> {
    let activation =
        Activation::take_from_env(std::process::id()).context("systemd socket activation")?;
    let (mut inherited, errors) = Inherited::collect(&checked.loaded.config, activation);
    if !errors.is_empty() {
        print_errors(
            errors,
            checked,
            "switchyard cannot use the inherited socket(s) above.",
        );
        return Ok(false);
    }
    if let Some(path) = old_stats_socket {
        let sockets = crate::net::inherit::handover::fetch(path, HANDOVER_TIMEOUT)
            .with_context(|| format!("-x {}", path.display()))?;
        eprintln!(
            "switchyard: took {} listening socket(s) over from {}",
            sockets.len(),
            path.display()
        );
        inherited.add_handover(sockets);
    }
    crate::net::inherit::install(inherited);
    Ok(true)
}

/// How long the old process may take to hand its sockets over.
const HANDOVER_TIMEOUT: Duration = Duration::from_secs(5);

/// What the command line says about the process.
#[derive(Debug, Clone, Default)]
pub struct ProcessOptions {
    pub debug: bool,
    /// `-D`.
    pub daemon: bool,
    /// `-d` or `-db`: stay in the foreground even when the configuration
    /// says `daemon` (or the command line `-D`), as HAProxy does.
    pub foreground: bool,
    /// `-p FILE`.
    pub pidfile: Option<std::path::PathBuf>,
    /// `-sf`/`-st`: told to stop once this process serves.
    pub old_processes: OldProcesses,
}

/// Serves a checked configuration until told to stop; `extra` runs beside
/// it on the same runtime (the demo's origins). The order is HAProxy's:
/// bind, go to the background, write the pid file, then chroot and drop
/// privileges once everything is running.
pub fn serve(
    source: Source,
    checked: Checked,
    options: ProcessOptions,
    extra: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
) -> anyhow::Result<ExitCode> {
    if refuse_unbuilt(&checked) {
        return Ok(ExitCode::FAILURE);
    }
    init_logging(options.debug);
    if options.debug {
        crate::log::debug_trace::enable();
    }
    let global = checked.loaded.config.global.clone();
    if let Some(nbproc) = &global.nbproc {
        tracing::warn!(
            "'nbproc {}' is ignored: Switchyard runs one process with threads (nbthread)",
            nbproc.value
        );
    }
    let threads = global
        .nbthread
        .as_ref()
        .map(|n| n.value as usize)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let maxconn = open_file_budget(&global)?;
    let identity = Identity::resolve(
        global.user.as_ref().map(|w| w.text.as_str()),
        global.group.as_ref().map(|w| w.text.as_str()),
        global.uid.as_ref().map(|u| u.value),
        global.gid.as_ref().map(|g| g.value),
    )?;
    let prebound = prebind(&checked)?;
    if (options.daemon || global.daemon.is_some()) && !options.foreground {
        crate::process::daemon::detach()?;
    }
    let pidfile = options
        .pidfile
        .clone()
        .or_else(|| global.pidfile.as_ref().map(|w| w.text.clone().into()));
    if let Some(path) = &pidfile {
        crate::process::daemon::write_pidfile(path)?;
    }
    let pinning = ThreadPinning::new(&global.cpu_maps, threads);
    let next_thread = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let pin_workers = pinning.clone();
    // One thread: the whole gateway runs on the main thread, as HAProxy's
    // single event loop does, without the work-stealing scheduler's
    // cross-thread bookkeeping on every wakeup.
    let mut builder = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    let tokio = builder
        .enable_all()
        .on_thread_start(move || {
            let index = next_thread.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Err(e) = pin_current_thread(pin_workers.cpus_of(index % threads)) {
                tracing::warn!("cpu-map: cannot pin thread {}: {e}", index % threads + 1);
            }
        })
        .build()
        .context("cannot start the runtime")?;
    // The main thread drives the runtime too: thread 1's CPUs.
    if !pinning.is_empty() {
        if let Err(e) = pin_current_thread(pinning.cpus_of(0)) {
            tracing::warn!("cpu-map: cannot pin the main thread: {e}");
        }
    }
    let hard_stop_after = global.hard_stop_after;
    let old_processes = options.old_processes.clone();
    tokio.block_on(async move {
        let mut signals = Signals::register().context("cannot catch signals")?;
        if let Some(extra) = extra {
            tokio::spawn(extra);
        }
        let mut gateway = Gateway::start(source, checked, prebound, maxconn, threads)?;
        crate::net::inherit::close_unused_handover();
        if let Some(dir) = &global.chroot {
            crate::process::privileges::enter_chroot(&dir.text)?;
        }
        if !identity.is_empty() {
            identity.assume()?;
        }
        if global.set_dumpable {
            crate::process::limits::enable_core_dumps();
        }
        let summary = |g: &Gateway| {
            format!(
                "{} listener(s), {} backend(s)",
                g.listener_count(),
                g.backend_count()
            )
        };
        tracing::info!("switchyard ready: {}", summary(&gateway));
        let notifier = crate::process::notify::Notifier::from_env();
        let notify = |state: String| {
            if let Some(n) = &notifier {
                n.send(&state);
            }
        };
        notify(format!("READY=1\nSTATUS=serving: {}", summary(&gateway)));
        // Every address accepts now: the old processes may go.
        old_processes.tell();
        loop {
            match signals.next().await {
                Order::Stop => break,
                Order::SoftStop => {
                    tracing::info!("soft stop: finishing the connections in progress");
                    notify("STOPPING=1\nSTATUS=soft stop: finishing connections".into());
                    gateway.soft_stop(hard_stop_after).await;
                    break;
                }
                Order::Reload => {
                    notify(format!(
                        "RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading",
                        crate::process::notify::monotonic_usec()
                    ));
                    match gateway.reload() {
                        Ok(()) => tracing::info!("configuration reloaded"),
                        Err(why) => tracing::error!(
                            "reload refused, the running configuration stays:\n{why}"
                        ),
                    }
                    notify(format!("READY=1\nSTATUS=serving: {}", summary(&gateway)));
                }
            }
        }
        notify("STOPPING=1\nSTATUS=stopping".into());
        Ok::<_, anyhow::Error>(())
    })?;
    if let Some(path) = &pidfile {
        let _ = std::fs::remove_file(path);
    }
    Ok(ExitCode::SUCCESS)
}

/// Raises the open-file limit for global `maxconn` (or `ulimit-n`) and
/// returns the connection limit in force.
fn open_file_budget(global: &switchyard_grammar::ast::global::Global) -> anyhow::Result<usize> {
    use crate::process::limits;
    let configured = global.maxconn.as_ref().map(|m| m.value);
    let wanted = global
        .ulimit_n
        .unwrap_or_else(|| limits::needed_for(configured.unwrap_or(100_000)));
    let granted = limits::raise_open_files(wanted).context("cannot raise the open-file limit")?;
    let maxconn = configured.unwrap_or_else(|| limits::default_maxconn(granted));
    // The limit the configuration asked for (`ulimit-n`, or what its
    // `maxconn` needs); without either the limit decides `maxconn`.
    let asked = global
        .ulimit_n
        .or(configured.map(limits::needed_for))
        .filter(|&n| n > granted);
    if let Some(asked) = asked {
        let what = format!("cannot raise the open-file limit to {asked}, the limit is {granted}");
        // HAProxy's `strict-limits`, on unless `no strict-limits`.
        if !global.no_strict_limits {
            anyhow::bail!(
                "{what} (strict-limits: lower 'maxconn' or 'ulimit-n', raise the hard limit, or write 'no strict-limits' to start anyway)"
            );
        }
        tracing::warn!("{what} ('no strict-limits': starting anyway)");
    }
    Ok(maxconn as usize)
}

/// Binds every frontend address while still in the foreground and
/// privileged, so that errors reach the terminal and port 80 works.
fn prebind(checked: &Checked) -> anyhow::Result<Prebound> {
    let mut prebound = Prebound::default();
    let interfaces = runtime::bind_interfaces(&checked.loaded.config)?;
    for proxy in checked.loaded.config.frontends().filter(|p| !p.disabled) {
        for addr in runtime::bind_addresses(proxy)? {
            if prebound.tcp.contains_key(&addr) {
                continue;
            }
            let listener = crate::front::listener::open_frontend(
                addr,
                interfaces.get(&addr).map(String::as_str),
            )
            .map_err(|e| {
                let hint = match e.kind() {
                    std::io::ErrorKind::AddrInUse => " (to take it over from an old switchyard or haproxy, start with -x and its stats socket)",
                    _ => "",
                };
                anyhow::anyhow!("cannot bind {addr} for frontend '{}': {e}{hint}", proxy.name)
            })?;
            prebound.tcp.insert(addr, listener);
        }
    }
    Ok(prebound)
}

/// Prints, as errors, what the configuration uses that this build does not
/// serve yet; true when there is any.
fn refuse_unbuilt(checked: &Checked) -> bool {
    let refused = crate::process::support::not_yet_served(&checked.loaded.config);
    if refused.is_empty() {
        return false;
    }
    let count = refused.len();
    print_errors(
        refused,
        checked,
        &format!("switchyard cannot serve this configuration yet ({count} feature(s) above)."),
    );
    true
}

/// Prints `errors` with their places in the configuration, then `summary`.
fn print_errors(errors: Vec<Diagnostic>, checked: &Checked, summary: &str) {
    let mut diags = Diagnostics::new();
    for d in errors {
        diags.push(d);
    }
    eprint!("{}", diags.render(&checked.loaded.sources));
    eprintln!("{summary}");
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

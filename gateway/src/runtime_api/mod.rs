//! The runtime API (HAProxy's `stats socket`): a line protocol on a unix
//! socket or a loopback TCP port, so that `echo "show stat" | socat stdio
//! /run/switchyard.sock` and `socat readline …` work as they do with
//! HAProxy. One line may hold several commands separated by `;`; without
//! `prompt` the connection closes after the first line, with it the
//! session stays open and prints `> ` before each line. Commands read and
//! change the live state the request path uses (server weights and states,
//! map entries), so a change applies to the next request.

mod acls;
mod command;
mod info;
mod maps;
mod server_addr;
mod servers;
mod vars;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use switchyard_grammar::ast::address::{Host, Port};
use switchyard_grammar::ast::bind::BindOptions;
use switchyard_grammar::ast::global::Global;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UnixListener};

use crate::net::inherit::handover::Exported;
use crate::stats::ProxyView;
use crate::upstream::Backend;
use switchyard_rules::RuleSet;

pub use command::Level;

/// Everything the commands read or change.
pub struct ApiState {
    pub backends: Vec<Arc<Backend>>,
    pub views: Arc<Vec<ProxyView>>,
    pub rules: Arc<RuleSet>,
    pub started: Instant,
    pub threads: usize,
}

/// The state in force; a reload swaps it.
pub type Shared = Arc<arc_swap::ArcSwap<ApiState>>;

/// How a socket's sessions run: `level`, `stats timeout`, and whether
/// `_getsocks` hands the listeners over (`expose-fd listeners`).
#[derive(Debug, Clone)]
pub struct SessionRules {
    pub level: Level,
    /// Idle limit while waiting for a command (HAProxy's default is 10 s).
    pub timeout: Duration,
    pub expose_fd: bool,
    /// `stats maxconn`: the sessions that may run at once, shared by every
    /// socket.
    pub slots: Arc<tokio::sync::Semaphore>,
}

/// HAProxy's `stats maxconn` when none is written.
const DEFAULT_MAXCONN: u64 = 10;

/// Opens every `stats socket` of `global` and serves it; `exported` is
/// what `_getsocks` hands over on the sockets with `expose-fd listeners`.
pub fn listen(
    global: &Global,
    state: Shared,
    exported: Arc<Exported>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = Vec::new();
    // `stats maxconn`: one budget for all the sockets, as HAProxy's CLI
    // frontend has; a client beyond it waits to be accepted.
    let slots = Arc::new(tokio::sync::Semaphore::new(
        global.stats_maxconn.unwrap_or(DEFAULT_MAXCONN) as usize,
    ));
    for socket in &global.stats_sockets {
        let level = match &socket.options.level {
            None => Level::Operator,
            Some(word) => Level::parse(&word.text).ok_or_else(|| {
                anyhow!(
                    "stats socket: unknown level '{}' (user, operator or admin)",
                    word.text
                )
            })?,
        };
        let rules = SessionRules {
            level,
            timeout: global.stats_timeout.unwrap_or(Duration::from_secs(10)),
            expose_fd: socket.options.expose_fd_listeners,
            slots: slots.clone(),
        };
        for address in &socket.addresses {
            let serve = |listener| serve(listener, state.clone(), exported.clone(), rules.clone());
            match &address.host {
                Host::Path(path) => {
                    let listener = bind_unix(path, &socket.options)?;
                    tasks.push(tokio::spawn(serve(ApiListener::Unix(listener))));
                }
                Host::Fd(_) | Host::Systemd(_) => {
                    for listener in inherited_listeners(&address.host)? {
                        tasks.push(tokio::spawn(serve(listener)));
                    }
                }
                Host::Ip(ip) => {
                    let Port::Range(port, _) = address.port else {
                        anyhow::bail!("stats socket {} has no port", address.word.text);
                    };
                    let addr = std::net::SocketAddr::new(*ip, port);
                    let listener = crate::front::listener::bind_tcp(addr, 64)
                        .with_context(|| format!("cannot bind the stats socket on {addr}"))?;
                    tasks.push(tokio::spawn(serve(ApiListener::Tcp(listener))));
                }
                other => anyhow::bail!(
                    "stats socket {}: {other:?} is not a unix path or an IP address",
                    address.word.text
                ),
            }
        }
    }
    Ok(tasks)
}

/// `stats socket fd@N` or `systemd@NAME`: the inherited sockets, unix or TCP.
fn inherited_listeners(host: &Host) -> anyhow::Result<Vec<ApiListener>> {
    use crate::net::inherit::fd::Bound;
    let mut out = Vec::new();
    for (fd, bound) in crate::net::inherit::stats_sockets(host)? {
        out.push(match bound {
            Bound::Tcp(_) => ApiListener::Tcp(TcpListener::from_std(
                crate::net::inherit::fd::tcp_listener(fd)?,
            )?),
            Bound::Unix(_) => {
                let listener = std::os::unix::net::UnixListener::from(fd);
                listener.set_nonblocking(true)?;
                ApiListener::Unix(UnixListener::from_std(listener)?)
            }
        });
    }
    Ok(out)
}

/// Binds a unix socket at `path`, replacing a stale one left by an earlier
/// run, with `mode` permissions when given.
fn bind_unix(path: &str, options: &BindOptions) -> anyhow::Result<UnixListener> {
    crate::net::unix_socket::UnixBind {
        target: crate::net::unix_socket::UnixTarget::Path(path.into()),
        mode: options.unix_mode,
        user: options.unix_user.clone(),
        group: options.unix_group.clone(),
    }
    .listen()
    .with_context(|| format!("stats socket {path}"))
}

/// The longest command line accepted; HAProxy's buffer is 16 kB too.
const MAX_LINE: usize = 16 * 1024;

/// A `stats socket`'s listening side: a unix path or a TCP address.
pub enum ApiListener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// Accepts clients until the task is dropped, one session task each.
pub async fn serve(
    listener: ApiListener,
    state: Shared,
    exported: Arc<Exported>,
    rules: SessionRules,
) {
    loop {
        // A free slot first: beyond `stats maxconn` clients wait in the
        // backlog, as HAProxy's do. The semaphore is never closed.
        let Ok(slot) = rules.slots.clone().acquire_owned().await else {
            return;
        };
        let accepted = match &listener {
            ApiListener::Unix(l) => l.accept().await.map(|(stream, _)| {
                let (state, exported, rules) = (state.clone(), exported.clone(), rules.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    // `_getsocks` needs the unix stream itself (SCM_RIGHTS).
                    let expose_fd = rules.expose_fd;
                    if let Some(stream) = session(stream, state, rules).await {
                        if expose_fd {
                            crate::net::inherit::handover::answer(stream, &exported).await;
                        }
                    }
                });
            }),
            ApiListener::Tcp(l) => l.accept().await.map(|(stream, _)| {
                let (state, rules) = (state.clone(), rules.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    // No descriptors cross TCP: `_getsocks` just ends it.
                    session(stream, state, rules).await;
                });
            }),
        };
        if let Err(e) = accepted {
            tracing::warn!(error = %e, "runtime API accept failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One client: read a line, run its commands, answer; repeat in prompt
/// mode until `quit`, end of input or the idle timeout. A `_getsocks`
/// command ends the session and gives the stream back, for the caller to
/// hand the listeners over on it (HAProxy closes a session that asks
/// without `expose-fd listeners`; the caller does the same).
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    state: Shared,
    rules: SessionRules,
) -> Option<S> {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read);
    let mut ctx = command::Session {
        level: rules.level,
        prompt: false,
        quit: false,
        experimental: false,
    };
    loop {
        let mut line = Vec::new();
        let read = tokio::time::timeout(
            rules.timeout,
            (&mut lines)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut line),
        )
        .await;
        let line = match read {
            Ok(Ok(0)) | Err(_) => return None,
            Ok(Ok(_)) if !line.ends_with(b"\n") && line.len() >= MAX_LINE => {
                let _ = write.write_all(b"Command line too long.\n\n").await;
                return None;
            }
            Ok(Ok(_)) => String::from_utf8_lossy(&line).into_owned(),
            Ok(Err(_)) => return None,
        };
        // A reload may swap the state between lines, never within one.
        let state = state.load_full();
        let mut out = String::new();
        for words in command::split_line(line.trim_end_matches(['\r', '\n'])) {
            if words.first().map(String::as_str) == Some(crate::net::inherit::handover::COMMAND) {
                let _ = write.write_all(out.as_bytes()).await;
                return Some(lines.into_inner().unsplit(write));
            }
            command::run(&words, &state, &mut ctx, &mut out);
            if ctx.quit {
                break;
            }
        }
        if ctx.quit {
            let _ = write.write_all(out.as_bytes()).await;
            return None;
        }
        if ctx.prompt {
            out.push_str("> ");
        }
        if write.write_all(out.as_bytes()).await.is_err() || !ctx.prompt {
            let _ = write.shutdown().await;
            return None;
        }
    }
}

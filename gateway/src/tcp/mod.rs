//! `mode tcp` (L4): a frontend accepts a connection, runs its `tcp-request
//! connection` rules, inspects the first bytes when it has `tcp-request
//! content` rules ([`inspect`]), picks a backend with the switching rules
//! and a server with the backend's balancing, connects (with `retries` and
//! `option redispatch`), writes a PROXY protocol header when the server
//! asks for one, and copies bytes both ways (`net/tunnel.rs`) until both sides
//! are done or idle too long. One log line per session (`option tcplog`).

pub mod build;
pub mod inspect;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_rules::{Outcome, RuleSet, StreamFacts, TcpVerdict};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::either::Either;

use crate::log::record::LogRecord;
use crate::log::request_log::RequestLogger;
use crate::net::tunnel::{self, IdleLimits, Transferred, TunnelEnd};
use crate::proxy::retry::{self, Attempts, Failed, Failure, Next, RetrySettings};
use crate::stats::counters::FrontendCounters;
use crate::upstream::observe::Observed;
use crate::upstream::{Backend, PickContext, Server, ServerPermit};

/// What a backend needs to serve TCP sessions besides its servers.
pub struct TcpBackendRoute {
    pub backend: Arc<Backend>,
    pub connect_timeout: Option<Duration>,
    /// `option tcp-smart-connect` (applied when there is something to send
    /// at once: bytes read during inspection, a PROXY header, as HAProxy
    /// applies it), `srvtcpka`.
    pub server_socket: crate::net::connect::ServerSocket,
    /// `timeout server`: the server side's inactivity limit.
    pub server_timeout: Duration,
    /// `timeout tunnel`: replaces both inactivity limits once connected.
    pub tunnel_timeout: Option<Duration>,
    pub queue_timeout: Option<Duration>,
    /// The backend's own `tcp-request inspect-delay`.
    pub inspect_delay: Duration,
    /// `retries`, `option redispatch`, the turn-around.
    pub retry: RetrySettings,
}

/// A TCP frontend (or the frontend half of a TCP `listen`).
pub struct TcpFrontend {
    pub name: String,
    pub rules: Arc<RuleSet>,
    pub backends: Arc<HashMap<String, Arc<TcpBackendRoute>>>,
    /// `timeout client`: the client side's inactivity limit.
    pub client_timeout: Duration,
    /// `tcp-request inspect-delay` (zero: content rules decide at once).
    pub inspect_delay: Duration,
    /// How long an `accept-proxy` bind waits for the PROXY header.
    pub proxy_header_timeout: Duration,
    pub logger: Option<Arc<RequestLogger>>,
    /// `option dontlognull`: no log line for a session in which the client
    /// sent nothing (probes, port scans).
    pub dont_log_null: bool,
    pub counters: Arc<FrontendCounters>,
    /// `option clitcpka` / `tcpka`, with the `clitcpka-*` timings.
    pub client_keepalive: Option<switchyard_grammar::ast::proxy::TcpKeepaliveTuning>,
}

/// The session's log line, filled in as it goes.
struct SessionLog {
    record: LogRecord,
    started: Instant,
    /// For `%bc` and `%sc`, once known.
    backend: Option<Arc<Backend>>,
    server: Option<Arc<Server>>,
    /// `option logasap`: the line went out when the server connection was
    /// established; none at the end.
    written: bool,
}

impl TcpFrontend {
    /// Serves one accepted connection to its end; with `accept_proxy` it
    /// must start with a PROXY protocol header.
    pub(crate) async fn session(
        &self,
        mut client: TcpStream,
        peer: SocketAddr,
        accept_proxy: bool,
        open_connections: &(dyn Fn() -> u64 + Send + Sync),
    ) {
        crate::net::keepalive::prepare_client(&client, self.client_keepalive.as_ref());
        let Ok(local) = client.local_addr() else {
            return;
        };
        let (mut src, mut dst) = (peer, local);
        if accept_proxy {
            match switchyard::wire::proxy_protocol::read_header(
                &mut client,
                self.proxy_header_timeout,
            )
            .await
            {
                Ok(Some((from, to))) => (src, dst) = (from, to),
                Ok(None) => {}
                Err(e) => {
                    tracing::info!(frontend = %self.name, client = %peer, "connection refused: {e}");
                    return;
                }
            }
        }
        let facts = StreamFacts {
            src,
            dst,
            payload: &[],
            may_grow: false,
            server: None,
        };
        // A connection refused here is not logged, as in HAProxy.
        if let TcpVerdict::Reject(_) = self.rules.tcp_connection(&self.name, &facts) {
            return;
        }
        self.counters.request_started();
        let mut log = SessionLog {
            record: LogRecord::new(src, dst, &self.name, "", "", ""),
            started: Instant::now(),
            backend: None,
            server: None,
            written: false,
        };
        let counts = Transferred::default();
        let end = self.serve(&mut client, (src, dst), &mut log, &counts).await;
        if end[1] != 'D' {
            // Ended before the tunnel: close without a reset, as HAProxy.
            close_gracefully(&mut client).await;
        }
        log.record.termination = end;
        self.finish(log, &counts, open_connections());
    }

    /// Everything after the connection rules; returns the termination
    /// letters for the log.
    async fn serve(
        &self,
        client: &mut TcpStream,
        (src, dst): (SocketAddr, SocketAddr),
        log: &mut SessionLog,
        counts: &Transferred,
    ) -> [char; 2] {
        let mut buffered = Vec::new();
        if self.rules.has_tcp_content_rules(&self.name) {
            let stage = inspect::Stage::Frontend(&self.name);
            let delay = self.inspect_delay;
            let inspected =
                inspect::inspect(&self.rules, stage, client, (src, dst), delay, buffered).await;
            if let Some(letters) = refused(&inspected) {
                return letters;
            }
            buffered = inspected.buffered;
        }
        let facts = StreamFacts {
            src,
            dst,
            payload: &buffered,
            may_grow: false,
            server: None,
        };
        let backend_name = match self
            .rules
            .decide_stream(&self.name, &facts)
            .map(|d| d.outcome)
        {
            Some(Outcome::Backend(name)) => name,
            _ => return ['S', 'C'],
        };
        log.record.backend = backend_name.clone();
        let Some(route) = self.backends.get(&backend_name).cloned() else {
            return ['S', 'C'];
        };
        log.backend = Some(route.backend.clone());
        if self.rules.has_tcp_backend_content_rules(&backend_name) {
            let stage = inspect::Stage::Backend(&backend_name);
            let delay = route.inspect_delay;
            let inspected =
                inspect::inspect(&self.rules, stage, client, (src, dst), delay, buffered).await;
            if let Some(letters) = refused(&inspected) {
                return letters;
            }
            buffered = inspected.buffered;
        }
        let connect_started = Instant::now();
        let Some((server, permit, mut upstream)) =
            connect(&route, src, !buffered.is_empty(), log).await
        else {
            return ['S', 'C'];
        };
        log.record.t_connect = Some(connect_started.elapsed().as_millis() as u64);
        // `on-marked-down`/`on-marked-up`: the session may be cut (`DD`, `UD`).
        let mut cuts = server.cuts();
        if let Some(header) =
            switchyard::wire::proxy_protocol::header_for(&server.options, src, dst)
        {
            if upstream.write_all(&header).await.is_err() {
                return ['S', 'C'];
            }
        }
        if !buffered.is_empty() {
            if upstream.write_all(&buffered).await.is_err() {
                return ['S', 'D'];
            }
            counts
                .uploaded
                .fetch_add(buffered.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
        if self.logger.as_ref().is_some_and(|l| l.early()) {
            // `option logasap`: the line goes once the server is connected.
            // The process's open connections are not known here: the
            // frontend's stand for them.
            let open = self
                .counters
                .current
                .load(std::sync::atomic::Ordering::Relaxed);
            self.write_log(log, counts, open);
            log.written = true;
        }
        let limits = IdleLimits::new(
            self.client_timeout,
            route.server_timeout,
            route.tunnel_timeout,
        );
        let end = tokio::select! {
            end = tunnel::run(client, &mut upstream, limits, counts) => end,
            why = cuts.cut() => return [why.letter(), 'D'],
        };
        drop(permit);
        if matches!(end, TunnelEnd::ServerError) {
            server.record_failure();
        }
        end.letters()
    }

    /// Writes the session's line; `open_connections`: the process's
    /// connections now (`%ac`).
    fn finish(&self, mut log: SessionLog, counts: &Transferred, open_connections: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let downloaded = counts.downloaded.load(Relaxed);
        self.counters.session_finished(downloaded);
        if self.dont_log_null && counts.uploaded.load(Relaxed) == 0 {
            return;
        }
        if !log.written {
            self.write_log(&mut log, counts, open_connections);
        }
    }

    /// The session's line, with what was transferred so far.
    fn write_log(&self, log: &mut SessionLog, counts: &Transferred, open_connections: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let Some(logger) = &self.logger else { return };
        let elapsed = log.started.elapsed().as_millis() as u64;
        log.record.bytes_read = counts.downloaded.load(Relaxed);
        log.record.bytes_uploaded = counts.uploaded.load(Relaxed);
        log.record.t_active = elapsed;
        log.record.t_total = elapsed;
        // `%fc` counts this session, still open; `%bc` and `%sc` no
        // longer do once its server slot is free, as in HAProxy's line.
        log.record.conns_frontend = self.counters.current.load(Relaxed);
        log.record.conns_process = open_connections;
        log.record.conns_backend = log.backend.as_ref().map_or(0, |b| b.requests());
        log.record.conns_server = log.server.as_ref().map_or(0, |s| u64::from(s.in_flight()));
        log.record.early = logger.early() && !log.written;
        logger.log(&log.record);
    }
}

/// The server side of a session: TCP, or a unix socket
/// (`server NAME unix@PATH`).
type ServerSide = Either<TcpStream, tokio::net::UnixStream>;

/// Shuts the client's receiving side down after reading what it already
/// sent, so that closing sends a FIN rather than a reset.
async fn close_gracefully(client: &mut TcpStream) {
    let _ = client.shutdown().await;
    let mut sink = [0u8; 4096];
    let drain = async {
        while let Ok(n) = client.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(100), drain).await;
}

/// The termination letters when content inspection ends the session.
fn refused(inspected: &inspect::Inspected) -> Option<[char; 2]> {
    if let TcpVerdict::Reject(_) = inspected.verdict {
        // HAProxy's "PR": the proxy refused the connection.
        return Some(['P', 'R']);
    }
    // The client left before sending anything: "CR".
    (inspected.client_done && inspected.buffered.is_empty()).then_some(['C', 'R'])
}

/// Picks a server and connects to it, retrying connection failures as
/// the HTTP path does (`proxy/retry.rs` decides).
async fn connect(
    route: &TcpBackendRoute,
    src: SocketAddr,
    buffered: bool,
    log: &mut SessionLog,
) -> Option<(Arc<Server>, ServerPermit, ServerSide)> {
    let headers = http::HeaderMap::new();
    let ctx = PickContext {
        client: src.ip(),
        target: "",
        headers: &headers,
    };
    let mut avoid = Vec::new();
    let mut previous: Option<Arc<Server>> = None;
    let mut attempts = Attempts::default();
    let mut next: Option<Next> = None;
    loop {
        let server = match (next, &previous) {
            (None, _) => route.backend.pick(&ctx, &avoid),
            (Some(Next::Same { pause }), Some(last)) => {
                retry::turn_around(pause).await;
                Some(last.clone())
            }
            (Some(Next::Elsewhere { pause }), _) => {
                retry::turn_around(pause).await;
                route.backend.pick(&ctx, &avoid)
            }
            _ => None,
        }?;
        if let Some(last) = &previous {
            retry::count(last, &server);
        }
        previous = Some(server.clone());
        log.server = Some(server.clone());
        log.record.server = server.name.clone();
        log.record.server_addr = Some(server.addr());
        log.record.retries = attempts.retries() as u32;
        log.record.redispatched |= matches!(next, Some(Next::Elsewhere { .. }));
        let queued = Instant::now();
        let permit = server
            .acquire(route.queue_timeout, &route.backend.queue_positions)
            .await
            .ok()?;
        log.record.t_queue = Some(queued.elapsed().as_millis() as u64);
        log.record.backend_queue = u64::from(permit.queue_position);
        let first_bytes =
            buffered || switchyard::wire::proxy_protocol::sends_header(&server.options);
        let socket = crate::net::connect::ServerSocket {
            smart_connect: route.server_socket.smart_connect && first_bytes,
            ..route.server_socket
        };
        let attempt_connect = async {
            match &server.unix {
                Some(unix) => unix.connect().await.map(Either::Right),
                None => crate::net::connect::connect(server.addr(), socket)
                    .await
                    .map(Either::Left),
            }
        };
        let connected = match route.connect_timeout {
            Some(limit) => tokio::time::timeout(limit, attempt_connect)
                .await
                .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into())),
            None => attempt_connect.await,
        };
        let e = match connected {
            Ok(stream) => {
                server.observer.report(Observed::Connected);
                return Some((server, permit, stream));
            }
            Err(e) => e,
        };
        tracing::debug!(server = %server.name, error = %e, "connect failed");
        server.record_failure();
        server.observer.report(Observed::ConnectFailed);
        avoid.push(server.index);
        let how = if e.kind() == std::io::ErrorKind::TimedOut {
            Failure::ConnectTimeout
        } else {
            Failure::ConnectError
        };
        next = Some(attempts.after_failure(&route.retry, Failed::at(how, &route.backend, &server)));
    }
}

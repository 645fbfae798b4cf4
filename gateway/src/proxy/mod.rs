//! The request path of an HTTP frontend: decide (rules), choose a server
//! (persistence, balancing), forward with retries, and pass the response
//! back. Policy lives in the `rules` crate and in `upstream/`; this module
//! only sequences it, in HAProxy's order.

pub mod client_side;
pub mod connection_mode;
pub mod extended_connect;
pub mod forwardfor;
pub mod framing;
pub mod header_names;
pub mod http_error;
pub mod request_checks;
pub mod retry;
pub mod routing;
pub mod rules_router;
pub mod upgrade;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::{HeaderValue, Request, Response};
use switchyard_grammar::ast::proxy::{HeaderNamePolicy, HttpReuse};

use crate::log::termination;
use crate::message::body::{BodyEnd, IdleLimit, ProxyBody};
use crate::message::error_page::ErrorPages;
use crate::message::response::{FieldsMut, ProxyResponse};
use crate::net::connect::ServerSocket;
use crate::net::tls::upstream::TlsTarget;
use crate::proxy::client_side::ClientTimeouts;
use crate::proxy::routing::{Router, Verdict};
use crate::upstream::pool::{ConnectionPool, PooledConn, SendError};
use crate::upstream::server_body::ServerBody;
use crate::upstream::{Backend, PickContext, ServerPermit};
use connection_mode::ConnectionMode;
use forwardfor::ForwardForPolicy;
use retry::{is_idempotent, redispatch_now, RetryPolicy, SentFailure};
use switchyard::wire::h1::response_head::Framing;
use switchyard::wire::h1::{chunked, hop_by_hop};
use switchyard_rules::decision::PersistOverride;

/// One client connection, as the request path needs to know it.
pub struct ClientConn {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// The TLS facts of a connection accepted on `bind … ssl`.
    pub tls: Option<Box<switchyard_rules::TlsFacts>>,
    requests: AtomicU64,
    /// Requests whose response has not been passed on yet.
    in_flight: std::sync::atomic::AtomicU32,
    /// Since when the connection has been idle, and who to wake when it
    /// becomes so (see `client_io`): one lock for both, taken once per
    /// request.
    idle: std::sync::Mutex<Idle>,
    /// The client speaks HTTP/2 (seen from its preface).
    http2: std::sync::atomic::AtomicBool,
    /// A reload happened: the next response closes the connection.
    closing: std::sync::atomic::AtomicBool,
    /// The client socket's descriptor, for `-d`'s trace (-1: none).
    pub trace_fd: i32,
    /// The client's address as `option forwardfor` adds it, once needed.
    /// Boxed: most connections never need it, and every connection would
    /// carry its 64 bytes (`OnceBox`: one pointer, where a `OnceLock` of a
    /// box is two words).
    forwarded: once_cell::race::OnceBox<forwardfor::ForwardedClient>,
    /// Its own idle server connection, with `http-reuse never` only.
    own_server: once_cell::race::OnceBox<Arc<crate::upstream::pool::PrivateSlot>>,
    /// Counted among the process's and the frontend's connections, when
    /// the frontend logs them (`%ac`, `%fc`).
    counted: Option<Box<dyn crate::log::request_log::OpenConnections>>,
}

/// A client connection between requests.
struct Idle {
    since: tokio::time::Instant,
    waker: Option<std::task::Waker>,
}

impl ClientConn {
    pub fn new(peer: SocketAddr, local: SocketAddr) -> Self {
        ClientConn {
            peer,
            local,
            tls: None,
            requests: AtomicU64::new(0),
            in_flight: std::sync::atomic::AtomicU32::new(0),
            idle: std::sync::Mutex::new(Idle {
                since: tokio::time::Instant::now(),
                waker: None,
            }),
            http2: std::sync::atomic::AtomicBool::new(false),
            closing: std::sync::atomic::AtomicBool::new(false),
            trace_fd: -1,
            forwarded: once_cell::race::OnceBox::new(),
            own_server: once_cell::race::OnceBox::new(),
            counted: None,
        }
    }

    /// The same connection, counted for `%ac` and `%fc`.
    pub fn counted(mut self, counted: Box<dyn crate::log::request_log::OpenConnections>) -> Self {
        self.counted = Some(counted);
        self
    }

    /// The same connection, TLS-terminated with `facts`.
    pub fn with_tls(mut self, facts: switchyard_rules::TlsFacts) -> Self {
        self.tls = Some(Box::new(facts));
        self
    }

    /// When no request is in progress: how many requests the connection
    /// has started so far (which idle period this is) and since when it
    /// has been waiting for the next one.
    pub fn waiting(&self) -> Option<(u64, tokio::time::Instant)> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let since = self.idle().since;
        Some((self.requests.load(Ordering::Relaxed), since))
    }

    pub(crate) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn request_finished(&self) {
        let mut idle = self.idle();
        idle.since = tokio::time::Instant::now();
        if self.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
            if let Some(waker) = idle.waker.take() {
                drop(idle);
                waker.wake();
            }
        }
    }

    pub fn set_http2(&self) {
        self.http2.store(true, Ordering::Relaxed);
    }

    pub fn is_http2(&self) -> bool {
        self.http2.load(Ordering::Relaxed)
    }

    /// After a reload: answer the next request with `Connection: close`.
    pub fn close_after_next_response(&self) {
        self.closing.store(true, Ordering::Relaxed);
    }

    /// Whether responses now say `Connection: close`.
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Relaxed)
    }

    /// Asks to be woken when no request is in progress any more.
    pub fn wake_when_idle(&self, waker: &std::task::Waker) {
        let mut idle = self.idle();
        match idle.waker.as_ref() {
            Some(w) if w.will_wake(waker) => {}
            _ => idle.waker = Some(waker.clone()),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The client's address for `option forwardfor`, formatted once.
    pub(crate) fn forwarded_client(&self) -> &forwardfor::ForwardedClient {
        self.forwarded
            .get_or_init(|| Box::new(forwardfor::ForwardedClient::new(self.peer.ip())))
    }

    /// The slot of its own server connection (`http-reuse never`).
    pub(crate) fn own_server(&self) -> &Arc<crate::upstream::pool::PrivateSlot> {
        self.own_server.get_or_init(Box::default)
    }

    /// Counts a request; true for the first of the connection.
    pub(crate) fn first_request(&self) -> bool {
        self.requests.fetch_add(1, Ordering::Relaxed) == 0
    }
}

/// What a backend needs on the request path besides its servers.
pub struct BackendRoute {
    pub backend: Arc<Backend>,
    pub forwardfor: Option<ForwardForPolicy>,
    pub errors: ErrorPages,
    pub connect_timeout: Option<Duration>,
    /// `option tcp-smart-connect`, `srvtcpka`.
    pub server_socket: ServerSocket,
    /// `option http-server-close` / `httpclose` in the backend.
    pub connection_mode: ConnectionMode,
    pub server_timeout: Option<Duration>,
    pub queue_timeout: Option<Duration>,
    pub retries: u64,
    pub redispatch: bool,
    pub retry_on: RetryPolicy,
    pub tunnel_timeout: Option<Duration>,
    /// The backend's `option http-restrict-req-hdr-names`.
    pub header_names: HeaderNamePolicy,
    /// `http-reuse`: which idle server connections a request may take.
    pub http_reuse: HttpReuse,
}

impl BackendRoute {
    /// How long an upgraded connection may stay silent: `timeout tunnel`,
    /// else the longer of the client and server timeouts (HAProxy applies
    /// each to its side; a tunnel with either side still talking stays).
    pub fn tunnel_idle(&self, client: &ClientTimeouts) -> Option<Duration> {
        self.tunnel_timeout
            .or(match (client.client, self.server_timeout) {
                (Some(c), Some(s)) => Some(c.max(s)),
                _ => None,
            })
    }
}

/// An HTTP frontend (or the frontend half of a `listen`).
pub struct HttpProxy {
    pub name: String,
    pub counters: Arc<crate::stats::counters::FrontendCounters>,
    pub stats: Option<Arc<crate::stats::StatsPage>>,
    /// The pages of backend sections with `stats enable`, by backend.
    pub backend_stats: Arc<HashMap<String, Arc<crate::stats::StatsPage>>>,
    /// Every proxy's counters (the Prometheus exporter).
    pub views: Arc<Vec<crate::stats::ProxyView>>,
    pub logger: Option<Arc<crate::log::request_log::RequestLogger>>,
    pub router: Arc<dyn Router>,
    pub backends: Arc<rustc_hash::FxHashMap<String, Arc<BackendRoute>>>,
    pub pool: Arc<ConnectionPool>,
    pub errors: ErrorPages,
    pub forwardfor: Option<ForwardForPolicy>,
    /// The frontend's `option http-restrict-req-hdr-names`.
    pub header_names: HeaderNamePolicy,
    /// `option http-server-close` / `httpclose` in the frontend.
    pub connection_mode: ConnectionMode,
    /// `option clitcpka` / `tcpka` in the frontend, with the `clitcpka-*`
    /// timings.
    pub client_keepalive: Option<switchyard_grammar::ast::proxy::TcpKeepaliveTuning>,
    /// 400 and 408 as the connection writes them itself.
    /// What every client connection of the frontend shares (one pointer
    /// per connection instead of a copy).
    pub client_side: Arc<crate::proxy::client_side::ClientSide>,
}

/// Why one attempt to reach a server did not give a response.
enum AttemptError {
    /// Nothing was sent: try again, maybe elsewhere (with the request, when
    /// it came back).
    Connect(Option<Box<Request<ProxyBody>>>),
    /// A reused connection turned out closed by the server: the request
    /// goes once more to the same server, on a new connection (HAProxy's
    /// `http-reuse` lets the client retry instead; the effect is the same).
    Stale(Box<Parts>),
    /// The request was sent and no valid response came back: how (`None`
    /// when no `retry-on` keyword covers it), and the status to answer.
    Sent {
        failure: Option<SentFailure>,
        status: u16,
    },
}

impl HttpProxy {
    pub fn client_timeouts(&self) -> ClientTimeouts {
        self.client_side.timeouts
    }

    /// Serves one request; the connection counts it as in progress until
    /// its response has been passed on, when its log line is written.
    ///
    /// The head comes boxed and stays so down to the exchange: each
    /// `async fn` it passes through keeps room for its arguments twice
    /// (as argument and as local), and the request future is moved into
    /// its box per request, so 224 bytes by value cost kilobytes.
    pub async fn handle(
        &self,
        parts: Box<Parts>,
        body: ProxyBody,
        conn: &Arc<ClientConn>,
    ) -> ProxyResponse {
        conn.request_started();
        self.counters.request_started();
        let http1 = parts.version < http::Version::HTTP_2;
        let head_request = parts.method == http::Method::HEAD;
        let mut response = self.handle_logged(parts, body, conn).await;
        let closing = conn.closing.load(Ordering::Relaxed);
        if http1
            && (closing || self.connection_mode.closes_client())
            && response.status() != http::StatusCode::SWITCHING_PROTOCOLS
        {
            if !closing {
                // `option httpclose`: this response is the connection's last.
                conn.close_after_next_response();
            }
            response.close_connection();
        } else if http1 && response.says_close() {
            // An error page or a rule said so: hyper closes after this
            // response, and so must the parked path (`front/parked.rs`).
            conn.close_after_next_response();
        } else if http1 && response.is_http10() {
            // A server's HTTP/1.0 response goes out as HTTP/1.0, as HAProxy
            // passes it: its body, when no length says where it ends, ends
            // with the connection; otherwise the connection stays, which
            // HTTP/1.0 must be told.
            if response.http10_until_close(head_request) {
                conn.close_after_next_response();
            } else {
                response.append_field(
                    http::header::CONNECTION,
                    HeaderValue::from_static("keep-alive"),
                );
            }
        }
        let end = RequestEnd {
            conn: conn.clone(),
            counters: self.counters.clone(),
            status: response.status().as_u16(),
        };
        response.map_body(|body| body.with_end(Box::new(end)))
    }

    async fn handle_logged(
        &self,
        parts: Box<Parts>,
        body: ProxyBody,
        conn: &Arc<ClientConn>,
    ) -> ProxyResponse {
        let Some(logger) = self.logger.clone() else {
            return self.handle_inner(parts, body, conn, &mut None).await;
        };
        // Boxed: the draft is hundreds of bytes the request future would
        // otherwise carry (and copy) even when nothing is logged.
        let draft = Box::new(LogDraft::new(&parts, conn, &self.name, logger.needs));
        // `%U` counts the request's body as it is read.
        let body = match &draft.uploaded {
            Some(uploaded) => body.with_end(Box::new(UploadEnd(uploaded.clone()))),
            None => body,
        };
        let mut draft = Some(draft);
        let response = self.handle_inner(parts, body, conn, &mut draft).await;
        let mut draft = draft.expect("still there");
        if draft.needs.bytes && draft.response_head.is_none() {
            // The gateway's own answer, counted as it is.
            draft.response_head = Some(response.htx_size());
        }
        let end = LogEnd {
            conn: draft.needs.connections.then(|| conn.clone()),
            logger,
            draft,
            status: response.status().as_u16(),
        };
        if end.logger.early() {
            // `option logasap`: the line goes now, with the response head;
            // no byte of the body has been sent yet.
            Box::new(end).finished(true, 0);
            return response;
        }
        // First: the line reads the server's load with this request's slot
        // still held, as HAProxy reads it before the request leaves.
        response.map_body(|body| body.with_first_end(Box::new(end)))
    }

    async fn handle_inner(
        &self,
        mut parts: Box<Parts>,
        body: ProxyBody,
        conn: &ClientConn,
        draft: &mut Option<Box<LogDraft>>,
    ) -> ProxyResponse {
        let first = conn.first_request();
        let trace = crate::log::debug_trace::stream();
        if let Some(stream) = trace {
            crate::log::debug_trace::request(stream, &self.name, conn.trace_fd, &parts);
        }
        if let Err(refusal) = request_checks::check(&parts) {
            tracing::debug!(?refusal, "request refused");
            ended(draft, termination::PROXY_REFUSED);
            return self.errors.response(refusal.status()).into();
        }
        ensure_host(&mut parts);
        if let Some(stats) = self.stats.as_ref().filter(|s| s.matches(target_of(&parts))) {
            ended(draft, termination::LOCAL);
            return self.stats_page(stats, &parts, conn, body).await.into();
        }
        let (backend_name, persist_override) = match self.router.route(&mut parts, conn) {
            Verdict::Respond { response, denied } => {
                let how = if denied {
                    termination::PROXY_REFUSED
                } else {
                    termination::LOCAL
                };
                ended(draft, how);
                return response.into();
            }
            Verdict::NoBackend => {
                ended(draft, termination::NO_SERVER);
                return self.errors.response(503).into();
            }
            Verdict::Service(name) => {
                ended(draft, termination::LOCAL);
                return self.service(&name).into();
            }
            Verdict::Backend(name, persist) => (name, persist),
        };
        // `stats enable` in a backend section: its page, once routed there
        // (most configurations have none: no lookup then).
        let backend_stats = (!self.backend_stats.is_empty())
            .then(|| self.backend_stats.get(&backend_name))
            .flatten();
        if let Some(stats) = backend_stats.filter(|s| s.matches(target_of(&parts))) {
            ended(draft, termination::LOCAL);
            return self.stats_page(stats, &parts, conn, body).await.into();
        }
        if let Some(d) = draft.as_mut() {
            d.record.backend = backend_name.clone();
        }
        let Some(route) = self.backends.get(&backend_name).cloned() else {
            ended(draft, termination::NO_SERVER);
            return self.errors.response(503).into();
        };
        // `option http-restrict-req-hdr-names`: the frontend's, then the
        // backend's, once the rules have run.
        for policy in [self.header_names, route.header_names] {
            if header_names::restrict(policy, &mut parts.headers).is_err() {
                ended(draft, termination::PROXY_REFUSED);
                return self.errors.response(403).into();
            }
        }
        if let Some(policy) = route.forwardfor.as_ref().or(self.forwardfor.as_ref()) {
            policy.apply(conn.forwarded_client(), &mut parts.headers);
        }
        // RFC 8441: an HTTP/2 client's upgrade (WebSocket or another
        // protocol) reaches the server as an HTTP/1.1 one (its stream has
        // no body, the tunnel follows); `exchange` makes it an extended
        // CONNECT again for an HTTP/2 server.
        let upgrade_over_h2 = extended_connect::is_extended_connect(&parts);
        let body = if upgrade_over_h2 {
            extended_connect::to_h1_handshake(&mut parts);
            ProxyBody::Empty
        } else {
            body
        };
        let upgrade_to = upgrade::requested(&parts);
        if upgrade_to.is_some() && upgrade::websocket_without_key(&parts.headers) {
            // HAProxy refuses a WebSocket handshake the server could not
            // answer (RFC 6455 §4.1: the key is required).
            ended(draft, termination::PROXY_REFUSED);
            return self.errors.response(400).into();
        }
        let tunnel_asked = upgrade_to.is_some() || parts.method == http::Method::CONNECT;
        let mut client_upgrade = tunnel_asked
            .then(|| parts.extensions.remove::<hyper::upgrade::OnUpgrade>())
            .flatten();
        hop_by_hop::strip_request(&mut parts.headers);
        let close_server = self.connection_mode.closes_server(route.connection_mode);
        match upgrade_to {
            Some(protocol) => upgrade::restore(&mut parts.headers, protocol),
            // `http-server-close`/`httpclose`: the server is told, and the
            // connection is not kept (`forward`).
            None if close_server => {
                parts
                    .headers
                    .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            }
            None => {}
        }
        let kept = self
            .router
            .has_response_rules(&backend_name)
            .then(|| Box::new(clone_parts(&parts)));
        let response = self
            .forward(
                &route,
                parts,
                body,
                conn,
                Attempt {
                    reuse: !first,
                    close_server,
                    persist: persist_override,
                    trace,
                    served_by: kept.is_some(),
                },
                &mut client_upgrade,
                draft,
            )
            .await;
        let Some(request) = kept else { return response };
        let mut response = response;
        self.router
            .on_response(&backend_name, &request, conn, &mut response);
        response
    }

    async fn stats_page(
        &self,
        stats: &crate::stats::StatsPage,
        parts: &Parts,
        conn: &ClientConn,
        body: ProxyBody,
    ) -> Response<ProxyBody> {
        let admin = stats.admin_allowed(&crate::proxy::rules_router::PartsFacts::new(parts, conn));
        stats.serve(parts, admin, body).await
    }

    /// `http-request use-service NAME`.
    fn service(&self, name: &str) -> Response<ProxyBody> {
        match name {
            "prometheus-exporter" => {
                let mut r = Response::new(ProxyBody::full(crate::stats::prometheus::render(
                    &self.views,
                )));
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4"),
                );
                r
            }
            // Refused at startup (process/support.rs); never reached.
            _ => self.errors.response(503),
        }
    }

    /// Sends the request to a server of `route`, retrying as configured.
    ///
    /// The request head is copied only when a later attempt may have to
    /// replay a request already sent (`retry-on` beyond `conn-failure`);
    /// otherwise it moves into the attempt, and an HTTP/1 request that was
    /// never written comes back for the next one.
    #[allow(clippy::too_many_arguments)]
    async fn forward(
        &self,
        route: &BackendRoute,
        mut parts: Box<Parts>,
        body: ProxyBody,
        conn: &ClientConn,
        attempt: Attempt,
        client_upgrade: &mut Option<hyper::upgrade::OnUpgrade>,
        draft: &mut Option<Box<LogDraft>>,
    ) -> ProxyResponse {
        if let Some(d) = draft.as_mut().filter(|d| d.needs.backend_load) {
            d.backend = Some(route.backend.clone());
        }
        let mut reuse = true;
        let attempt_first = !attempt.reuse;
        let attempt_trace = attempt.trace;
        let attempt_served_by = attempt.served_by;
        let close_server = attempt.close_server;
        // Servers see HTTP/1.1 requests; an HTTP/2 client's target in
        // origin form, an HTTP/1 client's as it sent it (HAProxy forwards
        // an absolute-form target as such).
        if parts.version >= http::Version::HTTP_2 {
            framing::origin_form(&mut parts);
        }
        parts.version = http::Version::HTTP_11;
        let bodiless = body_is_empty(&body);
        if !bodiless {
            framing::announce_unsized_body(&mut parts.headers);
        }
        // A bodiless request can be replayed after it was sent; one with a
        // body only while nothing was sent (connection failures).
        let replayable = bodiless && is_idempotent(&parts.method);
        let mut body = Some(if replayable { ProxyBody::Empty } else { body });
        // Persistence: the server the request's cookie names, when usable.
        // `ignore-persist` neither follows the cookie nor sets one (with
        // `indirect`, the server still does not see it, as in HAProxy 2.6).
        let persistence = route
            .backend
            .persistence
            .as_ref()
            .filter(|_| attempt.persist != Some(PersistOverride::Ignore));
        // The clock is read only for a cookie's dates.
        let now = persistence.map_or(0, |_| unix_now());
        let requested = persistence.and_then(|p| {
            p.requested(&parts.headers)
                .filter(|c| p.still_valid(c, now))
        });
        let forced = attempt.persist == Some(PersistOverride::Force);
        let mut sticky = requested
            .as_ref()
            .and_then(|c| route.backend.persisted(&c.server, forced));
        if let (Some(d), Some(p)) = (draft.as_mut(), &route.backend.persistence) {
            d.record.persistence = [
                cookie_request_flag(
                    p,
                    &route.backend,
                    &parts.headers,
                    persistence.is_some(),
                    now,
                ),
                'N',
            ];
        }
        if let Some(p) = &route.backend.persistence {
            p.strip_request(&mut parts.headers);
        }
        let method = parts.method.clone();
        let replay_after_send = replayable && route.retry_on.after_send();
        let mut parts = Some(parts);
        let mut avoid: Vec<usize> = Vec::new();
        let mut last_error = 503;
        // What the log says of the last failure: no server could be
        // reached, until an attempt says otherwise.
        let mut last_failure = termination::NO_SERVER;
        let mut previous: Option<usize> = None;
        // Counted by hand: a stale reused connection's retry is not one of
        // `retries`.
        let mut attempt = 0;
        let mut stale_retry = false;
        while attempt <= route.retries {
            let stale = std::mem::take(&mut stale_retry);
            if !stale && previous.is_some() {
                attempt += 1;
                if attempt > route.retries {
                    break;
                }
            }
            let Some(head) = parts.as_ref() else { break };
            let redispatch = redispatch_now(route.redispatch, attempt, route.retries);
            // A server the request must go to (its cookie's, or the same
            // one again) is waited for in its own queue; one the balancer
            // chose, in the backend's (HAProxy's `%sq` and `%bq`).
            let (server, assigned) = match (sticky.take(), previous) {
                (Some(s), _) if !redispatch => (Some(s), true),
                (_, Some(index)) if !redispatch => (route.backend.server(index), true),
                _ => (
                    route
                        .backend
                        .pick(&PickContext::from_request(head, conn.peer.ip()), &avoid),
                    false,
                ),
            };
            let Some(server) = server else { break };
            if let Some(last) = previous
                .filter(|_| !stale)
                .and_then(|i| route.backend.server(i))
            {
                // Another attempt: a retry on the same server, or the
                // request redispatched away from it.
                let counter = if last.index == server.index {
                    &last.retries
                } else {
                    &last.redispatches
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
            previous = Some(server.index);
            // Times for the log line only: no clock read without one.
            let logging = draft.is_some();
            let attempt_started = logging.then(std::time::Instant::now);
            if let Some(d) = draft.as_mut() {
                d.record.server = server.name.clone();
                d.record.server_addr = Some(server.addr);
                d.record.retries = attempt as u32;
                d.record.redispatched |= redispatch;
            }
            let queue = if assigned {
                &server.queue_positions
            } else {
                &route.backend.queue_positions
            };
            let permit = match server.acquire(route.queue_timeout, queue).await {
                Ok(permit) => permit,
                Err(_) => {
                    ended(draft, termination::QUEUE_TIMEOUT);
                    return route.errors.response_or(&self.errors, 503).into();
                }
            };
            let slot_at = logging.then(std::time::Instant::now);
            if let Some(d) = draft.as_mut() {
                let position = u64::from(permit.queue_position);
                if assigned {
                    (d.record.server_queue, d.record.backend_queue) = (position, 0);
                } else {
                    (d.record.server_queue, d.record.backend_queue) = (0, position);
                }
            }
            // HTTP/1.x only: an HTTP/2 server connection stays (and
            // hyper leaves `Connection` out of HTTP/2 requests).
            let http2 = server.options.proto.as_deref() == Some("h2");
            let closes = close_server && !http2;
            let tls = server.tls.as_ref().map(|tls| TlsTarget {
                tls: tls.clone(),
                sni: tls.sni_for(&head.headers),
            });
            let mut pooled = match self
                .pool
                .checkout(
                    (server.addr, server.unix.as_ref()),
                    reuse_policy(route.http_reuse, reuse && !closes, !attempt_first, conn),
                    (route.connect_timeout, route.server_socket),
                    tls,
                    switchyard::wire::proxy_protocol::header_for(
                        &server.options,
                        conn.peer,
                        conn.local,
                    ),
                    http2,
                )
                .await
            {
                Ok(pooled) => pooled,
                Err(e) => {
                    tracing::debug!(server = %server.name, error = %e, "connect failed");
                    server.record_failure();
                    avoid.push(server.index);
                    last_error = 503;
                    last_failure = termination::NO_SERVER;
                    continue;
                }
            };
            // Closed after this exchange, as the request told the server.
            pooled.private |= closes;
            // Keep a copy only if this request may be needed again after
            // being sent (or could not come back unsent).
            let keep =
                attempt < route.retries && (replay_after_send || !pooled.sender.returns_unsent());
            let request_head = match (keep, parts.take()) {
                (true, Some(head)) => {
                    let copy = Box::new(clone_parts(&head));
                    parts = Some(head);
                    copy
                }
                (_, Some(head)) => head,
                (_, None) => break,
            };
            let request_body = if replayable {
                ProxyBody::Empty
            } else {
                match body.take() {
                    Some(b) => b,
                    None => break,
                }
            };
            let connected = logging.then(std::time::Instant::now);
            // The common exchange is awaited in place; hyper's, with its
            // larger state, is boxed, so that every request's future (moved
            // into its box per request) does not carry room for it.
            let exchanged = if pooled.is_own()
                && own_path_takes(&request_head, &request_body, client_upgrade)
            {
                self.exchange_own(route, pooled, permit, request_head).await
            } else {
                let request = Request::from_parts(*request_head, request_body);
                Box::pin(self.exchange(route, pooled, permit, request, client_upgrade))
                    .await
                    .map(ProxyResponse::from)
            };
            match exchanged {
                // `retry-on 503` and friends: a status worth another try.
                Ok(response)
                    if replayable
                        && attempt < route.retries
                        && route
                            .retry_on
                            .statuses
                            .contains(&response.status().as_u16()) =>
                {
                    last_error = response.status().as_u16();
                    avoid.push(server.index);
                }
                Ok(mut response) => {
                    if let Some(stream) = attempt_trace {
                        crate::log::debug_trace::response(
                            stream,
                            &route.backend.name,
                            conn.trace_fd,
                            response.parts_mut(),
                        );
                    }
                    if let Some(d) = draft.as_mut() {
                        let between = |from: Option<std::time::Instant>, to| {
                            from.zip(to).map(|(from, to): (_, std::time::Instant)| {
                                to.duration_since(from).as_millis() as u64
                            })
                        };
                        d.record.t_queue = between(attempt_started, slot_at);
                        d.record.t_connect = between(slot_at, connected);
                        d.record.t_response = connected.map(|c| c.elapsed().as_millis() as u64);
                        if d.needs.bytes {
                            d.response_head = Some(response.htx_size());
                        }
                        if d.needs.backend_load {
                            // The slot is released by the body's end, unless
                            // the body is already complete.
                            d.served_by = response.ends_pending().then(|| server.clone());
                        }
                    }
                    if attempt_served_by {
                        let id = crate::stats::ids::server_ids(&route.backend)
                            .get(server.index)
                            .copied()
                            .unwrap_or_default();
                        response.insert_extension(crate::proxy::rules_router::ServedBy {
                            name: server.name.clone(),
                            id,
                        });
                    }
                    if let (Some(p), Some(value)) = (persistence, server.cookie.as_deref()) {
                        let status = response.status();
                        let flag = p.on_response(
                            &mut response,
                            value,
                            requested.as_ref(),
                            &method,
                            status,
                            now,
                        );
                        if let Some(d) = draft.as_mut() {
                            d.record.persistence[1] = flag;
                        }
                    }
                    return response;
                }
                Err(AttemptError::Stale(head)) if reuse => {
                    parts.get_or_insert(head);
                    reuse = false;
                    stale_retry = true;
                }
                Err(AttemptError::Stale(_)) => {
                    last_error = 502;
                    last_failure = termination::SERVER_CLOSED;
                    break;
                }
                Err(AttemptError::Connect(unsent)) => {
                    if let Some(request) = unsent {
                        let (head, unsent_body) = (*request).into_parts();
                        parts.get_or_insert_with(|| Box::new(head));
                        if !replayable {
                            body = Some(unsent_body);
                        }
                    }
                    avoid.push(server.index);
                    last_error = 503;
                    last_failure = termination::NO_SERVER;
                }
                Err(AttemptError::Sent { failure, status }) => {
                    server.record_failure();
                    last_error = status;
                    last_failure = match failure {
                        Some(SentFailure::Timeout) => termination::SERVER_TIMEOUT,
                        Some(SentFailure::Junk) => termination::INVALID_RESPONSE,
                        Some(SentFailure::Empty) => termination::SERVER_CLOSED,
                        // The client's own body was malformed (400), or an
                        // answer nobody asked for (502).
                        None if status == 400 => termination::PROXY_REFUSED,
                        None => termination::INVALID_RESPONSE,
                    };
                    let retry = replayable && failure.is_some_and(|f| route.retry_on.covers(f));
                    if !retry {
                        break;
                    }
                    avoid.push(server.index);
                }
            }
        }
        ended(draft, last_failure);
        route.errors.response_or(&self.errors, last_error).into()
    }

    /// One request/response exchange through hyper on `pooled` (requests
    /// with a body, upgrades, `CONNECT`, HTTP/2 servers).
    async fn exchange(
        &self,
        route: &BackendRoute,
        mut pooled: PooledConn,
        permit: ServerPermit,
        request: Request<ProxyBody>,
        client_upgrade: &mut Option<hyper::upgrade::OnUpgrade>,
    ) -> Result<Response<ProxyBody>, AttemptError> {
        if pooled.is_own() {
            // The request path sends the rest to `exchange_own`.
            pooled = match pooled.hand_to_hyper().await {
                Ok(pooled) => pooled,
                Err(e) => {
                    tracing::debug!(error = %e, "server connection not usable");
                    return Err(AttemptError::Connect(Some(Box::new(request))));
                }
            };
        }
        let reused = pooled.reused;
        // An HTTP/1.1 client's upgrade toward an HTTP/2 server: RFC 8441.
        let (mut head, body) = request.into_parts();
        let asked_websocket =
            client_upgrade.is_some() && extended_connect::asks_websocket(&head.headers);
        let client_accept =
            (pooled.is_http2() && client_upgrade.is_some() && head.method != http::Method::CONNECT)
                .then(|| extended_connect::to_extended_connect(&mut head))
                .flatten();
        let request = Request::from_parts(head, body);
        let connect = request.method() == http::Method::CONNECT;
        // From an HTTP/2 client to an HTTP/2 server, the two translations
        // cancel out: the server's 200 is the client's.
        let from_extended_connect = request
            .extensions()
            .get::<extended_connect::FromExtendedConnect>()
            .is_some();
        let h2_both_sides = from_extended_connect && client_accept.is_some();
        let (client_accept, from_extended_connect) = if h2_both_sides {
            (None, false)
        } else {
            (client_accept, from_extended_connect)
        };
        let websocket_over_h2 = request
            .extensions()
            .get::<extended_connect::ExpectedAccept>()
            .filter(|_| !h2_both_sides)
            .cloned();
        // An extended CONNECT waits for the server's SETTINGS: to one that
        // does not allow it (RFC 8441 §3) nothing is sent, and the client
        // gets a 502, as from HAProxy (which resets a stream it never
        // opened; the `h2` crate cannot).
        let extended = request.extensions().get::<hyper::ext::Protocol>().is_some();
        if let Some(settings) = pooled.peer_settings().filter(|_| extended).cloned() {
            if !within_server_timeout(route, settings.connect_protocol()).await? {
                // The connection stays for the server's other requests.
                self.pool.checkin(pooled);
                return Err(AttemptError::Sent {
                    failure: None,
                    status: 502,
                });
            }
        }
        let sent = pooled.sender.send_request(request);
        let result = within_server_timeout(route, sent).await?;
        let mut response = match result {
            Ok(response) => response,
            // Never written (the connection was closed or not ready): the
            // request comes back for another attempt.
            Err(SendError {
                unsent: Some(request),
                ..
            }) => return Err(AttemptError::Connect(Some(Box::new(request)))),
            // A client's request body that turned out malformed (a bad
            // chunk) is the client's fault: 400, as HAProxy answers.
            Err(e) if e.error.as_ref().is_some_and(hyper::Error::is_user) => {
                return Err(AttemptError::Sent {
                    failure: None,
                    status: 400,
                })
            }
            // A reused connection closed by the server between requests:
            // nothing reached it, so this is a connection failure.
            Err(e) if reused && e.error.as_ref().is_some_and(hyper::Error::is_canceled) => {
                return Err(AttemptError::Connect(None))
            }
            Err(e) => {
                tracing::debug!(error = ?e.error, "server exchange failed");
                return Err(AttemptError::Sent {
                    failure: Some(e.error.as_ref().map_or(SentFailure::Empty, SentFailure::of)),
                    status: 502,
                });
            }
        };
        let switched = response.status() == http::StatusCode::SWITCHING_PROTOCOLS
            || (connect && response.status().is_success());
        if switched {
            // The server switched protocols: only for a client that asked
            // (and, for WebSocket over HTTP/2, that proved it read the key).
            // An HTTP/1.1 server's 101 to a WebSocket handshake must carry
            // `Sec-WebSocket-Accept` (RFC 6455 §4.2.2), else 502, as HAProxy.
            let accepted = !asked_websocket
                || client_accept.is_some()
                || h2_both_sides
                || response.headers().contains_key("sec-websocket-accept");
            let proven = accepted
                && websocket_over_h2
                    .as_ref()
                    .is_none_or(|expected| expected.matches(response.headers()));
            let Some(client) = client_upgrade.take().filter(|_| proven) else {
                return Err(AttemptError::Sent {
                    failure: None,
                    status: 502,
                });
            };
            let server = hyper::upgrade::on(&mut response);
            // The connection's task hands the socket over when it ends.
            pooled.detach();
            upgrade::spawn_tunnel(
                client,
                server,
                permit,
                route.tunnel_idle(&self.client_side.timeouts),
            );
            let (mut parts, _) = response.into_parts();
            if from_extended_connect {
                extended_connect::to_h2_answer(&mut parts.status, &mut parts.headers);
            }
            if let Some(accept) = client_accept {
                extended_connect::to_h1_answer(&mut parts.status, &mut parts.headers, accept);
                parts.headers.remove(http::header::CONTENT_LENGTH);
            } else if connect {
                // A 2xx to CONNECT has no body (RFC 9110 §9.3.6): what
                // follows is the tunnel, whatever the server announced.
                parts.headers.remove(http::header::CONTENT_LENGTH);
                parts.headers.remove(http::header::TRANSFER_ENCODING);
            }
            return Ok(Response::from_parts(parts, ProxyBody::Empty));
        }
        let (mut parts, body) = response.into_parts();
        hop_by_hop::strip(&mut parts.headers);
        // An HTTP/2 connection carries other streams while this body still
        // flows: it goes back now. At the body's end it would come back
        // only after the last frame was handed to the client's side, and a
        // client's next request could come first and find none.
        let conn = if pooled.is_http2() && !pooled.private {
            self.pool.checkin(pooled);
            None
        } else {
            Some(pooled)
        };
        let end = ExchangeEnd {
            pool: self.pool.clone(),
            conn,
            _permit: permit,
        };
        Ok(Response::from_parts(
            parts,
            ProxyBody::streamed_with_idle(
                crate::message::body::Source::Hyper(body),
                route.server_timeout.map(|limit| {
                    IdleLimit::new(limit, "timeout server: the server stopped sending")
                }),
            )
            .with_end(Box::new(end)),
        ))
    }
}

impl HttpProxy {
    /// One exchange on a connection the gateway drives itself
    /// (`upstream/server_conn.rs`): a bodiless `GET` or `HEAD`.
    async fn exchange_own(
        &self,
        route: &BackendRoute,
        mut pooled: PooledConn,
        permit: ServerPermit,
        parts: Box<Parts>,
    ) -> Result<ProxyResponse, AttemptError> {
        let Some(conn) = pooled.own_mut() else {
            return Err(AttemptError::Connect(None));
        };
        let result = within_server_timeout(route, conn.send_head(&parts)).await?;
        let head = match result {
            Ok(head) => head,
            // A reused connection the server closed between requests:
            // nothing reached it, so the request goes again.
            Err(e) if pooled.reused && e.nothing_received() => {
                tracing::debug!(error = %e, "reused server connection closed");
                return Err(AttemptError::Stale(parts));
            }
            Err(e) => {
                tracing::debug!(error = %e, "server exchange failed");
                let failure = if e.is_junk() {
                    SentFailure::Junk
                } else {
                    SentFailure::Empty
                };
                return Err(AttemptError::Sent {
                    failure: Some(failure),
                    status: 502,
                });
            }
        };
        // A chunked body already wrong in what came with the head: 502
        // now, rather than a head passed on and a body cut short.
        let chunks_wrong = head.framing == Framing::Chunked
            && pooled
                .own_mut()
                .is_some_and(|c| chunked::Decoder::check_start(&c.buf).is_err());
        if chunks_wrong {
            return Err(AttemptError::Sent {
                failure: Some(SentFailure::Junk),
                status: 502,
            });
        }
        // No hop-by-hop fields: the head was read without them.
        let body = if head.framing == Framing::Empty {
            // Nothing more to read: the connection is free now.
            let conn = head.reusable.then_some(pooled);
            ProxyBody::Empty.with_end(Box::new(ExchangeEnd {
                pool: self.pool.clone(),
                conn,
                _permit: permit,
            }))
        } else {
            let body = ServerBody::new(pooled, self.pool.clone(), head.framing, head.reusable);
            ProxyBody::streamed_with_idle(
                crate::message::body::Source::Server(Box::new(body)),
                route.server_timeout.map(|limit| {
                    IdleLimit::new(limit, "timeout server: the server stopped sending")
                }),
            )
            .with_end(Box::new(ExchangeEnd {
                pool: self.pool.clone(),
                conn: None,
                _permit: permit,
            }))
        };
        Ok(ProxyResponse::from_server(
            head.status,
            head.version,
            head.reason,
            head.fields,
            body,
        ))
    }
}

/// The request's path and query, as `stats uri` and the log see them.
fn target_of(parts: &Parts) -> &str {
    parts.uri.path_and_query().map_or("/", |pq| pq.as_str())
}

/// Waits for a response head no longer than `timeout server` (504).
async fn within_server_timeout<T>(
    route: &BackendRoute,
    response: impl std::future::Future<Output = T>,
) -> Result<T, AttemptError> {
    match route.server_timeout {
        Some(limit) => {
            tokio::time::timeout(limit, response)
                .await
                .map_err(|_| AttemptError::Sent {
                    failure: Some(SentFailure::Timeout),
                    status: 504,
                })
        }
        None => Ok(response.await),
    }
}

/// Whether a request goes on the gateway's own server connection: a
/// bodiless `GET` or `HEAD` that does not ask to switch protocols. The
/// rest (bodies, upgrades, `CONNECT`) is hyper's.
fn own_path_takes(
    head: &Parts,
    body: &ProxyBody,
    client_upgrade: &Option<hyper::upgrade::OnUpgrade>,
) -> bool {
    (head.method == http::Method::GET || head.method == http::Method::HEAD)
        && matches!(body, ProxyBody::Empty)
        && client_upgrade.is_none()
        && !head.headers.contains_key(http::header::UPGRADE)
}

/// Which idle server connection this attempt may take (`http-reuse`):
/// none when `allowed` is false (a retry after a stale one, a connection
/// the request asks to close), else by the backend's policy, `later` for
/// a client connection's requests after its first.
fn reuse_policy(
    policy: HttpReuse,
    allowed: bool,
    later: bool,
    conn: &ClientConn,
) -> crate::upstream::pool::Reuse<'_> {
    use crate::upstream::pool::Reuse;
    match policy {
        HttpReuse::Never if allowed => Reuse::Own(conn.own_server()),
        _ if !allowed => Reuse::New,
        HttpReuse::Never => Reuse::New,
        HttpReuse::Safe if later => Reuse::Any,
        HttpReuse::Safe => Reuse::New,
        HttpReuse::Aggressive if later => Reuse::Any,
        HttpReuse::Aggressive => Reuse::Proven,
        HttpReuse::Always => Reuse::Any,
    }
}

/// How to go about sending one request.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    /// An idle server connection may be reused (`http-reuse safe`: not for
    /// a client connection's first request).
    reuse: bool,
    /// The server connection is not kept after this exchange
    /// (`http-server-close`, `httpclose`).
    close_server: bool,
    /// The backend's `force-persist`/`ignore-persist` verdict.
    persist: Option<PersistOverride>,
    /// The stream number of `-d`'s trace.
    trace: Option<u32>,
    /// `http-response` rules will run: the response carries the server
    /// that answered ([`crate::proxy::rules_router::ServedBy`]).
    served_by: bool,
}

/// Whether a response's `Connection` field has the `close` token.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Notes in the log line how the gateway ended the exchange itself.
fn ended(draft: &mut Option<Box<LogDraft>>, how: [char; 2]) {
    if let Some(d) = draft.as_mut() {
        d.record.termination = how;
    }
}

/// What a log line needs, gathered along the request path.
pub struct LogDraft {
    record: crate::log::record::LogRecord,
    started: std::time::Instant,
    needs: crate::log::request_log::Needs,
    /// `%B`: the response head as HAProxy counts it (`log::htx_size`).
    response_head: Option<u64>,
    /// `%U`: the request head, then its body's bytes as they are read.
    request_head: u64,
    uploaded: Option<Arc<AtomicU64>>,
    /// `%bc`, `%sc`: the backend, and the server whose slot the request
    /// holds until its response has been passed on.
    backend: Option<Arc<Backend>>,
    served_by: Option<Arc<crate::upstream::Server>>,
}

impl LogDraft {
    fn new(
        req: &Parts,
        conn: &ClientConn,
        frontend: &str,
        needs: crate::log::request_log::Needs,
    ) -> LogDraft {
        let version = match req.version {
            http::Version::HTTP_10 => "HTTP/1.0",
            http::Version::HTTP_2 => "HTTP/2.0",
            _ => "HTTP/1.1",
        };
        // As received: an HTTP/1 absolute-form target whole, as HAProxy
        // logs it.
        let absolute = crate::proxy::rules_router::absolute_target(req);
        let uri = absolute.as_deref().unwrap_or_else(|| target_of(req));
        let client = SocketAddr::new(forwardfor::canonical(conn.peer.ip()), conn.peer.port());
        let mut record = crate::log::record::LogRecord::new(
            client,
            conn.local,
            frontend,
            req.method.as_str(),
            uri,
            version,
        );
        record.ssl = conn.tls.is_some();
        let request_head = if needs.bytes {
            request_htx_size(req, uri, version)
        } else {
            0
        };
        LogDraft {
            started: std::time::Instant::now(),
            record,
            needs,
            response_head: None,
            request_head,
            uploaded: needs.bytes.then(Arc::default),
            backend: None,
            served_by: None,
        }
    }

    /// `%bc` and `%sc` now, this request left out as HAProxy leaves it
    /// (it no longer counts once it ends).
    fn backend_load(&self) -> (u64, u64) {
        let own = u64::from(self.served_by.is_some());
        let backend = self
            .backend
            .as_ref()
            .map_or(0, |b| b.requests().saturating_sub(own));
        let server = self
            .served_by
            .as_ref()
            .map_or(0, |s| u64::from(s.in_flight()).saturating_sub(own));
        (backend, server)
    }
}

/// A request head as HAProxy counts it in `%U` (`log::htx_size`), its
/// chunked body's end included.
fn request_htx_size(req: &Parts, uri: &str, version: &str) -> u64 {
    let line = [
        req.method.as_str().as_bytes(),
        uri.as_bytes(),
        version.as_bytes(),
    ];
    let fields = req
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()));
    let chunked = req
        .headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .any(|v| switchyard::wire::h1::lists_token(v.as_bytes(), "chunked"));
    crate::log::htx_size::head(line, fields)
        + if chunked {
            crate::log::htx_size::END_OF_CHUNKED
        } else {
            0
        }
}

/// Counts the request body's bytes for `%U` once it has been read.
struct UploadEnd(Arc<AtomicU64>);

impl BodyEnd for UploadEnd {
    fn finished(self: Box<Self>, _clean: bool, bytes: u64) {
        self.0.store(bytes, Ordering::Relaxed);
    }
}

/// Once a response has been passed on: the client connection may go idle,
/// and the frontend's counters record it.
struct RequestEnd {
    conn: Arc<ClientConn>,
    counters: Arc<crate::stats::counters::FrontendCounters>,
    status: u16,
}

impl BodyEnd for RequestEnd {
    fn finished(self: Box<Self>, _clean: bool, bytes: u64) {
        self.conn.request_finished();
        self.counters.request_finished(self.status, bytes);
    }
}

/// Writes the log line once the response has been passed on.
struct LogEnd {
    logger: Arc<crate::log::request_log::RequestLogger>,
    draft: Box<LogDraft>,
    status: u16,
    /// The connection, for `%ac` and `%fc`.
    conn: Option<Arc<ClientConn>>,
}

impl BodyEnd for LogEnd {
    fn finished(self: Box<Self>, clean: bool, bytes: u64) {
        let mut draft = *self.draft;
        if draft.needs.backend_load {
            (draft.record.conns_backend, draft.record.conns_server) = draft.backend_load();
        }
        let mut record = draft.record;
        if let Some(counted) = self.conn.as_ref().and_then(|c| c.counted.as_ref()) {
            (record.conns_process, record.conns_frontend) = (counted.process(), counted.frontend());
        }
        record.status = Some(self.status);
        record.bytes_read = draft.response_head.unwrap_or(0) + bytes;
        record.bytes_uploaded = draft.request_head
            + draft
                .uploaded
                .as_ref()
                .map_or(0, |u| u.load(Ordering::Relaxed));
        record.early = self.logger.early();
        let elapsed = draft.started.elapsed().as_millis() as u64;
        record.t_active = elapsed;
        record.t_total = elapsed;
        if !clean {
            // The client or the server went away during the body.
            record.termination = ['C', 'D'];
        }
        self.logger.log(&record);
    }
}

/// Returns the server connection to the pool and frees the server slot when
/// the response body has been passed on.
struct ExchangeEnd {
    pool: Arc<ConnectionPool>,
    conn: Option<PooledConn>,
    _permit: ServerPermit,
}

impl BodyEnd for ExchangeEnd {
    fn finished(mut self: Box<Self>, clean: bool, _bytes: u64) {
        if let (true, Some(conn)) = (clean, self.conn.take()) {
            self.pool.checkin(conn);
        }
    }
}

fn body_is_empty(body: &ProxyBody) -> bool {
    use hyper::body::Body;
    body.is_end_stream() || body.size_hint().exact() == Some(0)
}

fn clone_parts(parts: &Parts) -> Parts {
    let mut builder = Request::builder()
        .method(parts.method.clone())
        .uri(parts.uri.clone())
        .version(parts.version);
    if let Some(headers) = builder.headers_mut() {
        *headers = parts.headers.clone();
    }
    builder
        .body(())
        .expect("parts from a valid request")
        .into_parts()
        .0
}

/// `Host` for HTTP/2 clients, who send `:authority` instead.
/// (An origin-form target, HTTP/1's usual one, has no authority: no
/// lookup then.)
pub fn ensure_host(parts: &mut Parts) {
    let Some(authority) = parts.uri.authority() else {
        return;
    };
    if !parts.headers.contains_key(http::header::HOST) {
        if let Ok(value) = HeaderValue::from_str(authority.as_str()) {
            parts.headers.insert(http::header::HOST, value);
        }
    }
}

/// The request's cookie letter of `%tsc`: `N` none (or `ignore-persist`),
/// `O`/`E` expired, `I` naming no server, `D` naming a DOWN one, `V` valid.
fn cookie_request_flag(
    persistence: &crate::upstream::persist::Persistence,
    backend: &crate::upstream::Backend,
    headers: &http::HeaderMap,
    applied: bool,
    now: i64,
) -> char {
    if !applied {
        return 'N';
    }
    let cookie = persistence.requested(headers);
    if let Some(flag) = persistence.expired_flag(cookie.as_ref(), now) {
        return flag;
    }
    let named = cookie.as_ref().and_then(|c| {
        backend
            .servers
            .iter()
            .find(|s| s.cookie.as_deref() == Some(c.server.as_str()))
    });
    match named {
        None => 'I',
        Some(server) if !server.is_up() || server.in_maintenance() => 'D',
        Some(_) => 'V',
    }
}

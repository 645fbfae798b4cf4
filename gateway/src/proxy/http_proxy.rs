//! What the request path is built from, once per configuration
//! generation: an HTTP frontend ([`HttpProxy`]: its router, pages, logger,
//! pool and options) and, per backend it may route to, a [`BackendRoute`]
//! (servers, timeouts, retries, reuse). `process/runtime.rs` builds them;
//! the request path only reads them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use switchyard_grammar::ast::proxy::{HeaderNamePolicy, HttpReuse};

use crate::message::error_page::ErrorPages;
use crate::net::connect::ServerSocket;
use crate::proxy::client_side::ClientTimeouts;
use crate::proxy::routing::Router;
use crate::upstream::pool::ConnectionPool;
use crate::upstream::Backend;

use super::connection_mode::ConnectionMode;
use super::forwardfor::ForwardForPolicy;
use super::retry::RetrySettings;

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
    /// `retries`, `option redispatch`, `retry-on`, the turn-around.
    pub retry: RetrySettings,
    pub tunnel_timeout: Option<Duration>,
    /// The backend's `option http-restrict-req-hdr-names`.
    pub header_names: HeaderNamePolicy,
    /// `http-reuse`: which idle server connections a request may take.
    pub http_reuse: HttpReuse,
    /// As [`HttpProxy::dynamic_errors`], for the backend's messages.
    pub dynamic_errors: bool,
    /// `option abortonclose`: a request whose client closed is given up
    /// while it waits for a server (`abort.rs`).
    pub abort_on_close: bool,
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
    /// `monitor-uri` (and `monitor fail`): the frontend's own health answer.
    pub monitor: Option<crate::proxy::monitor::Monitor>,
    /// The frontend has an `http-error` message with log-format parts for
    /// an error the gateway answers outside the rules
    /// ([`crate::proxy::http_error::OUTSIDE_RULES`]): the request head is
    /// kept for it.
    pub dynamic_errors: bool,
}

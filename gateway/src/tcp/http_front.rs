//! The layer-4 step in front of an HTTP frontend: for binds with
//! `accept-proxy` or frontends with `tcp-request connection` rules, each
//! accepted connection first gives its PROXY protocol header (whose
//! addresses the request path then sees as the client's: rules, logs,
//! X-Forwarded-For) and passes the connection rules, before hyper serves
//! it as usual.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use switchyard_rules::{RuleSet, StreamFacts, TcpVerdict};
use tokio::net::{TcpListener, TcpStream};

use crate::proxy::HttpProxy;

/// `accept-proxy` without a request or client timeout: a header is a few
/// bytes.
const HEADER_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);

/// What runs before HTTP on one listening address.
pub struct HttpL4 {
    pub frontend: String,
    pub rules: Arc<RuleSet>,
    /// `bind … accept-proxy`.
    pub accept_proxy: bool,
}

/// Accepts connections until the task is dropped; each passes the L4 step
/// and is then served as HTTP.
pub async fn serve(listener: TcpListener, proxy: Arc<HttpProxy>, l4: Arc<HttpL4>) {
    let limit = match proxy.client_timeouts().http_request {
        // Nothing configured (the runtime's one-day stand-in for "never").
        t if t >= Duration::from_secs(86_400) => HEADER_TIMEOUT_DEFAULT,
        t => t,
    };
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (proxy, l4) = (proxy.clone(), l4.clone());
        tokio::spawn(async move {
            if let Some((stream, src, dst)) = l4.admit(stream, peer, limit).await {
                crate::listener::serve_accepted(stream, src, dst, proxy).await;
            }
        });
    }
}

impl HttpL4 {
    /// The connection and its client and destination addresses, or `None`
    /// when it is refused (bad PROXY header, a `reject` rule).
    async fn admit(
        &self,
        mut stream: TcpStream,
        peer: SocketAddr,
        limit: Duration,
    ) -> Option<(TcpStream, SocketAddr, SocketAddr)> {
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().ok()?;
        // Connection rules see the real connection, as in HAProxy (only
        // later stages see the PROXY header's addresses).
        let facts = StreamFacts {
            src: peer,
            dst: local,
            payload: &[],
            may_grow: false,
        };
        if let TcpVerdict::Reject(_) = self.rules.tcp_connection(&self.frontend, &facts) {
            return None;
        }
        let (mut src, mut dst) = (peer, local);
        if self.accept_proxy {
            match crate::proxy_protocol::read_header(&mut stream, limit).await {
                Ok(Some(addrs)) => (src, dst) = addrs,
                Ok(None) => {}
                Err(e) => {
                    tracing::info!(frontend = %self.frontend, client = %peer, "connection refused: {e}");
                    return None;
                }
            }
        }
        Some((stream, src, dst))
    }
}

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
use tokio::net::TcpStream;

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

impl HttpL4 {
    /// The connection and its client and destination addresses, or `None`
    /// when it is refused (bad PROXY header, a `reject` rule).
    pub(crate) async fn admit(
        &self,
        mut stream: TcpStream,
        peer: SocketAddr,
        timeouts: &crate::proxy::client_side::ClientTimeouts,
    ) -> Option<(TcpStream, SocketAddr, SocketAddr)> {
        // The PROXY header must come within `timeout http-request`.
        let limit = match timeouts.http_request {
            // Nothing configured (the runtime's one-day stand-in for "never").
            t if t >= Duration::from_secs(86_400) => HEADER_TIMEOUT_DEFAULT,
            t => t,
        };
        let local = stream.local_addr().ok()?;
        // Connection rules see the real connection, as in HAProxy (only
        // later stages see the PROXY header's addresses).
        let facts = StreamFacts {
            src: peer,
            dst: local,
            payload: &[],
            may_grow: false,
            server: None,
        };
        if let TcpVerdict::Reject(_) = self.rules.tcp_connection(&self.frontend, &facts) {
            return None;
        }
        let (mut src, mut dst) = (peer, local);
        if self.accept_proxy {
            match switchyard::wire::proxy_protocol::read_header(&mut stream, limit).await {
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

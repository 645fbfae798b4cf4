//! `Connection: Upgrade` exchanges (WebSocket and friends): the request
//! keeps its `Upgrade` field on the way to the server, and when the server
//! answers 101 both connections are handed over to a byte tunnel that lives
//! until both sides close or `timeout tunnel` passes without traffic.

use std::time::Duration;

use http::header::{CONNECTION, UPGRADE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Version};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use crate::message::upgrade::ClientUpgrade;
use crate::net::tunnel::{self, IdleLimits, Transferred, TunnelEnd};
use crate::upstream::ServerPermit;

/// The protocol an HTTP/1.1 request asks to switch to, if it asks.
pub fn requested(parts: &Parts) -> Option<HeaderValue> {
    if parts.version != Version::HTTP_11 {
        return None;
    }
    // `Upgrade` first: most requests have neither, some `Connection`.
    let protocol = parts.headers.get(UPGRADE)?;
    let asks = parts
        .headers
        .get_all(CONNECTION)
        .iter()
        .any(|v| switchyard::wire::h1::lists_token(v.as_bytes(), "upgrade"));
    asks.then(|| protocol.clone())
}

/// Whether `headers` ask for WebSocket without the `Sec-WebSocket-Key`
/// its handshake requires (HAProxy answers such a request 400).
pub fn websocket_without_key(headers: &HeaderMap) -> bool {
    headers
        .get(UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
        && !headers.contains_key("sec-websocket-key")
}

/// Puts the upgrade request back after hop-by-hop fields were removed.
pub fn restore(headers: &mut HeaderMap, protocol: HeaderValue) {
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, protocol);
}

/// Joins the client's and the server's upgraded connections. The server
/// slot (`permit`) stays taken while the tunnel lives, as HAProxy counts it.
pub fn spawn_tunnel(
    client: ClientUpgrade,
    server: OnUpgrade,
    permit: ServerPermit,
    idle: Option<Duration>,
) {
    tokio::spawn(async move {
        let _permit = permit;
        let (client, server) = match tokio::join!(client.wait(), server) {
            (Ok(c), Ok(s)) => (c, s),
            (Err(e), _) => {
                tracing::debug!(error = %e, "the client's side did not switch");
                return;
            }
            (_, Err(e)) => {
                tracing::debug!(error = %e, "the server's side did not switch");
                return;
            }
        };
        let server = TokioIo::new(server);
        let counts = Transferred::default();
        match tunnel::run(client, server, IdleLimits::both(idle), &counts).await {
            TunnelEnd::Closed => {
                let up = counts.uploaded.load(std::sync::atomic::Ordering::Relaxed);
                let down = counts.downloaded.load(std::sync::atomic::Ordering::Relaxed);
                tracing::debug!(up, down, "tunnel closed")
            }
            TunnelEnd::ClientTimeout | TunnelEnd::ServerTimeout => {
                tracing::debug!("tunnel idle timeout")
            }
            end => tracing::debug!(?end, "tunnel failed"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_websocket_handshake_needs_its_key() {
        let ws = parts(Version::HTTP_11, &[("upgrade", "WebSocket")]);
        assert!(websocket_without_key(&ws.headers));
        let keyed = parts(
            Version::HTTP_11,
            &[("upgrade", "websocket"), ("sec-websocket-key", "k")],
        );
        assert!(!websocket_without_key(&keyed.headers));
        let other = parts(Version::HTTP_11, &[("upgrade", "h2c")]);
        assert!(!websocket_without_key(&other.headers));
    }

    fn parts(version: Version, headers: &[(&str, &str)]) -> Parts {
        let mut builder = http::Request::builder().version(version).uri("/chat");
        for (n, v) in headers {
            builder = builder.header(*n, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn only_http_1_1_requests_naming_upgrade_in_connection_ask() {
        let ws = [
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
        ];
        assert_eq!(
            requested(&parts(Version::HTTP_11, &ws)).unwrap(),
            "websocket"
        );
        assert!(requested(&parts(Version::HTTP_10, &ws)).is_none());
        assert!(requested(&parts(Version::HTTP_11, &[("upgrade", "websocket")])).is_none());
        assert!(requested(&parts(Version::HTTP_11, &[("connection", "upgrade")])).is_none());
    }
}

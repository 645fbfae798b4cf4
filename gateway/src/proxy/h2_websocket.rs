//! WebSocket over HTTP/2 (RFC 8441) toward an HTTP/1.1 server, as HAProxy
//! 2.6 translates it: the client's extended CONNECT (`:method CONNECT`,
//! `:protocol websocket`) reaches the server as an RFC 6455 handshake
//! (`GET`, `Connection: upgrade`, `Upgrade: websocket` and a
//! `Sec-WebSocket-Key` the gateway makes, HTTP/2 having none); the
//! server's `101` goes back as `200` once its `Sec-WebSocket-Accept` proves
//! it read that key (else `502`, as HAProxy answers), and the stream and
//! the server connection are then joined like any upgrade.
//!
//! The other way, an HTTP/1.1 client's WebSocket handshake toward a
//! `proto h2` server becomes an extended CONNECT, and the server's `200` the
//! client's `101`, with the `Sec-WebSocket-Accept` of the client's key.

use base64::Engine as _;
use http::header::{HeaderName, CONNECTION, UPGRADE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};

const KEY: HeaderName = HeaderName::from_static("sec-websocket-key");
const ACCEPT: HeaderName = HeaderName::from_static("sec-websocket-accept");
/// RFC 6455 §1.3: appended to the key before hashing.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` a server must answer to the key the gateway
/// sent; kept in the request's extensions on its way to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedAccept(String);

impl ExpectedAccept {
    /// Whether the server's answer carries the right accept value.
    pub fn matches(&self, headers: &HeaderMap) -> bool {
        headers
            .get(ACCEPT)
            .is_some_and(|v| v.as_bytes() == self.0.as_bytes())
    }
}

/// Whether `parts` is an extended CONNECT for WebSocket.
pub fn is_extended_connect(parts: &Parts) -> bool {
    parts.version == Version::HTTP_2
        && parts.method == Method::CONNECT
        && parts
            .extensions
            .get::<hyper::ext::Protocol>()
            .is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"))
}

/// Rewrites an extended CONNECT into the HTTP/1.1 handshake, with a fresh
/// key whose expected answer goes into the extensions.
pub fn to_h1_handshake(parts: &mut Parts) {
    parts.method = Method::GET;
    parts.version = Version::HTTP_11;
    // An HTTP/2 request's target reaches an HTTP/1.1 server in origin form.
    super::framing::origin_form(parts);
    parts.extensions.remove::<hyper::ext::Protocol>();
    let key = fresh_key();
    parts.extensions.insert(ExpectedAccept(accept_for(&key)));
    parts
        .headers
        .insert(CONNECTION, HeaderValue::from_static("upgrade"));
    parts
        .headers
        .insert(UPGRADE, HeaderValue::from_static("websocket"));
    parts.headers.insert(
        KEY,
        HeaderValue::from_str(&key).expect("base64 is a valid value"),
    );
}

/// Turns the server's `101` into the HTTP/2 client's `200`, without the
/// HTTP/1.1 handshake's fields.
pub fn to_h2_answer(status: &mut StatusCode, headers: &mut HeaderMap) {
    *status = StatusCode::OK;
    headers.remove(CONNECTION);
    headers.remove(UPGRADE);
    headers.remove(ACCEPT);
}

/// The `Sec-WebSocket-Accept` an HTTP/1.1 client expects for the key it
/// sent; kept while its handshake goes to an HTTP/2 server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAccept(HeaderValue);

/// Rewrites an HTTP/1.1 WebSocket handshake (already checked to ask for
/// `websocket`) into an extended CONNECT for an HTTP/2 server; the accept
/// value the client will need, when it sent a key.
pub fn to_extended_connect(parts: &mut Parts) -> Option<ClientAccept> {
    let key = parts.headers.remove(KEY)?;
    parts.method = Method::CONNECT;
    parts
        .extensions
        .insert(hyper::ext::Protocol::from_static("websocket"));
    parts.headers.remove(CONNECTION);
    parts.headers.remove(UPGRADE);
    let accept = accept_for(key.to_str().ok()?);
    Some(ClientAccept(
        HeaderValue::from_str(&accept).expect("base64 is a valid value"),
    ))
}

/// Whether a request asks for a WebSocket (`Upgrade: websocket`).
pub fn asks_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Turns an HTTP/2 server's `200` into the HTTP/1.1 client's `101`.
pub fn to_h1_answer(status: &mut StatusCode, headers: &mut HeaderMap, accept: ClientAccept) {
    *status = StatusCode::SWITCHING_PROTOCOLS;
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(ACCEPT, accept.0);
}

/// 16 random bytes, base64-encoded (RFC 6455 §4.1).
fn fresh_key() -> String {
    let mut nonce = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
        .expect("the system's random source");
    base64::engine::general_purpose::STANDARD.encode(nonce)
}

/// RFC 6455 §4.2.2: base64(SHA-1(key + GUID)).
fn accept_for(key: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}{GUID}").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_value_is_rfc_6455s() {
        // RFC 6455 §1.3's example.
        assert_eq!(
            accept_for("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn an_extended_connect_becomes_a_websocket_handshake() {
        let mut parts = http::Request::builder()
            .method(Method::CONNECT)
            .version(Version::HTTP_2)
            .uri("http://example.test/chat")
            .extension(hyper::ext::Protocol::from_static("websocket"))
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert!(is_extended_connect(&parts));
        to_h1_handshake(&mut parts);
        assert_eq!(
            (parts.method.as_str(), parts.version),
            ("GET", Version::HTTP_11)
        );
        assert_eq!(parts.headers[UPGRADE], "websocket");
        let key = parts.headers[KEY].to_str().unwrap().to_owned();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&key)
                .unwrap()
                .len(),
            16
        );
        let expected = parts.extensions.get::<ExpectedAccept>().unwrap();
        let mut answer = HeaderMap::new();
        answer.insert(ACCEPT, HeaderValue::from_str(&accept_for(&key)).unwrap());
        assert!(expected.matches(&answer));
        answer.insert(ACCEPT, HeaderValue::from_static("invalid_key"));
        assert!(!expected.matches(&answer));
    }

    #[test]
    fn an_http1_handshake_becomes_an_extended_connect_and_its_answer_a_101() {
        let mut parts = http::Request::builder()
            .uri("/chat")
            .header(CONNECTION, "upgrade")
            .header(UPGRADE, "websocket")
            .header(KEY, "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert!(asks_websocket(&parts.headers));
        let accept = to_extended_connect(&mut parts).unwrap();
        assert_eq!(parts.method, Method::CONNECT);
        assert_eq!(
            parts
                .extensions
                .get::<hyper::ext::Protocol>()
                .unwrap()
                .as_str(),
            "websocket"
        );
        assert!(!parts.headers.contains_key(KEY) && !parts.headers.contains_key(UPGRADE));
        let (mut status, mut headers) = (StatusCode::OK, HeaderMap::new());
        to_h1_answer(&mut status, &mut headers, accept);
        assert_eq!(status, StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(headers[ACCEPT], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn a_plain_connect_is_not_translated() {
        let parts = http::Request::builder()
            .method(Method::CONNECT)
            .version(Version::HTTP_2)
            .uri("example.test:443")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert!(!is_extended_connect(&parts));
    }
}

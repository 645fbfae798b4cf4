//! Protocol upgrades between HTTP/1.1 and HTTP/2 (RFC 8441), as HAProxy
//! 2.6 translates them, for any protocol: the HTTP/2 client's extended
//! CONNECT (`:method CONNECT`, `:protocol P`) reaches an HTTP/1.1 server as
//! `GET` with `Connection: upgrade` and `Upgrade: P`, and the server's `101`
//! goes back as `200`; the other way, an HTTP/1.1 client's upgrade toward a
//! `proto h2` server becomes an extended CONNECT, and the server's `200` the
//! client's `101` with `Upgrade: P`. The stream and the server connection
//! are then joined like any upgrade.
//!
//! WebSocket adds its key: toward HTTP/1.1 the gateway makes a
//! `Sec-WebSocket-Key` (HTTP/2 has none) and takes the server's `101` only
//! with the matching `Sec-WebSocket-Accept` (else `502`, as HAProxy
//! answers); toward HTTP/2 the client's key is kept to answer its accept.

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

/// Marks a request that came as an extended CONNECT and goes to an
/// HTTP/1.1 server as an upgrade: its `101` goes back as `200`.
#[derive(Debug, Clone, Copy)]
pub struct FromExtendedConnect;

/// Whether `parts` is an extended CONNECT (a `:protocol` to switch to).
pub fn is_extended_connect(parts: &Parts) -> bool {
    parts.version == Version::HTTP_2
        && parts.method == Method::CONNECT
        && parts.extensions.get::<hyper::ext::Protocol>().is_some()
}

/// Rewrites an extended CONNECT into the HTTP/1.1 upgrade request; for
/// WebSocket with a fresh key whose expected answer goes into the
/// extensions.
pub fn to_h1_handshake(parts: &mut Parts) {
    let Some(protocol) = parts.extensions.remove::<hyper::ext::Protocol>() else {
        return;
    };
    let Ok(upgrade) = HeaderValue::from_bytes(protocol.as_str().as_bytes()) else {
        return;
    };
    parts.method = Method::GET;
    parts.version = Version::HTTP_11;
    // An HTTP/2 request's target reaches an HTTP/1.1 server in origin form.
    super::framing::origin_form(parts);
    parts.extensions.insert(FromExtendedConnect);
    parts
        .headers
        .insert(CONNECTION, HeaderValue::from_static("upgrade"));
    if protocol.as_str().eq_ignore_ascii_case("websocket") {
        let key = fresh_key();
        parts.extensions.insert(ExpectedAccept(accept_for(&key)));
        parts.headers.insert(
            KEY,
            HeaderValue::from_str(&key).expect("base64 is a valid value"),
        );
    }
    parts.headers.insert(UPGRADE, upgrade);
}

/// Turns the server's `101` into the HTTP/2 client's `200`, without the
/// HTTP/1.1 handshake's fields.
pub fn to_h2_answer(status: &mut StatusCode, headers: &mut HeaderMap) {
    *status = StatusCode::OK;
    headers.remove(CONNECTION);
    headers.remove(UPGRADE);
    headers.remove(ACCEPT);
}

/// What an HTTP/1.1 client whose upgrade went to an HTTP/2 server expects
/// in its `101`: the protocol, and for WebSocket the accept value of the
/// key it sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientUpgrade {
    protocol: HeaderValue,
    accept: Option<HeaderValue>,
}

/// Rewrites an HTTP/1.1 upgrade request into an extended CONNECT for an
/// HTTP/2 server; what the client's answer needs. `None` (and `parts`
/// unchanged) without `Upgrade`, or for a WebSocket without a key.
pub fn to_extended_connect(parts: &mut Parts) -> Option<ClientUpgrade> {
    let protocol = parts.headers.get(UPGRADE)?.clone();
    let name = protocol.to_str().ok()?.to_owned();
    let accept = if name.eq_ignore_ascii_case("websocket") {
        let key = parts.headers.remove(KEY)?;
        let accept = accept_for(key.to_str().ok()?);
        Some(HeaderValue::from_str(&accept).expect("base64 is a valid value"))
    } else {
        None
    };
    parts.method = Method::CONNECT;
    parts
        .extensions
        .insert(hyper::ext::Protocol::from(name.as_str()));
    parts.headers.remove(CONNECTION);
    parts.headers.remove(UPGRADE);
    Some(ClientUpgrade { protocol, accept })
}

/// Whether a request asks for a WebSocket (`Upgrade: websocket`).
pub fn asks_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Turns an HTTP/2 server's `200` into the HTTP/1.1 client's `101`.
pub fn to_h1_answer(status: &mut StatusCode, headers: &mut HeaderMap, upgrade: ClientUpgrade) {
    *status = StatusCode::SWITCHING_PROTOCOLS;
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, upgrade.protocol);
    if let Some(accept) = upgrade.accept {
        headers.insert(ACCEPT, accept);
    }
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

    fn protocol_of(parts: &Parts) -> &str {
        parts
            .extensions
            .get::<hyper::ext::Protocol>()
            .unwrap()
            .as_str()
    }

    /// An HTTP/2 client's extended CONNECT for `protocol`.
    fn extended_connect(uri: &str, protocol: &'static str) -> Parts {
        http::Request::builder()
            .method(Method::CONNECT)
            .version(Version::HTTP_2)
            .uri(uri)
            .extension(hyper::ext::Protocol::from_static(protocol))
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

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
        let mut parts = extended_connect("http://example.test/chat", "websocket");
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
        assert_eq!(protocol_of(&parts), "websocket");
        assert!(!parts.headers.contains_key(KEY) && !parts.headers.contains_key(UPGRADE));
        let (mut status, mut headers) = (StatusCode::OK, HeaderMap::new());
        to_h1_answer(&mut status, &mut headers, accept);
        assert_eq!(status, StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(headers[ACCEPT], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn any_protocol_is_translated_both_ways_without_a_key() {
        let mut parts = extended_connect("http://127.0.0.1/", "custom_protocol");
        assert!(is_extended_connect(&parts));
        to_h1_handshake(&mut parts);
        assert_eq!(parts.method, Method::GET);
        assert_eq!(parts.headers[CONNECTION], "upgrade");
        assert_eq!(parts.headers[UPGRADE], "custom_protocol");
        assert!(!parts.headers.contains_key(KEY));
        assert!(parts.extensions.get::<FromExtendedConnect>().is_some());
        assert!(parts.extensions.get::<ExpectedAccept>().is_none());
        // And back toward an HTTP/2 server.
        let upgrade = to_extended_connect(&mut parts).unwrap();
        assert_eq!(parts.method, Method::CONNECT);
        assert_eq!(protocol_of(&parts), "custom_protocol");
        let (mut status, mut headers) = (StatusCode::OK, HeaderMap::new());
        to_h1_answer(&mut status, &mut headers, upgrade);
        assert_eq!(status, StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(headers[UPGRADE], "custom_protocol");
        assert!(!headers.contains_key(ACCEPT));
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

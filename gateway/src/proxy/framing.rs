//! How a request is framed for its server: the form of its target, and
//! how a body reaches an HTTP/1.1 server when the client gave it no length: an HTTP/2 client may send DATA frames without
//! `content-length` (the stream's end marks the body's), and an HTTP/1.1
//! client's `Transfer-Encoding` is removed with the other hop-by-hop
//! fields before forwarding.

use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Uri};

/// Asks for chunked framing of a body that has no `Content-Length`.
///
/// hyper's client chooses chunked framing by itself for most methods, but
/// sends a `GET`, `HEAD` or `CONNECT` of unknown length with no body at
/// all unless `Transfer-Encoding` says otherwise: the body would be lost.
/// HAProxy forwards it chunked, whatever the method.
pub fn announce_unsized_body(headers: &mut HeaderMap) {
    if !headers.contains_key(CONTENT_LENGTH) {
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
    }
}

/// An HTTP/2 client's request reaches an HTTP/1.1 server with an
/// origin-form target.
pub fn origin_form(parts: &mut Parts) {
    if parts.uri.scheme().is_some() || parts.uri.authority().is_some() {
        if let Some(pq) = parts.uri.path_and_query().cloned() {
            parts.uri = Uri::from(pq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_without_length_is_announced_chunked() {
        let mut headers = HeaderMap::new();
        announce_unsized_body(&mut headers);
        assert_eq!(headers[TRANSFER_ENCODING], "chunked");
    }

    #[test]
    fn a_body_with_a_length_keeps_it() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("5"));
        announce_unsized_body(&mut headers);
        assert!(!headers.contains_key(TRANSFER_ENCODING));
        assert_eq!(headers[CONTENT_LENGTH], "5");
    }
}

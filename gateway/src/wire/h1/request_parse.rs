//! A client's request head as the gateway reads it (RFC 9112, sections 2
//! to 6): the request line and fields (httparse), then what HTTP/1 asks
//! of a server around them: the body's framing (`Content-Length` or
//! chunked), whether the connection stays open after the response
//! (HTTP/1.0's and HTTP/1.1's rules), `Expect: 100-continue`, and a
//! request to switch protocols (`Upgrade`, `CONNECT`). Every HTTP/1
//! client connection is read with it (`front/h1_conn.rs`); what it refuses
//! is answered 400 by the connection, as HAProxy answers a request its
//! parser refuses.
//!
//! Ambiguities the grammar allows (several `Host` fields, a target naming
//! another host, codings other than `chunked`) are the request path's
//! (`proxy/request_checks.rs`), which judges HTTP/2 requests too.

use std::mem::MaybeUninit;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

/// The most fields a request head may have: HAProxy's `tune.http.maxhdr`
/// default.
pub const MAX_FIELDS: usize = 101;

/// How a request's body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// `Content-Length` bytes (more than zero).
    Length(u64),
    /// `Transfer-Encoding` whose last coding is `chunked`.
    Chunked,
}

/// A complete request head.
#[derive(Debug)]
pub struct RequestHead {
    /// Sharing the bytes read.
    pub parts: Parts,
    /// How many bytes of the read the head was (empty lines before it
    /// included).
    pub head_len: usize,
    pub framing: Framing,
    /// The connection closes after the response: HTTP/1.1 with
    /// `Connection: close`, or HTTP/1.0 without `Connection: keep-alive`.
    pub close: bool,
    /// `Expect: 100-continue` on an HTTP/1.1 request with a body: the
    /// client may wait for an interim `100 Continue` before sending it.
    pub expects_continue: bool,
    /// The request asks to switch protocols: HTTP/1.1 with `Connection:
    /// upgrade` and an `Upgrade` field, or `CONNECT`. The connection is
    /// the server's tunnel's if the answer switches (101, or 2xx to
    /// `CONNECT`).
    pub switches: bool,
}

/// Why a head was refused (the client gets a 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// The request line or a field is not HTTP/1's grammar (httparse),
    /// or the version is not 1.0 or 1.1.
    #[error("malformed request head: {0}")]
    Syntax(&'static str),
    /// More fields than [`MAX_FIELDS`].
    #[error("too many header fields")]
    TooManyFields,
    /// The method, target, a name or a value is not valid for `http`.
    #[error("invalid {0}")]
    Invalid(&'static str),
    /// `Content-Length` values that are not one decimal number.
    #[error("invalid Content-Length")]
    ContentLength,
    /// `Transfer-Encoding` on HTTP/1.0, or without `chunked` last.
    #[error("invalid Transfer-Encoding")]
    TransferEncoding,
}

/// The HTTP/2 connection preface's first bytes: no HTTP/1 method is
/// called `PRI`.
const PREFACE_START: &[u8] = b"PRI ";

/// Whether `read` (a connection's first bytes) is, or may still turn out
/// to be, HTTP/2's preface: `Some(true)` it is, `Some(false)` it is not,
/// `None` too few bytes to say.
pub fn is_http2_preface(read: &[u8]) -> Option<bool> {
    if read.len() >= PREFACE_START.len() {
        Some(read.starts_with(PREFACE_START))
    } else if PREFACE_START.starts_with(read) {
        None
    } else {
        Some(false)
    }
}

/// The request head at the front of `read`: `Ok(None)` while it is
/// incomplete.
pub fn parse(read: &Bytes) -> Result<Option<RequestHead>, HeadError> {
    // Left uninitialised: httparse fills what it uses (filling 101 empty
    // fields first cost more than parsing a short head).
    let mut fields = [const { MaybeUninit::uninit() }; MAX_FIELDS];
    let mut parsed = httparse::Request::new(&mut []);
    let len = match parsed.parse_with_uninit_headers(read, &mut fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooManyFields),
        Err(e) => return Err(HeadError::Syntax(syntax(e))),
    };
    let version = match parsed.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let method = parsed.method.unwrap_or_default();
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| HeadError::Invalid("method"))?;
    let target = parsed.path.unwrap_or_default().as_bytes();
    let uri =
        Uri::from_maybe_shared(read.slice_ref(target)).map_err(|_| HeadError::Invalid("target"))?;
    let mut headers = HeaderMap::with_capacity(parsed.headers.len());
    let mut length: Option<u64> = None;
    let mut chunked_last: Option<bool> = None;
    let (mut close, mut keep_alive, mut upgrade_token) = (false, false, false);
    let (mut upgrade_field, mut expects_continue) = (false, false);
    for field in parsed.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| HeadError::Invalid("name"))?;
        let value = HeaderValue::from_maybe_shared(read.slice_ref(field.value))
            .map_err(|_| HeadError::Invalid("value"))?;
        match name.as_str() {
            "content-length" => {
                let n = content_length(field.value)?;
                if length.is_some_and(|l| l != n) {
                    return Err(HeadError::ContentLength);
                }
                length = Some(n);
            }
            "transfer-encoding" => {
                for coding in field.value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                    if !coding.is_empty() {
                        chunked_last = Some(coding.eq_ignore_ascii_case(b"chunked"));
                    }
                }
                chunked_last.get_or_insert(false);
            }
            "connection" => {
                for token in field.value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                    close |= token.eq_ignore_ascii_case(b"close");
                    keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                    upgrade_token |= token.eq_ignore_ascii_case(b"upgrade");
                }
            }
            "upgrade" => upgrade_field = true,
            "expect" => {
                expects_continue |= field
                    .value
                    .trim_ascii()
                    .eq_ignore_ascii_case(b"100-continue")
            }
            _ => {}
        }
        headers.append(name, value);
    }
    let framing = match chunked_last {
        // RFC 9112 §6.1: chunked framing on HTTP/1.0 is faulty.
        Some(_) if version == Version::HTTP_10 => return Err(HeadError::TransferEncoding),
        Some(false) => return Err(HeadError::TransferEncoding),
        Some(true) => {
            // The chunked framing wins over a length (RFC 9112 §6.3): the
            // length goes, so that nothing after reads it, and the
            // connection closes after the response, as HAProxy closes it
            // (what follows may be a request smuggled past another reader).
            if headers.remove(CONTENT_LENGTH).is_some() {
                close = true;
            }
            Framing::Chunked
        }
        None => match length {
            Some(0) | None => Framing::None,
            Some(n) => Framing::Length(n),
        },
    };
    debug_assert!(framing != Framing::Chunked || headers.contains_key(TRANSFER_ENCODING));
    let http11 = version == Version::HTTP_11;
    let switches = method == Method::CONNECT || (http11 && upgrade_token && upgrade_field);
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Ok(Some(RequestHead {
        parts: request.into_parts().0,
        head_len: len,
        close: if http11 { close } else { close || !keep_alive },
        expects_continue: expects_continue && http11 && framing != Framing::None,
        switches,
        framing,
    }))
}

/// What httparse found wrong, in words.
fn syntax(error: httparse::Error) -> &'static str {
    match error {
        httparse::Error::HeaderName => "invalid field name",
        httparse::Error::HeaderValue => "invalid field value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Token => "invalid token",
        httparse::Error::Version => "invalid version",
        _ => "invalid request line",
    }
}

/// One `Content-Length` value: decimal digits only (no sign, no list),
/// within 64 bits.
fn content_length(value: &[u8]) -> Result<u64, HeadError> {
    let value = value.trim_ascii();
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(HeadError::ContentLength);
    }
    std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or(HeadError::ContentLength)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(read: &'static [u8]) -> Result<Option<RequestHead>, HeadError> {
        parse(&Bytes::from_static(read))
    }

    fn whole(read: &'static [u8]) -> RequestHead {
        head(read).unwrap().unwrap()
    }

    #[test]
    fn a_head_is_taken_once_whole_and_what_follows_is_left() {
        assert!(head(b"GET / HTTP/1.1\r\nHost: a\r\n").unwrap().is_none());
        let get = whole(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n");
        assert_eq!(get.head_len, 27);
        assert_eq!(get.framing, Framing::None);
        assert!(!get.close && !get.switches && !get.expects_continue);
        let lead = whole(b"\r\nGET /x HTTP/1.1\r\n\r\n");
        assert_eq!(
            lead.head_len, 21,
            "empty lines before the request are skipped"
        );
    }

    #[test]
    fn bodies_are_framed_by_length_or_chunked() {
        let cl = whole(b"POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc");
        assert_eq!(cl.framing, Framing::Length(3));
        let zero = whole(b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(zero.framing, Framing::None);
        let te =
            whole(b"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(te.framing, Framing::Chunked);
        assert!(!te.parts.headers.contains_key(CONTENT_LENGTH));
        assert!(
            te.close,
            "both framings: the connection closes after the answer"
        );
        let gzip = whole(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(
            gzip.framing,
            Framing::Chunked,
            "the codings are judged later (422)"
        );
    }

    #[test]
    fn what_http1_forbids_is_refused() {
        for (read, error) in [
            (
                &b"POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n"[..],
                HeadError::ContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 4, 4\r\n\r\n",
                HeadError::ContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: +4\r\n\r\n",
                HeadError::ContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                HeadError::ContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                HeadError::ContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
                HeadError::TransferEncoding,
            ),
            (
                b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                HeadError::TransferEncoding,
            ),
            (
                b"GET /a\x7f HTTP/1.1\r\n\r\n",
                HeadError::Syntax("invalid token"),
            ),
        ] {
            let got = head(read).map(|h| h.map(|h| h.framing));
            match (got, error) {
                (Err(HeadError::Syntax(_)), HeadError::Syntax(_)) => {}
                (got, error) => assert_eq!(got, Err(error), "{}", String::from_utf8_lossy(read)),
            }
        }
        for read in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET / HTTP/1.2\r\n\r\n",
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET /v09\r\n\r\n",
            b"GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n",
            b"GET / HTTP/1.1\r\nX A: b\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            b"GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n",
            b"GET /caf\xe9 HTTP/1.1\r\n\r\n",
        ] {
            assert!(head(read).is_err(), "{}", String::from_utf8_lossy(read));
        }
    }

    #[test]
    fn http10_closes_unless_it_asks_to_stay_and_11_stays_unless_it_asks_to_close() {
        assert!(whole(b"GET / HTTP/1.0\r\n\r\n").close);
        assert!(!whole(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").close);
        assert!(whole(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").close);
        assert_eq!(
            whole(b"GET / HTTP/1.0\r\n\r\n").parts.version,
            Version::HTTP_10
        );
    }

    #[test]
    fn upgrades_connect_and_expect() {
        let ws = whole(
            b"GET /ws HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
        );
        assert!(ws.switches);
        assert!(!whole(b"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n").switches);
        assert!(
            !whole(b"GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n").switches
        );
        let connect = whole(b"CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n");
        assert!(connect.switches);
        assert_eq!(connect.parts.uri.authority().unwrap(), "a.test:443");
        let put = whole(b"PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n");
        assert!(put.expects_continue);
        assert!(!whole(b"GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n").expects_continue);
    }

    #[test]
    fn fields_are_kept_with_their_values_in_order() {
        let head =
            whole(b"GET /a?b=c HTTP/1.1\r\nHost: shop.test\r\nCookie: x=1\r\ncookie: y=2\r\n\r\n");
        assert_eq!(head.parts.uri, "/a?b=c");
        let cookies: Vec<_> = head.parts.headers.get_all("cookie").iter().collect();
        assert_eq!(cookies, ["x=1", "y=2"]);
        assert_eq!(
            whole(b"get /x HTTP/1.1\r\n\r\n").parts.method.as_str(),
            "get"
        );
    }

    #[test]
    fn too_many_fields_are_refused() {
        let mut read = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_FIELDS {
            read.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        read.extend_from_slice(b"\r\n");
        assert_eq!(
            parse(&Bytes::from(read)).unwrap_err(),
            HeadError::TooManyFields
        );
    }

    #[test]
    fn the_preface_is_told_from_http1_with_four_bytes() {
        assert_eq!(is_http2_preface(b"P"), None);
        assert_eq!(is_http2_preface(b"PRI * HTTP/2.0"), Some(true));
        assert_eq!(is_http2_preface(b"POST"), Some(false));
        assert_eq!(is_http2_preface(b"G"), Some(false));
    }
}

//! A client's request head, read by the gateway itself when it is the
//! common kind: HTTP/1.1, no body, no upgrade. Anything else is left to
//! hyper, which reads, answers or refuses it as it always has; so this
//! parser only has to say "mine" or "not mine", never produce an error page.

use std::mem::MaybeUninit;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

/// The most fields a request head may have here (hyper's limit too).
const MAX_FIELDS: usize = 100;

/// A request head taken by [`plain_request`].
#[derive(Debug)]
pub struct PlainRequest {
    /// Sharing the bytes read.
    pub parts: Parts,
    /// How many bytes of the read the head was.
    pub head_len: usize,
    /// The client said `Connection: close`.
    pub close: bool,
}

/// The request at the front of `read`, when it is a whole HTTP/1.1
/// request head this path can serve: a request without a body (so the
/// connection is at a request boundary once the response is out, whatever
/// the service did with the request), not an upgrade or CONNECT, no
/// `Expect` (an interim `100 Continue` would be due), and every part valid
/// for `http`. Anything else (incomplete, HTTP/1.0, HTTP/2's preface,
/// malformed, more than 100 fields) is not taken.
pub fn plain_request(read: &Bytes) -> Option<PlainRequest> {
    // Left uninitialised: httparse fills what it uses (filling 100 empty
    // fields first cost more than parsing a short head).
    let mut fields = [const { MaybeUninit::uninit() }; MAX_FIELDS];
    let mut parsed = httparse::Request::new(&mut []);
    let Ok(httparse::Status::Complete(len)) = parsed.parse_with_uninit_headers(read, &mut fields)
    else {
        return None;
    };
    if parsed.version != Some(1) || parsed.method == Some("CONNECT") {
        return None;
    }
    let method = Method::from_bytes(parsed.method?.as_bytes()).ok()?;
    let uri = Uri::from_maybe_shared(read.slice_ref(parsed.path?.as_bytes())).ok()?;
    let mut headers = HeaderMap::with_capacity(parsed.headers.len());
    let mut close = false;
    for field in parsed.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes()).ok()?;
        let framing_or_switch = match name.as_str() {
            "upgrade" | "expect" | "transfer-encoding" => true,
            "content-length" => field.value.trim_ascii() != b"0",
            "connection" => {
                let mut upgrade = false;
                for token in field.value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                    close |= token.eq_ignore_ascii_case(b"close");
                    upgrade |= token.eq_ignore_ascii_case(b"upgrade");
                }
                upgrade
            }
            _ => false,
        };
        if framing_or_switch {
            return None;
        }
        let value = HeaderValue::from_maybe_shared(read.slice_ref(field.value)).ok()?;
        headers.append(name, value);
    }
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    Some(PlainRequest {
        parts: request.into_parts().0,
        head_len: len,
        close,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_len(read: &'static [u8]) -> Option<usize> {
        plain_request(&Bytes::from_static(read)).map(|r| r.head_len)
    }

    #[test]
    fn plain_http11_requests_are_taken_head_by_head() {
        assert_eq!(head_len(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Some(27));
        assert!(head_len(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").is_some());
        assert_eq!(
            head_len(
                b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\n"
            ),
            Some(51),
            "a pipelined request behind is left for the next exchange"
        );
    }

    #[test]
    fn everything_else_goes_the_general_way() {
        for read in [
            &b"GET / HTTP/1.1\r\nHost: a\r\n"[..],
            b"GET / HTTP/1.0\r\nHost: a\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
            b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nupgrade: h2c\r\n\r\n",
            b"PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n",
            b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
            b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"GARBAGE\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        ] {
            assert!(head_len(read).is_none(), "{}", String::from_utf8_lossy(read));
        }
    }

    #[test]
    fn parts_share_the_head_and_keep_every_field() {
        let head = Bytes::from_static(
            b"GET /a?b=c HTTP/1.1\r\nHost: shop.test\r\nCookie: x=1\r\ncookie: y=2\r\n\r\n",
        );
        let parts = plain_request(&head).unwrap().parts;
        assert_eq!(parts.method, Method::GET);
        assert_eq!(parts.uri, "/a?b=c");
        assert_eq!(parts.version, Version::HTTP_11);
        assert_eq!(parts.headers["host"], "shop.test");
        assert_eq!(parts.headers.get_all("cookie").iter().count(), 2);
        let absolute = Bytes::from_static(b"GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n");
        assert_eq!(
            plain_request(&absolute).unwrap().parts.uri.host(),
            Some("a.test")
        );
        let close = Bytes::from_static(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n");
        assert!(plain_request(&close).unwrap().close);
        assert!(head_len(b"GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n").is_none());
    }
}

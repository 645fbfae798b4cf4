//! A server's HTTP/1.x response head, read from the connection's buffer:
//! its status and fields, how its body is delimited (RFC 9112, section 6.3)
//! and whether the connection may carry another request after it.

use std::mem::MaybeUninit;

use bytes::Bytes;
use bytes::BytesMut;
use http::{HeaderMap, StatusCode, Version};

use crate::wire::h1::hop_by_hop;
use crate::wire::h1::server_fields::{FieldSpan, ServerFields};

/// The most fields a response head may have (hyper's and HAProxy's order of
/// magnitude; `tune.http.maxhdr` is 101).
pub const MAX_FIELDS: usize = 100;

use crate::wire::h1::buffer_limits;

/// How a response body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (`HEAD`, 204, 304).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// A final response head.
#[derive(Debug)]
pub struct ResponseHead {
    pub status: StatusCode,
    pub version: Version,
    /// The reason phrase when it differs from the status's usual one.
    pub reason: Option<Bytes>,
    /// The end-to-end fields, in order, as the server wrote them:
    /// hop-by-hop ones (RFC 9110, section 7.6.1) are left out as they are
    /// read, since they are never forwarded; what they say is in `framing`
    /// and `reusable`.
    pub fields: ServerFields,
    pub framing: Framing,
    /// The connection may carry another request once the body is read.
    pub reusable: bool,
}

/// Why a response head cannot be used: HAProxy answers 502 to all of them
/// (`retry-on junk-response`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error("malformed response head: {0}")]
    Malformed(&'static str),
    /// Longer than `tune.bufsize` less `tune.maxrewrite`
    /// ([`buffer_limits::max_head`]).
    #[error("response head longer than the buffer allows (tune.bufsize less tune.maxrewrite)")]
    TooLong,
    #[error("101 Switching Protocols to a request that did not ask to switch")]
    UnaskedSwitch,
}

/// Takes the final response head from the front of `buf` (skipping interim
/// 1xx responses), or `None` when it has not arrived whole yet. The bytes
/// after the head (the body's start) stay in `buf`. `head_request` is
/// whether the request was `HEAD`, whose response has no body whatever its
/// fields say.
pub fn take(buf: &mut BytesMut, head_request: bool) -> Result<Option<ResponseHead>, HeadError> {
    loop {
        let Some(head) = take_one(buf, head_request)? else {
            return Ok(None);
        };
        if head.status.is_informational() {
            if head.status == StatusCode::SWITCHING_PROTOCOLS {
                return Err(HeadError::UnaskedSwitch);
            }
            // 100 Continue, 103 Early Hints...: interim, not passed on.
            continue;
        }
        return Ok(Some(head));
    }
}

/// Where the reason phrase lies in a status line that httparse read as
/// empty because it is not UTF-8: a phrase with obs-text (bytes 0x80–0xFF,
/// RFC 9110 section 15's `reason-phrase`) is passed on as HAProxy passes it.
/// `None` when the line has no phrase after `HTTP/1.x NNN ` or holds a
/// control character.
fn obs_text_reason(head: &[u8]) -> Option<std::ops::Range<usize>> {
    const START: usize = "HTTP/1.1 200 ".len();
    let line_end = head.iter().position(|&b| b == b'\n')?;
    let line = head[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&head[..line_end]);
    let phrase = line.get(START..).filter(|p| !p.is_empty())?;
    let allowed = |b: &u8| *b == b'\t' || (b' '..=b'~').contains(b) || *b >= 0x80;
    phrase
        .iter()
        .all(allowed)
        .then_some(START..START + phrase.len())
}

fn take_one(buf: &mut BytesMut, head_request: bool) -> Result<Option<ResponseHead>, HeadError> {
    // Left uninitialised: httparse fills what it uses (filling 100 empty
    // fields first cost more than parsing a short head).
    let mut fields = [const { MaybeUninit::uninit() }; MAX_FIELDS];
    let mut response = httparse::Response::new(&mut []);
    let base = buf.as_ptr() as usize;
    let offset = |s: &[u8]| s.as_ptr() as usize - base;
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut fields,
    );
    // The raw head is read into a buffer of `tune.bufsize` (HAProxy's
    // connection buffer); what is kept of it must fit once in HAProxy's
    // internal form (below).
    let max_raw = buffer_limits::max_rewritten();
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() >= max_raw => return Err(HeadError::TooLong),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HeadError::Malformed("too many fields"))
        }
        Err(_) => return Err(HeadError::Malformed("not an HTTP/1.x response head")),
    };
    if len > max_raw {
        return Err(HeadError::TooLong);
    }
    let status = response
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(HeadError::Malformed("bad status code"))?;
    let version = match response.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    // Kept unless it is the usual one: an empty reason stays empty. (An
    // empty one is httparse's own `""`, not a slice of `buf`; so is one it
    // could not read as text.)
    let reason = response
        .reason
        .filter(|r| Some(*r) != status.canonical_reason())
        .map(|r| match r.is_empty() {
            true => obs_text_reason(&buf[..len]).unwrap_or(0..0),
            false => offset(r.as_bytes())..offset(r.as_bytes()) + r.len(),
        });
    let reason_len = match response.reason {
        Some("") | None => obs_text_reason(&buf[..len]).map_or(0, |r| r.len()),
        Some(r) => r.len(),
    };
    let kept_sizes = response.headers.iter().filter_map(|f| {
        if f.name.eq_ignore_ascii_case("connection") {
            let kept = hop_by_hop::connection_len_without_close_and_keep_alive(f.value);
            return (kept > 0).then_some(f.name.len() + kept);
        }
        Some(f.name.len() + f.value.len())
    });
    let start_line = "HTTP/1.1".len() + "200".len() + reason_len;
    if !buffer_limits::fits_as_htx(start_line, kept_sizes) {
        return Err(HeadError::TooLong);
    }
    // Sized at once (collecting through `Option` would grow it).
    let mut spans = Vec::with_capacity(response.headers.len());
    for f in response.headers.iter() {
        let name = offset(f.name.as_bytes());
        let value = offset(f.value);
        spans.push(
            FieldSpan::new(name..name + f.name.len(), value..value + f.value.len())
                .ok_or(HeadError::TooLong)?,
        );
    }
    let mut fields = ServerFields::from_head(buf.split_to(len), spans);
    let mut facts = FramingFacts::default();
    // What the fields left out weigh in HAProxy's `%B` (see
    // `ServerFields::left_out_size`).
    let mut left_out = 0;
    fields.retain(|name, value| match hop_by_hop::always_bit_of(name) {
        0 => {
            if name == b"content-length" {
                facts.content_length(value);
            }
            true
        }
        hop_by_hop::CONNECTION_BIT => {
            facts.connection(value);
            let kept = hop_by_hop::connection_len_without_close_and_keep_alive(value);
            if kept > 0 {
                left_out += name.len() + kept;
            }
            false
        }
        hop_by_hop::TRANSFER_ENCODING_BIT => {
            facts.transfer_encoding(value);
            false
        }
        _ => {
            left_out += name.len() + value.len();
            false
        }
    });
    for value in &facts.naming {
        for option in hop_by_hop::options(value) {
            fields.retain(|name, value| {
                let named = name.eq_ignore_ascii_case(option);
                if named {
                    left_out += name.len() + value.len();
                }
                !named
            });
        }
    }
    fields.add_left_out(left_out);
    let reason = reason.map(|r| fields.head().slice(r));
    let (framing, framing_reusable) = facts.framing(status, head_request, &mut fields)?;
    let reusable = framing_reusable && facts.keeps_alive(version);
    Ok(Some(ResponseHead {
        status,
        version,
        reason,
        fields,
        framing,
        reusable,
    }))
}

/// What the fields that frame the body and manage the connection say,
/// gathered as the fields are read (they are not forwarded: see
/// [`ResponseHead::headers`]).
#[derive(Default)]
struct FramingFacts {
    /// `Content-Length` fields: their agreed length, or why they are wrong
    /// (which matters only when the length frames the body).
    length: Option<Result<u64, &'static str>>,
    /// `Transfer-Encoding` fields were present.
    encoded: bool,
    /// `chunked` codings listed, and whether the last coding was one.
    chunked: usize,
    last_chunked: bool,
    close: bool,
    keep_alive: bool,
    /// `Connection` values naming other fields, which go too (rare).
    naming: Vec<Vec<u8>>,
}

impl FramingFacts {
    /// Every value (comma-separated lists included) digits only and all
    /// the same.
    fn content_length(&mut self, value: &[u8]) {
        for part in value.split(|b| *b == b',') {
            let length = match (self.length, parse_length(part.trim_ascii())) {
                (Some(Err(_)), _) => return,
                (_, None) => Err("bad Content-Length"),
                (Some(Ok(l)), Some(n)) if l != n => Err("conflicting Content-Length values"),
                (_, Some(n)) => Ok(n),
            };
            self.length = Some(length);
        }
    }

    fn transfer_encoding(&mut self, value: &[u8]) {
        self.encoded = true;
        for coding in value.split(|b| *b == b',') {
            let coding = coding.trim_ascii();
            if coding.is_empty() {
                continue;
            }
            self.last_chunked = coding.eq_ignore_ascii_case(b"chunked");
            self.chunked += usize::from(self.last_chunked);
        }
    }

    fn connection(&mut self, value: &[u8]) {
        // The usual value, at a glance (`close` may name a field too).
        if value.eq_ignore_ascii_case(b"keep-alive") {
            self.keep_alive = true;
            return;
        }
        self.close |= crate::wire::h1::lists_token(value, "close");
        self.keep_alive |= crate::wire::h1::lists_token(value, "keep-alive");
        if hop_by_hop::names_options(value) {
            self.naming.push(value.to_vec());
        }
    }

    /// The body's framing, and whether it leaves the connection usable.
    fn framing(
        &self,
        status: StatusCode,
        head_request: bool,
        fields: &mut ServerFields,
    ) -> Result<(Framing, bool), HeadError> {
        if has_no_body(status, head_request) {
            return Ok((Framing::Empty, true));
        }
        if self.encoded {
            // Only `chunked`, once and last, is passed on (HAProxy answers
            // 502 to the rest: a coding the gateway would drop with the
            // field, or chunked applied twice, RFC 9112 section 6.1).
            if self.chunked != 1 || !self.last_chunked {
                return Err(HeadError::Malformed("Transfer-Encoding other than chunked"));
            }
            // With Content-Length beside it, the length is ignored,
            // removed before forwarding, and the connection not trusted
            // further (RFC 9112, section 6.3).
            let reusable = self.length.is_none();
            if !reusable {
                fields.remove("content-length");
            }
            return Ok((Framing::Chunked, reusable));
        }
        Ok(
            match self.length.transpose().map_err(HeadError::Malformed)? {
                Some(0) => (Framing::Empty, true),
                Some(n) => (Framing::Length(n), true),
                None => (Framing::UntilClose, false),
            },
        )
    }

    /// Whether the server keeps the connection open after this response:
    /// HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with
    /// `keep-alive`.
    fn keeps_alive(&self, version: Version) -> bool {
        if version == Version::HTTP_10 {
            self.keep_alive && !self.close
        } else {
            !self.close
        }
    }
}

/// Whether a response has no body whatever its fields say: to `HEAD`,
/// and 1xx, 204 and 304 (RFC 9112, section 6.3).
pub fn has_no_body(status: StatusCode, head_request: bool) -> bool {
    head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
}

/// The length `Content-Length` fields give: every value (comma-separated
/// lists included) digits only and all the same.
pub fn content_length(headers: &HeaderMap) -> Result<Option<u64>, HeadError> {
    agreed_length(
        headers
            .get_all(http::header::CONTENT_LENGTH)
            .iter()
            .map(|v| v.as_bytes()),
    )
}

/// [`content_length`] of a server's fields as read.
pub fn fields_content_length(fields: &ServerFields) -> Result<Option<u64>, HeadError> {
    agreed_length(fields.values("content-length"))
}

fn agreed_length<'a>(values: impl Iterator<Item = &'a [u8]>) -> Result<Option<u64>, HeadError> {
    let mut facts = FramingFacts::default();
    for value in values {
        facts.content_length(value);
    }
    facts.length.transpose().map_err(HeadError::Malformed)
}

/// A Content-Length value: digits only, no sign, no overflow.
fn parse_length(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(
        text: &str,
        head_request: bool,
    ) -> (Result<Option<ResponseHead>, HeadError>, BytesMut) {
        let mut buf = BytesMut::from(text);
        let r = take(&mut buf, head_request);
        (r, buf)
    }

    #[test]
    fn a_length_delimited_response_leaves_its_body_in_the_buffer() {
        let (head, rest) = parse(
            "HTTP/1.1 200 OK\r\nServer: o\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\nhello",
            false,
        );
        let head = head.unwrap().unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.framing, Framing::Length(5));
        assert!(head.reusable);
        assert!(head.reason.is_none());
        assert_eq!(head.fields.values("x-a").count(), 2);
        assert_eq!(&rest[..], b"hello");
    }

    #[test]
    fn an_incomplete_head_waits_and_a_huge_one_is_refused() {
        let (head, rest) = parse("HTTP/1.1 200 OK\r\nServer: o\r\n", false);
        assert!(head.unwrap().is_none());
        assert_eq!(rest.len(), 28, "nothing consumed");
        let long = format!(
            "HTTP/1.1 200 OK\r\nX: {}\r\n",
            "a".repeat(buffer_limits::max_rewritten())
        );
        assert_eq!(parse(&long, false).0.unwrap_err(), HeadError::TooLong);
    }

    /// The largest heads HAProxy 2.6.12 passed with its default buffers
    /// (16,384 bytes less 1,024 for rewrites), one byte more refused: its
    /// limit counts the head in its internal form, so it depends on the
    /// number of fields.
    #[test]
    fn the_head_limit_is_haproxys_with_its_overhead() {
        let one_field = |n: usize| {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Big: {}\r\n\r\nhi",
                "a".repeat(n)
            )
        };
        let many_fields = |n: usize| {
            let fields: String = (0..90)
                .map(|i| format!("x-{i:03}: {}\r\n", "b".repeat(40)))
                .collect();
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n{fields}X-Big: {}\r\n\r\nhi",
                "a".repeat(n)
            )
        };
        for (shape, largest) in [
            (&one_field as &dyn Fn(usize) -> String, 15_226),
            (&many_fields, 10_456),
        ] {
            let (head, _) = parse(&shape(largest), false);
            assert_eq!(head.unwrap().unwrap().status, 200);
            let (head, _) = parse(&shape(largest + 1), false);
            assert_eq!(head.unwrap_err(), HeadError::TooLong);
        }
        assert_eq!(one_field(15_226).len() - 2, 15_273);
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let framing = |text: &str, head: bool| parse(text, head).0.unwrap().unwrap().framing;
        assert_eq!(
            framing(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                false
            ),
            Framing::Chunked
        );
        for coded in [
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            assert!(parse(coded, false).0.is_err(), "{coded}");
        }
        let both = parse(
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            false,
        )
        .0
        .unwrap()
        .unwrap();
        assert_eq!(both.framing, Framing::Chunked);
        assert!(!both.fields.contains("content-length"), "RFC 9112 6.3");
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\n\r\n", false),
            Framing::UntilClose
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true),
            Framing::Empty
        );
        assert_eq!(
            framing("HTTP/1.1 204 No Content\r\n\r\n", false),
            Framing::Empty
        );
        assert_eq!(
            framing(
                "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n",
                false
            ),
            Framing::Empty
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", false),
            Framing::Length(3)
        );
    }

    #[test]
    fn bad_lengths_are_junk() {
        for text in [
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
        ] {
            assert!(
                matches!(parse(text, false).0, Err(HeadError::Malformed(_))),
                "{text}"
            );
        }
        assert!(parse("garbage\r\n\r\n", false).0.is_err());
    }

    #[test]
    fn connection_reuse() {
        let reusable = |text: &str| parse(text, false).0.unwrap().unwrap().reusable;
        assert!(!reusable(
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ));
        assert!(!reusable("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
        assert!(reusable(
            "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"
        ));
        assert!(!reusable("HTTP/1.1 200 OK\r\n\r\n"), "read until close");
        assert!(!reusable(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
    }

    #[test]
    fn hop_by_hop_fields_are_read_but_not_kept() {
        let head = parse(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\n\
             X-Hop: 1\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\nUpgrade: x\r\n\
             Proxy-Connection: close\r\nX-End: 2\r\n\r\n",
            false,
        )
        .0
        .unwrap()
        .unwrap();
        assert_eq!(head.framing, Framing::Chunked);
        assert!(head.reusable);
        let names: Vec<&[u8]> = head.fields.iter().map(|(n, _)| n).collect();
        assert_eq!(names, [b"x-end"]);
        let head = parse(
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\nClose: named\r\n\r\n",
            false,
        )
        .0
        .unwrap()
        .unwrap();
        assert!(!head.reusable);
        let names: Vec<&[u8]> = head.fields.iter().map(|(n, _)| n).collect();
        assert_eq!(names, [b"content-length"], "RFC 9110 7.6.1");
    }

    #[test]
    fn a_bad_length_matters_only_where_it_frames_the_body() {
        let framing = |text: &str| parse(text, false).0.map(|h| h.unwrap().framing);
        assert_eq!(
            framing("HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n"),
            Ok(Framing::Empty)
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\nContent-Length: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Ok(Framing::Chunked)
        );
        assert!(
            framing("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: x\r\n\r\n").is_err()
        );
    }

    #[test]
    fn interim_responses_are_skipped_and_an_unasked_switch_refused() {
        let (head, rest) = parse(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
            false,
        );
        assert_eq!(head.unwrap().unwrap().status, 200);
        assert_eq!(&rest[..], b"x");
        let (head, _) = parse(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
            false,
        );
        assert_eq!(head.unwrap_err(), HeadError::UnaskedSwitch);
    }

    #[test]
    fn an_unusual_reason_phrase_is_kept() {
        let head = parse("HTTP/1.1 200 Fine\r\nContent-Length: 0\r\n\r\n", false)
            .0
            .unwrap()
            .unwrap();
        assert_eq!(head.reason.as_deref(), Some(&b"Fine"[..]));
        assert_eq!(head.version, Version::HTTP_11);
        let head = parse("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", false)
            .0
            .unwrap()
            .unwrap();
        assert_eq!(
            head.reason.as_deref(),
            Some(&b""[..]),
            "an empty reason stays empty"
        );
        let bare = &b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"[..];
        let head = take(&mut BytesMut::from(bare), false).unwrap().unwrap();
        assert_eq!(head.reason.as_deref(), Some(&b""[..]));
        // obs-text is passed on as HAProxy passes it.
        let latin1 = &b"HTTP/1.1 200 Tr\xe8s bien\r\nContent-Length: 0\r\n\r\n"[..];
        let head = take(&mut BytesMut::from(latin1), false).unwrap().unwrap();
        assert_eq!(head.reason.as_deref(), Some(&b"Tr\xe8s bien"[..]));
    }
}

//! Arbitrary bytes as a server's answer on the gateway's own server
//! connections (`switchyard::wire::h1`): the response head, then a chunked
//! body when the head says so, fed in reads of 1 to 128 bytes. Nothing may
//! panic; the decoder never returns empty data nor more than it consumed;
//! neither parser waits for more while holding more than its limit; a
//! `Length` framing is the fields' own digits; and how the reads cut the
//! bytes changes nothing: the same head, data, end and leftover as when
//! everything arrives in one read.

use bytes::BytesMut;
use http::{HeaderMap, StatusCode, Version};
use switchyard::wire::h1::buffer_limits;
use switchyard::wire::h1::chunked::{Decoder, Step, MAX_TRAILERS};
use switchyard::wire::h1::response_head::{self, Framing, ResponseHead};

/// The input, handed to a parser `piece` bytes a read.
struct Wire<'a> {
    input: &'a [u8],
    fed: usize,
    piece: usize,
}

impl Wire<'_> {
    /// Appends the next read to `buf`; false when the input is all read.
    fn feed(&mut self, buf: &mut BytesMut) -> bool {
        if self.fed == self.input.len() {
            return false;
        }
        let end = self.fed + self.piece.min(self.input.len() - self.fed);
        buf.extend_from_slice(&self.input[self.fed..end]);
        self.fed = end;
        true
    }
}

/// The parts of a head that two readings must agree on.
#[derive(Debug, PartialEq)]
struct Head {
    status: StatusCode,
    version: Version,
    reason: Option<bytes::Bytes>,
    headers: HeaderMap,
    framing: Framing,
    reusable: bool,
}

/// What reading the input gave. Errors are compared as errors only: which
/// limit or rule trips first may depend on how much had arrived.
#[derive(Debug, PartialEq)]
struct Reading {
    /// `Err(())`, no head yet, or the final head.
    head: Result<Option<Head>, ()>,
    /// The chunked body's data.
    data: Vec<u8>,
    /// Whether the chunked body ended, or was malformed.
    body_end: Result<bool, ()>,
    /// What stays for the next response (when nothing was malformed).
    rest: Option<Vec<u8>>,
}

fn read(input: &[u8], head_request: bool, piece: usize) -> Reading {
    let mut wire = Wire {
        input,
        fed: 0,
        piece,
    };
    let mut buf = BytesMut::new();
    let head = loop {
        match response_head::take(&mut buf, head_request) {
            Ok(None) => {
                // The raw head is read into a buffer of `tune.bufsize`
                // (HAProxy's connection buffer); its internal form is what
                // must fit `max_head`, checked once the head is whole.
                assert!(
                    buf.len() <= buffer_limits::max_rewritten(),
                    "waits holding {} bytes",
                    buf.len()
                );
                if !wire.feed(&mut buf) {
                    break Ok(None);
                }
            }
            Ok(Some(head)) => break Ok(Some(head)),
            Err(_) => break Err(()),
        }
    };
    let mut reading = Reading {
        head: Err(()),
        data: Vec::new(),
        body_end: Ok(false),
        rest: None,
    };
    let head = match head {
        Ok(Some(head)) => {
            check_head(&head, head_request);
            head
        }
        Ok(None) => {
            reading.head = Ok(None);
            reading.rest = Some(rest(&buf, &wire));
            return reading;
        }
        Err(()) => return reading,
    };
    if head.framing == Framing::Chunked {
        reading.body_end = decode(&mut buf, &mut wire, &mut reading.data);
        assert!(reading.data.len() <= input.len());
    }
    if reading.body_end.is_ok() {
        reading.rest = Some(rest(&buf, &wire));
    }
    reading.head = Ok(Some(Head {
        status: head.status,
        version: head.version,
        reason: head.reason,
        headers: head.fields.to_header_map(),
        framing: head.framing,
        reusable: head.reusable,
    }));
    reading
}

/// Drives a chunked decoder to the body's end, an error, or the end of the
/// input; whether the body ended.
fn decode(buf: &mut BytesMut, wire: &mut Wire, data: &mut Vec<u8>) -> Result<bool, ()> {
    let mut decoder = Decoder::default();
    loop {
        let before = buf.len();
        match decoder.step(buf) {
            Ok(Step::Data(d)) => {
                // Progress: every step that does not wait or end gives data.
                assert!(!d.is_empty(), "empty data");
                assert!(before - buf.len() >= d.len(), "more data than consumed");
                data.extend_from_slice(&d);
            }
            Ok(Step::NeedMore) => {
                assert!(!decoder.is_done());
                assert!(
                    buf.len() <= MAX_TRAILERS,
                    "waits holding {} bytes",
                    buf.len()
                );
                if !wire.feed(buf) {
                    return Ok(false);
                }
            }
            Ok(Step::Done) => {
                assert!(decoder.is_done());
                let left = buf.len();
                assert_eq!(decoder.step(buf), Ok(Step::Done), "done stays done");
                assert_eq!(buf.len(), left, "nothing read after the end");
                return Ok(true);
            }
            Err(_) => return Err(()),
        }
    }
}

/// What a final head must be, whatever the bytes.
fn check_head(head: &ResponseHead, head_request: bool) {
    assert!(!head.status.is_informational());
    // The fields as read are all valid for `http`: none is lost in the map.
    let headers = head.fields.to_header_map();
    assert_eq!(headers.len(), head.fields.len());
    let has = |name: &str| headers.contains_key(name);
    // Hop-by-hop fields are never kept (RFC 9110, section 7.6.1).
    for field in [
        "connection",
        "transfer-encoding",
        "te",
        "upgrade",
        "keep-alive",
    ] {
        assert!(!has(field), "{field}");
    }
    match head.framing {
        Framing::Length(n) => {
            assert!(n > 0 && !head_request && !has("transfer-encoding"));
            for value in headers.get_all("content-length") {
                for part in value.as_bytes().split(|b| *b == b',') {
                    let digits = part.trim_ascii();
                    assert!(digits.iter().all(u8::is_ascii_digit), "{digits:?}");
                    let parsed = std::str::from_utf8(digits)
                        .ok()
                        .and_then(|d| d.parse().ok());
                    assert_eq!(parsed, Some(n));
                }
            }
        }
        // Content-Length beside chunked is dropped before forwarding.
        Framing::Chunked => assert!(!head_request && !has("content-length")),
        Framing::UntilClose => assert!(!head.reusable && !head_request),
        Framing::Empty => {}
    }
}

/// The bytes left for the next response: the buffer, then what was not fed.
fn rest(buf: &BytesMut, wire: &Wire) -> Vec<u8> {
    [&buf[..], &wire.input[wire.fed..]].concat()
}

/// One fuzz input: panics when a property above does not hold.
pub fn check(data: &[u8]) {
    // The first byte: bit 0 is whether the request was HEAD, the other
    // seven the read size less one.
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let head_request = control & 1 == 1;
    let piece = usize::from(control >> 1) + 1;
    let cut = read(input, head_request, piece);
    let whole = read(input, head_request, usize::MAX);
    assert_eq!(cut, whole, "read {piece} bytes at a time");
}

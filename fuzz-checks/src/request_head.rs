//! Arbitrary bytes as a client's request head (`switchyard::wire::h1::
//! request_parse`), fed in reads of 1 to 256 bytes and parsed after each
//! read that brings a line feed, as the HTTP/1 engine (`front/h1_conn.rs`)
//! parses what it has.
//! Nothing may panic; a head is taken only once whole, from the bytes
//! given; its framing agrees with its fields (a length is more than zero,
//! chunked leaves no `Content-Length`), `Expect: 100-continue` only on an
//! HTTP/1.1 request with a body; and how the reads cut the bytes changes
//! nothing: the same head, or a refusal, as when everything arrives in
//! one read.

use bytes::Bytes;
use http::{HeaderMap, Method, Uri, Version};
use switchyard::wire::h1::request_parse::{self, Framing, RequestHead, MAX_FIELDS};

/// The parts of a head that two readings must agree on.
#[derive(Debug, PartialEq)]
struct Head {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    head_len: usize,
    framing: Framing,
    close: bool,
    expects_continue: bool,
    switches: bool,
}

/// What reading the input gave: a refusal (compared as a refusal only),
/// no whole head yet, or the head.
type Reading = Result<Option<Head>, ()>;

fn read(input: &[u8], piece: usize) -> Reading {
    let mut fed: usize = 0;
    loop {
        let from = fed;
        fed = input.len().min(fed.saturating_add(piece));
        // A head ends with a line feed: the engine parses only when one
        // came (and at the end, to say what the input was).
        if !input[from..fed].contains(&b'\n') && fed < input.len() {
            continue;
        }
        let read = Bytes::copy_from_slice(&input[..fed]);
        match request_parse::parse(&read) {
            Ok(Some(head)) => return Ok(Some(checked(head, fed))),
            Ok(None) if fed < input.len() => {}
            Ok(None) => return Ok(None),
            Err(_) => return Err(()),
        }
    }
}

/// What a head must be, whatever the bytes; `read` bytes had arrived.
fn checked(head: RequestHead, read: usize) -> Head {
    assert!(
        head.head_len <= read,
        "a head of {} bytes from {read}",
        head.head_len
    );
    let headers = head.parts.headers;
    assert!(headers.len() <= MAX_FIELDS);
    let version = head.parts.version;
    assert!(version == Version::HTTP_10 || version == Version::HTTP_11);
    match head.framing {
        Framing::Length(n) => {
            assert!(n > 0);
            assert!(!headers.contains_key("transfer-encoding"));
        }
        Framing::Chunked => {
            assert!(!headers.contains_key("content-length"));
            assert!(headers.contains_key("transfer-encoding"));
            assert_eq!(version, Version::HTTP_11, "chunked on HTTP/1.0");
        }
        Framing::None => assert!(!headers.contains_key("transfer-encoding")),
    }
    if head.expects_continue {
        assert!(head.framing != Framing::None && version == Version::HTTP_11);
    }
    if version == Version::HTTP_10 && !head.close {
        assert!(
            headers.contains_key("connection"),
            "HTTP/1.0 kept without keep-alive"
        );
    }
    Head {
        method: head.parts.method,
        uri: head.parts.uri,
        version,
        headers,
        head_len: head.head_len,
        framing: head.framing,
        close: head.close,
        expects_continue: head.expects_continue,
        switches: head.switches,
    }
}

/// One fuzz input: panics when a property above does not hold.
pub fn check(data: &[u8]) {
    // The first byte is the read size less one.
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let piece = usize::from(control) + 1;
    let cut = read(input, piece);
    let whole = read(input, usize::MAX);
    assert_eq!(cut, whole, "read {piece} bytes at a time");
}

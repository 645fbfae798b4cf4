//! The byte counts of `%B` and `%U` as HAProxy makes them.
//!
//! HAProxy counts a message in its internal form (HTX), not as written on
//! the wire: the start line is its three parts plus a 20-byte block of
//! their lengths and flags, each header field its name and value (no
//! `": "`, no CRLF), the end of the head one byte; the body its data
//! (chunk sizes and CRLFs not counted), and a chunked message one byte
//! more for its end (its trailers block). HAProxy's HTTP/1 parser consumes
//! the `Connection` field, which is therefore not counted, while the other
//! hop-by-hop fields are. Checked against HAProxy 2.6.12: a server's
//! `HTTP/1.1 200 OK` with `content-length: 0` counts 49 bytes (38 on the
//! wire), `transfer-encoding: chunked` and a 3-byte chunk 62 (60 on the
//! wire), `GET / HTTP/1.1` with `host: a` 38.

/// The start-line block's own size: three lengths, flags, method or status.
const START_LINE: u64 = 20;
/// The end-of-headers block.
const END_OF_HEAD: u64 = 1;
/// The end of a chunked message (its trailers block, empty or not).
pub const END_OF_CHUNKED: u64 = 1;

/// A message head: its start line's three parts and its fields.
pub fn head<'a>(start_line: [&[u8]; 3], fields: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> u64 {
    let line: usize = start_line.iter().map(|part| part.len()).sum();
    let fields: usize = fields
        .filter(|(name, _)| !name.eq_ignore_ascii_case(b"connection"))
        .map(|(name, value)| name.len() + value.len())
        .sum();
    START_LINE + line as u64 + fields as u64 + END_OF_HEAD
}

/// A `transfer-encoding: chunked` field, as counted, with the end of the
/// chunked message: for a response whose framing field the gateway read
/// and left out.
pub const CHUNKED_FIELD_AND_END: u64 =
    ("transfer-encoding".len() + "chunked".len()) as u64 + END_OF_CHUNKED;

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(list: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
        list.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()))
    }

    /// The sizes HAProxy 2.6.12 logged for these messages.
    #[test]
    fn heads_count_as_haproxy_counts_them() {
        let ok = [&b"HTTP/1.1"[..], b"200", b"OK"];
        assert_eq!(head(ok, fields(&[("content-length", "0")])), 49);
        assert_eq!(head(ok, fields(&[("content-length", "0"), ("x", "y")])), 51);
        // `Connection` is consumed by the parser; `Keep-Alive` is not.
        assert_eq!(
            head(
                ok,
                fields(&[("content-length", "0"), ("Connection", "close")])
            ),
            49
        );
        assert_eq!(
            head(
                ok,
                fields(&[("content-length", "0"), ("proxy-connection", "x")])
            ),
            66
        );
        // A chunked response with one 3-byte chunk: 62.
        assert_eq!(
            head(ok, fields(&[("transfer-encoding", "chunked")])) + 3 + END_OF_CHUNKED,
            62
        );
        let get = [&b"GET"[..], b"/", b"HTTP/1.1"];
        assert_eq!(head(get, fields(&[("host", "a")])), 38);
    }
}

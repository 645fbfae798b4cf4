//! `tune.bufsize` and `tune.maxrewrite` as the process applies them: the
//! longest message head read (request or response), and how large rules
//! may make one. Like HAProxy's `global.tune`, they are process-wide: the
//! configuration being served sets them once when it is loaded
//! (`runtime::build`), and the message paths read them with a relaxed load.

use std::sync::atomic::{AtomicUsize, Ordering};

/// HAProxy's defaults: a 16384-byte buffer with 1024 bytes kept for rewrites.
static MAX_HEAD: AtomicUsize = AtomicUsize::new(16_384 - 1024);
static MAX_REWRITTEN: AtomicUsize = AtomicUsize::new(16_384);

/// Sets both limits: `max_head` is the buffer less its reserve,
/// `max_rewritten` the whole buffer.
pub fn set(max_head: usize, max_rewritten: usize) {
    MAX_HEAD.store(max_head, Ordering::Relaxed);
    MAX_REWRITTEN.store(max_rewritten, Ordering::Relaxed);
}

/// The longest head read: a longer request is answered 400, a longer
/// response 502.
pub fn max_head() -> usize {
    MAX_HEAD.load(Ordering::Relaxed)
}

/// The most a head may hold once rules have added to it.
pub fn max_rewritten() -> usize {
    MAX_REWRITTEN.load(Ordering::Relaxed)
}

/// What HAProxy 2.6 keeps at the start of a buffer holding a message in
/// its internal form (HTX): `struct htx`.
const HTX_HEADER: usize = 48;
/// What each HTX block (start line, field, end of head) takes besides its
/// payload.
const HTX_BLOCK: usize = 8;
/// The start-line block's own payload besides its parts: their lengths
/// and flags (as `log::htx_size` counts it).
const HTX_START_LINE: usize = 20;

/// Whether a message head fits the buffer once in HAProxy's internal form,
/// which is how HAProxy's limit applies: the start line's three parts
/// (`start_line_parts` bytes) and each field's name and value (`fields`,
/// as HAProxy's parser keeps them) in blocks of their own, with the
/// buffer's header, within `tune.bufsize` less `tune.maxrewrite`
/// ([`max_head`]). Measured with HAProxy 2.6.12's defaults: a response of a
/// status line and two fields passes with 15,273 bytes of head and fails
/// with 15,274; with 92 fields it fails from 14,914 bytes.
pub fn fits_as_htx(start_line_parts: usize, fields: impl Iterator<Item = usize>) -> bool {
    let (count, sizes) = fields.fold((0, 0), |(c, s), size| (c + 1, s + size));
    let blocks = (count + 2) * HTX_BLOCK;
    let end_of_head = 1;
    HTX_HEADER + blocks + HTX_START_LINE + start_line_parts + sizes + end_of_head <= max_head()
}

/// The length of a head as HTTP/1.1 writes it: `start_line` bytes, then
/// each `(name, value)` field as `name: value` and a CRLF, and the empty
/// line.
pub fn head_len<'a>(
    start_line: usize,
    fields: impl Iterator<Item = (&'a [u8], &'a [u8])>,
) -> usize {
    let fields: usize = fields
        .map(|(n, v)| n.len() + v.len() + ": \r\n".len())
        .sum();
    start_line + "\r\n".len() + fields + "\r\n".len()
}

/// Whether a request head as rules left it still fits the buffer
/// (`tune.bufsize`): HAProxy fails a rewrite that would not, and with
/// `strict-mode` (always on here) answers 500.
pub fn request_fits(parts: &http::request::Parts) -> bool {
    let target = parts.uri.path_and_query().map_or(1, |pq| pq.as_str().len());
    let line = parts.method.as_str().len() + 1 + target + " HTTP/1.1".len();
    let fields = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()));
    head_len(line, fields) <= max_rewritten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_length_is_the_written_heads() {
        let (parts, ()) = http::Request::get("/a?b")
            .header("Host", "h.test")
            .header("X-A", "1")
            .body(())
            .unwrap()
            .into_parts();
        let mut written = Vec::new();
        crate::wire::h1::request_head::encode(&parts, &mut written);
        let line = "GET /a?b HTTP/1.1".len();
        let fields = parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()));
        assert_eq!(head_len(line, fields), written.len());
        assert!(request_fits(&parts));
    }
}

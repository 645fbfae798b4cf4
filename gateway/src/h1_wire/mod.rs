//! HTTP/1.1 as the gateway writes it to servers and reads their answers on
//! its own server connections (`server_conn.rs`): pure functions over
//! buffers, no I/O, so that they are unit-tested and fuzzed on their own.
//! Parsing itself is httparse's; what is here is what RFC 9112 asks of a
//! client around it (framing, interim responses, connection reuse).

pub mod chunked;
pub mod request_head;
pub mod response_head;

/// Whether a `Connection`-style field value lists `token`: comma-separated
/// options, compared without case.
pub fn lists_token(value: &[u8], token: &str) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

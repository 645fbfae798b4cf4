//! HTTP/1.1 as the gateway speaks it itself: to servers on its own server
//! connections (`upstream/server_conn.rs`), and to every HTTP/1 client
//! (`front/h1_conn.rs`, `front/client_response.rs`): pure functions over
//! buffers, no I/O, so that they are unit-tested and fuzzed on their own.
//! Parsing itself is httparse's; what is here is what RFC 9112 asks of a
//! client around it (framing, interim responses, connection reuse).

pub mod buffer_limits;
pub mod chunked;
pub mod hop_by_hop;
pub mod request_head;
pub mod request_parse;
pub mod response_encode;
pub mod response_head;
pub mod server_fields;

/// Whether a `Connection`-style field value lists `token`: comma-separated
/// options, compared without case.
pub fn lists_token(value: &[u8], token: &str) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

//! The HTTP/2 side of a frontend as HAProxy 2.6 presents it: the settings
//! it announces and the order of its first frames.
//!
//! HAProxy's first frame is a SETTINGS with `ENABLE_CONNECT_PROTOCOL` (RFC
//! 8441: WebSocket over HTTP/2, `proxy/extended_connect.rs`), its default
//! windows (65,535 bytes) and 100 concurrent streams, and it sends no
//! WINDOW_UPDATE before acknowledging the client's SETTINGS. hyper's defaults differ on each point: 1 MiB windows,
//! whose connection part the `h2` crate announces with a WINDOW_UPDATE
//! right after its SETTINGS, which can overtake the SETTINGS ACK that
//! clients such as VTest's wait for.

use hyper::server::conn::http2::Builder;

/// HAProxy's `tune.h2.initial-window-size` default, the protocol's own
/// (RFC 9113 §6.9.2): announcing it takes no SETTINGS entry, and the
/// connection window needs no WINDOW_UPDATE to reach it.
pub const INITIAL_WINDOW: u32 = 65_535;

/// HAProxy's `tune.h2.max-concurrent-streams` default.
pub const MAX_CONCURRENT_STREAMS: u32 = 100;

/// Sets a frontend's HTTP/2 server as HAProxy's.
pub fn configure<E>(builder: &mut Builder<E>) {
    builder
        .initial_connection_window_size(INITIAL_WINDOW)
        .initial_stream_window_size(INITIAL_WINDOW)
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .enable_connect_protocol();
}

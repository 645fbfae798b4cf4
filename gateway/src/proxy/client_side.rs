//! What the client connections of an HTTP frontend share: its client-side
//! timeouts, the pages a connection writes by itself (400, 408), and the
//! options that tune the connection rather than the request. Built once
//! per frontend at load (`process/runtime.rs`), read by the client
//! connection (`front/client_io.rs`) and by the request path.

use std::time::Duration;

use bytes::Bytes;

/// What the client connections of a frontend share.
#[derive(Debug)]
pub struct ClientSide {
    pub timeouts: ClientTimeouts,
    pub pages: ConnectionPages,
    /// `option tcp-smart-accept` (automatic in HTTP): the listener leaves
    /// the ACK of a client's first data to the answer, so when the gateway
    /// has to wait for more of a request, quick ACKs are turned back on
    /// (see `front/client_io.rs`).
    pub smart_accept: bool,
    /// `option http-ignore-probes`: a connection that sent nothing at all
    /// before `timeout http-request` (a browser's speculative pre-connect)
    /// closes without the 408 page.
    pub ignore_probes: bool,
    /// Some backend has `option abortonclose`: the gateway's own HTTP/1
    /// path watches the client's socket while a request is in progress,
    /// to notice a close (`proxy/abort.rs`).
    pub watch_close: bool,
}

/// The client-side timeouts of a frontend.
#[derive(Debug, Clone, Copy)]
pub struct ClientTimeouts {
    /// `timeout http-request`, else `timeout client`: the time to receive a
    /// complete request head.
    pub http_request: Duration,
    /// `timeout http-keep-alive`, else `timeout http-request`, else `timeout
    /// client`: how long a connection may wait for its next request.
    pub idle: Duration,
    /// `timeout client`: the longest the client may stay silent while the
    /// gateway expects data from it, or not read what it is sent.
    pub client: Option<Duration>,
}

/// The raw responses the connection may have to write by itself.
#[derive(Debug, Clone)]
pub struct ConnectionPages {
    /// 400, for a request that cannot be parsed.
    pub bad_request: Bytes,
    /// 408, for a request head not received in time.
    pub request_timeout: Bytes,
}

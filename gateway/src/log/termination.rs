//! HAProxy's termination letters (the log's session state at
//! disconnection: what ended the exchange, then in which state) for the
//! ways the gateway ends an HTTP exchange itself. Compared with HAProxy
//! 2.6.12's httplog lines for the same requests (`docs/gateway.md`).

/// Answered by the proxy itself: a redirect, `http-request return`, an
/// auth challenge, a stats page.
pub const LOCAL: [char; 2] = ['L', 'R'];
/// Refused by the proxy: `http-request deny`, an invalid request.
pub const PROXY_REFUSED: [char; 2] = ['P', 'R'];
/// No server could be reached (none up, connections refused, no backend).
pub const NO_SERVER: [char; 2] = ['S', 'C'];
/// No slot under the server's `maxconn` within `timeout queue`.
pub const QUEUE_TIMEOUT: [char; 2] = ['s', 'Q'];
/// `timeout server` struck before the response head.
pub const SERVER_TIMEOUT: [char; 2] = ['s', 'H'];
/// The server closed the connection before a response head.
pub const SERVER_CLOSED: [char; 2] = ['S', 'H'];
/// What the server sent is not a valid response.
pub const INVALID_RESPONSE: [char; 2] = ['P', 'H'];
/// `option abortonclose`: the client closed while the request waited in a
/// queue.
pub const CLIENT_QUEUE: [char; 2] = ['C', 'Q'];
/// `option abortonclose`: the client closed while the gateway connected to
/// a server (or waited to try again).
pub const CLIENT_CONNECT: [char; 2] = ['C', 'C'];
/// `option abortonclose`: the client closed before the server's response
/// head.
pub const CLIENT_HEADERS: [char; 2] = ['C', 'H'];

//! The client side of an HTTP frontend: the accept loops that outlive a
//! configuration ([`accept`]), serving one accepted connection
//! ([`listener`]), the client's socket with HAProxy's timeouts
//! ([`client_io`]), the gateway's own HTTP/1 engine ([`h1_conn`], with
//! [`request_body`] and [`client_response`]), HTTP/2's settings
//! ([`h2_front`]), and
//! HTTP frontends with a layer-4 step ([`http_l4`]). Each request then goes
//! to the request path (`proxy/`).

pub mod accept;
pub mod bad_request_log;
pub mod client_io;
pub mod client_response;
pub mod connection_counts;
pub mod h1_conn;
pub mod h2_front;
pub mod http_l4;
pub mod listener;
pub mod request_body;
pub mod retirement;
pub mod session;

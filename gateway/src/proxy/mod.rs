//! The request path of an HTTP frontend: decide (rules), choose a server
//! (persistence, balancing), forward with retries, and pass the response
//! back. Policy lives in the `rules` crate and in `upstream/`; this module
//! only sequences it, in HAProxy's order.
//!
//! The files, in the order a request meets them: `http_proxy.rs` (what the
//! path is built from), `client_conn.rs` (the client connection's state),
//! `request.rs` (one request's sequence), `forward.rs` (attempts and
//! retries, with `sticky.rs` for cookie persistence and `attempt.rs` for
//! what an attempt's answer is given), `exchange.rs` (one attempt's
//! exchange, by either engine),
//! `log_draft.rs` and `ends.rs` (the log line and what happens once the
//! response has been passed on).

pub mod abort;
pub mod capture;
pub mod client_side;
pub mod connection_mode;
pub mod extended_connect;
pub mod forwardfor;
pub mod framing;
pub mod header_names;
pub mod http_error;
pub mod monitor;
pub mod request_checks;
pub mod retry;
pub mod routing;
pub mod rules_router;
pub mod upgrade;

mod attempt;
mod client_conn;
mod ends;
mod exchange;
mod forward;
mod http_proxy;
mod log_draft;
mod request;
mod sticky;

pub use client_conn::ClientConn;
pub use http_proxy::{BackendRoute, HttpProxy};

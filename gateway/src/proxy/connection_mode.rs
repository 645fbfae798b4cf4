//! `option http-keep-alive` / `http-server-close` / `httpclose`: whether
//! each side's HTTP/1.x connection stays open after an exchange.
//!
//! As HAProxy 2.6 combines them: the server connection closes when the
//! frontend or the backend says `http-server-close` or `httpclose` (the
//! request then says `Connection: close`, and the connection is not kept
//! for another request); the client connection closes only on the
//! frontend's `httpclose` (its response says `Connection: close`). The
//! three replace each other within a section (`grammar`'s options).

use switchyard_grammar::ast::proxy::{Proxy, Switch};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionMode {
    /// HAProxy's default: both sides stay open.
    #[default]
    KeepAlive,
    /// `option http-server-close`.
    ServerClose,
    /// `option httpclose`.
    Close,
}

impl ConnectionMode {
    /// The mode a proxy section sets.
    pub fn of(proxy: &Proxy) -> ConnectionMode {
        if proxy.option(Switch::HttpClose) {
            ConnectionMode::Close
        } else if proxy.option(Switch::HttpServerClose) {
            ConnectionMode::ServerClose
        } else {
            ConnectionMode::KeepAlive
        }
    }

    /// Whether the server connection closes after the exchange, this
    /// being the frontend's mode and `backend` the backend's.
    pub fn closes_server(self, backend: ConnectionMode) -> bool {
        self != ConnectionMode::KeepAlive || backend != ConnectionMode::KeepAlive
    }

    /// Whether the client connection closes after the exchange, this being
    /// the frontend's mode (the backend's is not considered).
    pub fn closes_client(self) -> bool {
        self == ConnectionMode::Close
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectionMode::*;

    #[test]
    fn either_side_closes_the_server_connection_only_the_frontend_the_clients() {
        assert!(!KeepAlive.closes_server(KeepAlive));
        assert!(KeepAlive.closes_server(ServerClose));
        assert!(KeepAlive.closes_server(Close));
        assert!(ServerClose.closes_server(KeepAlive));
        assert!(Close.closes_server(KeepAlive));
        assert!(Close.closes_client());
        assert!(!ServerClose.closes_client());
        assert!(!KeepAlive.closes_client());
    }
}

//! TCP keep-alive probes as a section asks for them (`option clitcpka`,
//! `srvtcpka`, `tcpka`, with the `clitcpka-*`/`srvtcpka-*` timings), set
//! as HAProxy sets them: `tcpka` counts for the side of the section it is
//! in (a frontend's client side, a backend's server side, both in a
//! `listen`), and the timings only matter where probes are on.

use std::io;

use socket2::{SockRef, TcpKeepalive};
use switchyard_grammar::ast::proxy::{Proxy, Switch, TcpKeepaliveTuning};

/// The client side's probes of frontend `proxy`, if on.
pub fn client_side(proxy: &Proxy) -> Option<TcpKeepaliveTuning> {
    (proxy.option(Switch::CliTcpKa) || proxy.option(Switch::TcpKa)).then_some(proxy.client_tcpka)
}

/// The server side's probes of backend `proxy`, if on.
pub fn server_side(proxy: &Proxy) -> Option<TcpKeepaliveTuning> {
    (proxy.option(Switch::SrvTcpKa) || proxy.option(Switch::TcpKa)).then_some(proxy.server_tcpka)
}

/// An accepted client socket as the frontend wants it: `TCP_NODELAY`
/// (answers are written whole, nothing is gained by delaying them), and
/// TCP keep-alive probes with `keepalive` ([`client_side`]).
pub fn prepare_client(stream: &tokio::net::TcpStream, keepalive: Option<&TcpKeepaliveTuning>) {
    let _ = stream.set_nodelay(true);
    if let Some(tuning) = keepalive {
        if let Err(e) = apply(socket2::SockRef::from(stream), tuning) {
            tracing::debug!(error = %e, "cannot set TCP keep-alive");
        }
    }
}

/// Turns probes on for `socket`, with the timings written (the system's
/// `tcp_keepalive_*` for the others).
pub fn apply(socket: SockRef<'_>, tuning: &TcpKeepaliveTuning) -> io::Result<()> {
    let mut keepalive = TcpKeepalive::new();
    if let Some(idle) = tuning.idle {
        keepalive = keepalive.with_time(idle);
    }
    if let Some(interval) = tuning.interval {
        keepalive = keepalive.with_interval(interval);
    }
    if let Some(count) = tuning.count {
        keepalive = keepalive.with_retries(count);
    }
    socket.set_tcp_keepalive(&keepalive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_timings_written_are_set_and_the_others_left_to_the_system() {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let system = SockRef::from(&socket).keepalive_interval().unwrap();
        let tuning = TcpKeepaliveTuning {
            idle: Some(Duration::from_secs(30)),
            interval: None,
            count: Some(4),
        };
        apply(SockRef::from(&socket), &tuning).unwrap();
        let socket = SockRef::from(&socket);
        assert!(socket.keepalive().unwrap());
        assert_eq!(socket.keepalive_time().unwrap(), Duration::from_secs(30));
        assert_eq!(socket.keepalive_retries().unwrap(), 4);
        assert_eq!(socket.keepalive_interval().unwrap(), system);
    }
}

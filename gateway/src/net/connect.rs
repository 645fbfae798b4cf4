//! Opening a TCP connection to a server, without a wait when the
//! handshake is already over.
//!
//! tokio's `TcpStream::connect` always waits for the socket to be reported
//! writable, then reads its error (`getsockopt(SO_ERROR)`). Under `timeout
//! connect` that wait arms a timer, and a timer earlier than the one
//! tokio's driver sleeps on wakes the driver through its eventfd: a write
//! and a loop turn per connection. On loopback, and often to a nearby
//! server, the handshake is over by the time `connect` returns: one call
//! (`getpeername`, in place of `SO_ERROR`) shows it, and then there is
//! nothing to wait for (docs/performance.md, scenario 4's system calls).
//! Otherwise the wait is tokio's: writable, then the socket's error.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use switchyard_grammar::ast::proxy::{Proxy, Switch, TcpKeepaliveTuning};
use tokio::net::TcpStream;

/// What a backend asks of its server sockets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerSocket {
    /// `option tcp-smart-connect`: the handshake's last ACK goes with the
    /// first bytes, when the caller has bytes to send at once.
    pub smart_connect: bool,
    /// `option srvtcpka` (or `tcpka`): TCP keep-alive probes, with the
    /// `srvtcpka-*` timings.
    pub keepalive: Option<TcpKeepaliveTuning>,
}

impl ServerSocket {
    /// The settings of a backend section.
    pub fn of(backend: &Proxy) -> ServerSocket {
        ServerSocket {
            smart_connect: backend.option(Switch::TcpSmartConnect),
            keepalive: crate::net::keepalive::server_side(backend),
        }
    }
}

/// A connection to `addr`, with `TCP_NODELAY` (requests and responses are
/// written whole, nothing is gained by delaying them).
///
/// With `smart_connect` (for a caller with bytes to send at once) the
/// last packet of the handshake is held back and goes with those first
/// bytes: quick ACKs are off until the connection is established, as
/// HAProxy sets them. If nothing is sent, the kernel sends the ACK on its
/// own after its delayed-ACK time (200 ms at most).
pub async fn connect(addr: SocketAddr, options: ServerSocket) -> io::Result<TcpStream> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )?;
    socket.set_nodelay(true)?;
    if options.smart_connect {
        socket.set_quickack(false)?;
    }
    if let Some(tuning) = &options.keepalive {
        crate::net::keepalive::apply(socket2::SockRef::from(&socket), tuning)?;
    }
    let pending = match socket.connect(&addr.into()) {
        Ok(()) => false,
        Err(e) if e.raw_os_error() == Some(nix::errno::Errno::EINPROGRESS as i32) => true,
        Err(e) => return Err(e),
    };
    let stream = TcpStream::from_std(std::net::TcpStream::from(socket))?;
    // Not known established yet: an error here is `ENOTCONN`, the
    // handshake still under way (or failed, which the wait reports).
    if pending && stream.peer_addr().is_err() {
        stream.writable().await?;
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
    }
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::task::{Context, Poll};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_loopback_connection_is_ready_at_once_and_carries_bytes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Established within `connect`: the first poll is the last.
        let mut connecting = std::pin::pin!(connect(addr, ServerSocket::default()));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let Poll::Ready(stream) = connecting.as_mut().poll(&mut cx) else {
            panic!("a loopback connection waited");
        };
        let mut stream = stream.unwrap();
        assert!(stream.nodelay().unwrap());
        let (mut accepted, _) = listener.accept().await.unwrap();
        stream.write_all(b"ping").await.unwrap();
        let mut got = [0u8; 4];
        accepted.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_error() {
        // A port just freed: nothing listens there.
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let error = connect(addr, ServerSocket::default()).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    }

    const SMART: ServerSocket = ServerSocket {
        smart_connect: true,
        keepalive: None,
    };

    #[tokio::test]
    async fn a_smart_connect_sends_the_handshakes_last_ack_with_the_first_bytes() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        // The server's kernel offers a connection once the handshake's last
        // ACK is in. A plain connect sends it at once.
        let _plain = connect(addr, ServerSocket::default()).await.unwrap();
        listener
            .accept()
            .expect("a plain connection is complete when connect returns");
        // A smart one holds it back (for 200 ms at most)...
        let mut smart = connect(addr, SMART).await.unwrap();
        assert_eq!(
            listener.accept().unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "the last ACK of a smart connect went out on its own"
        );
        // ...and sends it with the first bytes.
        smart.write_all(b"ping").await.unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let (mut accepted, _) = tokio::time::timeout(Duration::from_millis(150), listener.accept())
            .await
            .expect("the first bytes complete the handshake")
            .unwrap();
        let mut got = [0u8; 4];
        accepted.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
    }
}

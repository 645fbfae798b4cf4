//! Listening sockets: one per `bind` address, opened with socket2 so that
//! SO_REUSEADDR and the backlog are set as HAProxy sets them, and the accept
//! loop that hands each connection to hyper (HTTP/1.1 and h2c).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};

use crate::client_io::ClientIo;
use crate::proxy::{ClientConn, HttpProxy};

/// Opens a listening TCP socket on `addr`.
pub fn bind_tcp(addr: SocketAddr, backlog: i32) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.set_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    TcpListener::from_std(socket.into())
}

/// Accepts connections until the listener fails, serving each in its own task.
pub async fn serve_http(listener: TcpListener, proxy: Arc<HttpProxy>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let proxy = proxy.clone();
        tokio::spawn(async move { serve_connection(stream, peer, proxy).await });
    }
}

async fn serve_connection(stream: TcpStream, peer: SocketAddr, proxy: Arc<HttpProxy>) {
    let _ = stream.set_nodelay(true);
    let local = match stream.local_addr() {
        Ok(local) => local,
        Err(_) => return,
    };
    serve_accepted(stream, peer, local, proxy).await
}

/// Serves HTTP on an accepted connection whose client is `peer` and
/// destination `local` (the addresses of a PROXY protocol header, when
/// the bind has `accept-proxy`).
pub(crate) async fn serve_accepted(
    stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    proxy: Arc<HttpProxy>,
) {
    let conn = Arc::new(ClientConn::new(peer, local));
    let timeouts = proxy.client_timeouts();
    let io = ClientIo::new(
        stream,
        conn.clone(),
        timeouts,
        proxy.connection_pages.clone(),
    );
    let service = service_fn(move |req: Request<Incoming>| {
        let proxy = proxy.clone();
        let conn = conn.clone();
        async move { Ok::<_, Infallible>(proxy.handle(req, &conn).await) }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        // `timeout http-request` and `http-keep-alive` are ClientIo's, with
        // HAProxy's 408 page.
        .header_read_timeout(None)
        // HAProxy's default buffer (tune.bufsize 16384 less maxrewrite).
        .max_buf_size(16_384);
    builder.http2().timer(TokioTimer::new());
    let _ = builder
        .serve_connection_with_upgrades(TokioIo::new(io), service)
        .await;
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

//! Listening sockets: one per `bind` address, opened with socket2 so that
//! SO_REUSEADDR and the backlog are set as HAProxy sets them, and the accept
//! loop that hands each connection to hyper (HTTP/1.1 and h2c, and both
//! over TLS on `bind … ssl`).

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
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

use crate::proxy::{ClientConn, HttpProxy};
use crate::tls::bind::BindTls;

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

/// Accepts connections until the listener fails, serving each in its own
/// task; with `tls`, each connection starts with the TLS handshake.
pub async fn serve_http(listener: TcpListener, proxy: Arc<HttpProxy>, tls: Option<Arc<BindTls>>) {
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
        let tls = tls.clone();
        tokio::spawn(async move { serve_connection(stream, peer, proxy, tls).await });
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    proxy: Arc<HttpProxy>,
    tls: Option<Arc<BindTls>>,
) {
    let _ = stream.set_nodelay(true);
    let local = match stream.local_addr() {
        Ok(local) => local,
        Err(_) => return,
    };
    let conn = ClientConn::new(peer, local);
    let Some(tls) = tls else {
        return serve_stream(stream, conn, proxy).await;
    };
    // The handshake is part of receiving the request head, as in HAProxy.
    let limit = proxy.client_timeouts().http_request;
    if let Some((stream, facts)) = tls.accept(stream, limit).await {
        serve_stream(stream, conn.with_tls(facts), proxy).await;
    }
}

/// Serves HTTP on an established client connection (plain TCP or after the
/// TLS handshake). With TLS, the protocol negotiated by ALPN is the one
/// spoken; without ALPN, HTTP/1.1 or h2 with prior knowledge.
pub(crate) async fn serve_stream<IO>(io: IO, conn: ClientConn, proxy: Arc<HttpProxy>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = Arc::new(conn);
    let watched = conn.clone();
    let timeouts = proxy.client_timeouts();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    match conn.tls.as_ref().and_then(|t| t.alpn.as_deref()) {
        Some("h2") => builder = builder.http2_only(),
        Some("http/1.1" | "http/1.0") => builder = builder.http1_only(),
        _ => {}
    }
    let service = service_fn(move |req: Request<Incoming>| {
        let proxy = proxy.clone();
        let conn = conn.clone();
        async move { Ok::<_, Infallible>(proxy.handle(req, &conn).await) }
    });
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(timeouts.http_request);
    builder.http2().timer(TokioTimer::new());
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    // `timeout http-keep-alive` (else `timeout http-request`, else `timeout
    // client`): a connection with no request in progress for that long is
    // closed. Time spent waiting for a server is not idle time.
    tokio::select! {
        _ = connection => {}
        _ = idle_watch(&watched, timeouts.idle) => {}
    }
}

/// Returns once `conn` has been idle for `limit`.
async fn idle_watch(conn: &ClientConn, limit: Duration) {
    let tick = (limit / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    loop {
        tokio::time::sleep(tick).await;
        if conn.idle_for().is_some_and(|idle| idle >= limit) {
            return;
        }
    }
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
}

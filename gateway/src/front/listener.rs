//! Listening sockets, opened with socket2 so that SO_REUSEADDR and the
//! backlog are set as HAProxy sets them, and serving one accepted
//! connection: the PROXY header and the TLS handshake when the bind asks,
//! then HTTP/1 on the gateway's own engine (`front/h1_conn.rs`) or HTTP/2
//! on hyper's (h2 by ALPN, or a client opening with the preface); the
//! accept loop is in `front/accept.rs`.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Request;

use crate::message::error_page::SilentClose;
use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::either::Either;

use crate::front::client_io::{ClientIo, ClientSocket};
use crate::front::retirement::Member;
use crate::front::session::Session;
use crate::net::tls::bind::BindTls;
use crate::proxy::{ClientConn, HttpProxy};

/// A frontend's listening socket on `addr`: the inherited one bound
/// there (`fd@N`, systemd, or handed over by the old process on `-x`), else
/// a new one with the frontends' backlog, tied to `interface` when a
/// `bind … interface` names one.
pub fn open_frontend(
    addr: SocketAddr,
    interface: Option<&str>,
) -> std::io::Result<std::net::TcpListener> {
    crate::net::inherit::listener_for(addr)
        .unwrap_or_else(|| bind_on(addr, FRONTEND_BACKLOG, interface))
}

/// How an HTTP bind speaks: `ssl` (its TLS settings) and `proto h2`.
#[derive(Clone, Default)]
pub struct HttpBind {
    pub tls: Option<Arc<BindTls>>,
    pub h2_only: bool,
}

/// A connection's future when it is not plain HTTP.
pub(crate) type BoxedTask = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The backlog of a frontend's own listening socket.
const FRONTEND_BACKLOG: i32 = 1024;

/// One request in progress on a client connection.
pub(crate) type RequestFuture = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<hyper::Response<crate::message::body::ProxyBody>, SilentClose>,
            > + Send,
    >,
>;

/// The service hyper calls for each request of an HTTP/2 client
/// connection. The request future is boxed: hyper keeps a slot the size of
/// the service's future for the whole life of the connection, and the
/// request path's state machine is kilobytes, which an idle connection
/// would otherwise hold (docs/performance.md, scenario 6).
pub(crate) fn request_service(
    proxy: Arc<HttpProxy>,
    conn: Arc<ClientConn>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = hyper::Response<crate::message::body::ProxyBody>,
    Error = SilentClose,
    Future = RequestFuture,
> + Clone {
    service_fn(move |req: Request<Incoming>| {
        let (proxy, conn) = (proxy.clone(), conn.clone());
        let (mut parts, body) = req.into_parts();
        if parts.method == http::Method::CONNECT {
            // An extended CONNECT's stream, once answered 200, is the
            // tunnel's (RFC 8441).
            if let Some(on) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() {
                parts
                    .extensions
                    .insert(crate::message::upgrade::ClientUpgrade::from_hyper(on));
            }
        }
        let head_request = parts.method == http::Method::HEAD;
        let (parts, body) = (
            Box::new(parts),
            crate::message::body::ProxyBody::streamed(body),
        );
        let request: RequestFuture = Box::pin(async move {
            let mut response = proxy.handle(parts, body, &conn).await;
            if head_request {
                // A HEAD the rules made a GET: hyper would drop the
                // server's body (and its connection); it is read to its
                // end before the answer, so that the server connection is
                // back in the pool when the client's next request (on an
                // HTTP/2 connection, maybe already there) wants it.
                let mut unread = None;
                response = response.map_body(|body| {
                    if hyper::body::Body::is_end_stream(&body) {
                        body
                    } else {
                        unread = Some(body);
                        crate::message::body::ProxyBody::Empty
                    }
                });
                if let Some(body) = unread {
                    body.drain().await;
                }
            }
            // An empty errorfile: hyper drops the connection on a service
            // error, writing nothing.
            if response.is_silent() {
                return Err(SilentClose);
            }
            Ok(response.into_http())
        });
        request
    })
}

/// Opens a listening TCP socket on `addr`.
pub fn bind_tcp(addr: SocketAddr, backlog: i32) -> std::io::Result<TcpListener> {
    TcpListener::from_std(bind_std(addr, backlog)?)
}

/// The same socket as a std listener (non-blocking), for binding before
/// the async runtime exists.
pub fn bind_std(addr: SocketAddr, backlog: i32) -> std::io::Result<std::net::TcpListener> {
    bind_on(addr, backlog, None)
}

/// The same, the socket tied to a network interface when one is given
/// (SO_BINDTODEVICE: connections arriving through another are refused).
fn bind_on(
    addr: SocketAddr,
    backlog: i32,
    interface: Option<&str>,
) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if let Some(name) = interface {
        socket
            .bind_device(Some(name.as_bytes()))
            .map_err(|e| std::io::Error::new(e.kind(), format!("interface '{name}': {e}")))?;
    }
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.set_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// Whether connections accepted on `listener` leave the ACK of their
/// first data to the answer (`option tcp-smart-accept`): quick ACKs off on
/// the listening socket, which accepted sockets inherit, as HAProxy sets
/// its listeners; on again otherwise, for a socket a reload keeps. The
/// client's request is then acknowledged by the response instead of by
/// a packet of its own, unless the answer takes the kernel's delayed-ACK
/// time (40 ms) or the gateway waits for more of the request
/// (`front/client_io.rs`).
pub fn set_smart_accept(listener: &TcpListener, smart: bool) -> std::io::Result<()> {
    socket2::SockRef::from(listener).set_quickack(!smart)
}

/// Where an accepted connection comes from: its client `peer` and
/// destination `local` (the addresses of a PROXY protocol header, when
/// the bind has `accept-proxy`), and the listener's descriptor (`-d`).
pub(crate) struct Accepted {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub listener_fd: i32,
}

/// Serves HTTP on an accepted connection; with `tls`, after the TLS
/// handshake.
///
/// Not an `async fn` (see `accept::serve`): the plain path is
/// `serve_client`'s future itself, whose arguments are a pointer or two
/// wide.
pub(crate) fn serve_accepted(
    stream: TcpStream,
    accepted: Accepted,
    proxy: Arc<HttpProxy>,
    bind: HttpBind,
    member: Member,
    permit: OwnedSemaphorePermit,
) -> Either<impl std::future::Future<Output = ()> + Send + 'static, BoxedTask> {
    let mut conn = counted(
        ClientConn::new(accepted.peer, accepted.local),
        &proxy,
        &member,
    );
    conn.trace_fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
    let trace_accept = move |proxy: &HttpProxy, fd: i32, alpn: Option<&str>| {
        crate::log::debug_trace::accept(&proxy.name, accepted.listener_fd, fd, accepted.peer, alpn)
    };
    let Some(tls) = bind.tls else {
        trace_accept(&proxy, conn.trace_fd, None);
        let session = Session {
            conn: Arc::new(conn),
            proxy,
            member,
        };
        return Either::Left(serve_client(stream, session, bind.h2_only, permit));
    };
    // The handshake is part of receiving the request head, as in HAProxy.
    // Boxed, as the other paths: a plain connection's task has no room for
    // the handshake's state.
    let limit = proxy.client_timeouts().http_request;
    Either::Right(Box::pin(async move {
        // The handshake boxed apart, and its result taken by a `let`
        // (an `if let` would keep it to the end of the block): the
        // handshake's state is kilobytes, and the connection's task keeps
        // no room for it once it is over (measured in docs/performance.md,
        // "Idle TLS connections").
        let Some((stream, facts)) = Box::pin(tls.accept(stream, limit)).await else {
            return;
        };
        trace_accept(&proxy, conn.trace_fd, facts.alpn.as_deref());
        let session = Session {
            conn: Arc::new(conn.with_tls(facts)),
            proxy,
            member,
        };
        serve_client(stream, session, bind.h2_only, permit).await;
    }))
}

/// `conn`, counted among the connections its frontend's log lines report
/// when they report them (`%ac`, `%fc`).
fn counted(conn: ClientConn, proxy: &HttpProxy, member: &Member) -> ClientConn {
    match &proxy.logger {
        Some(logger) if logger.needs.connections => {
            conn.counted(Box::new(super::connection_counts::CountedConnection::open(
                member.retirement().clone(),
                proxy.counters.clone(),
            )))
        }
        _ => conn,
    }
}

/// Serves HTTP on a connection accepted on a unix socket. The client has
/// no IP address: `src` and `dst` are `0.0.0.0:0`.
pub(crate) fn serve_unix(
    stream: tokio::net::UnixStream,
    proxy: Arc<HttpProxy>,
    h2_only: bool,
    member: Member,
    permit: OwnedSemaphorePermit,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
    let mut conn = counted(ClientConn::new(unspecified, unspecified), &proxy, &member);
    conn.trace_fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
    let session = Session {
        conn: Arc::new(conn),
        proxy,
        member,
    };
    serve_client(stream, session, h2_only, permit)
}

/// Serves HTTP on an established client connection (plain TCP or after the
/// TLS handshake). With TLS, the protocol negotiated by ALPN is the one
/// spoken; without ALPN, HTTP/1 or h2 with prior knowledge (its preface).
/// HTTP/1 is the gateway's own engine (`front/h1_conn.rs`), HTTP/2
/// hyper's.
///
/// Not an `async fn`: the socket is wrapped (with the frontend's
/// client-side rules) and boxed first, so that the returned future holds a
/// pointer to it rather than room for it beside every future it awaits.
fn serve_client<IO>(
    io: IO,
    session: Session,
    h2_only: bool,
    permit: OwnedSemaphorePermit,
) -> impl std::future::Future<Output = ()> + Send + 'static
where
    IO: ClientSocket + Send + 'static,
{
    // `proto h2` over TLS is ALPN's business; over TCP, ClientIo enforces it.
    let alpn = session.conn.tls.as_ref().and_then(|t| t.alpn.as_deref());
    let http2 = h2_only || alpn == Some("h2");
    let io = Box::new(
        ClientIo::new(io, session.conn.clone(), session.proxy.client_side.clone())
            .http2_only(h2_only && alpn.is_none())
            .holding(permit),
    );
    serve_boxed(io, session, http2)
}

async fn serve_boxed<IO>(mut io: Box<ClientIo<IO>>, session: Session, http2: bool)
where
    IO: ClientSocket + Send + 'static,
{
    let handoff = if http2 {
        io.mark_http2();
        crate::front::h1_conn::Handoff {
            io,
            read: bytes::Bytes::new(),
        }
    } else {
        match crate::front::h1_conn::serve(io, &session).await {
            Some(handoff) => handoff,
            None => return,
        }
    };
    let io = crate::net::prefixed_io::PrefixedIo::new(handoff.read, handoff.io);
    // Boxed: an HTTP/1 connection's task stays the size of its engine.
    Box::pin(serve_http2(io, session)).await
}

/// HTTP/2: hyper's connection, kept for the connection's life.
async fn serve_http2<IO>(io: IO, session: Session)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Session {
        conn,
        proxy,
        member,
    } = session;
    let retirement = member.retirement();
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder.timer(TokioTimer::new()).auto_date_header(false);
    crate::front::h2_front::configure(&mut builder);
    let connection = builder.serve_connection(TokioIo::new(io), request_service(proxy, conn));
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = retirement.requested() => {}
    };
    // A reload or a stop: GOAWAY (race-free), the streams in progress
    // finish.
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a connection accepted on `listener` acknowledges data at
    /// once (`TCP_QUICKACK` as the kernel reports it for the accepted
    /// socket: off while it is in delayed-ACK mode).
    async fn accepted_quickack(listener: &TcpListener) -> bool {
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        socket2::SockRef::from(&accepted).quickack().unwrap()
    }

    #[tokio::test]
    async fn smart_accept_is_inherited_by_accepted_connections_and_can_be_undone() {
        let listener = bind_tcp("127.0.0.1:0".parse().unwrap(), 16).unwrap();
        assert!(accepted_quickack(&listener).await, "the kernel's default");
        set_smart_accept(&listener, true).unwrap();
        assert!(!accepted_quickack(&listener).await);
        // A reload that turns the option off.
        set_smart_accept(&listener, false).unwrap();
        assert!(accepted_quickack(&listener).await);
    }
}

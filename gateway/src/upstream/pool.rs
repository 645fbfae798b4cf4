//! Connections to servers, kept open and reused (HAProxy's `http-reuse
//! safe`: the first request of a client connection gets a connection of its
//! own; later ones may reuse an idle one). A TLS connection is reused only
//! for the same server TLS settings and the same SNI.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::client::conn::{http1, http2};
use hyper_util::rt::TokioExecutor;
use hyper_util::rt::TokioIo;

use crate::message::body::ProxyBody;
use crate::net::connect::ServerSocket;
use crate::net::tls::upstream::TlsTarget;
use crate::net::unix_socket::UnixTarget;
use crate::upstream::server_conn::{H1Conn, ServerStream};

/// Why no connection could be had.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connection timed out")]
    Timeout,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("HTTP handshake failed: {0}")]
    Handshake(#[from] hyper::Error),
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
}

/// What makes idle connections interchangeable: the address, the
/// protocol, and for TLS the server's settings and the SNI sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    addr: SocketAddr,
    /// Boxed, as the rarely used parts of the connections the request
    /// path moves by value: a [`PooledConn`] within 128 bytes is moved in
    /// registers, a larger one by a `memcpy` call each time.
    unix: Option<Box<UnixTarget>>,
    http2: bool,
    tls: Option<(usize, Option<String>)>,
}

impl PoolKey {
    fn new(
        (addr, unix): (SocketAddr, Option<&UnixTarget>),
        http2: bool,
        tls: Option<&TlsTarget>,
    ) -> PoolKey {
        PoolKey {
            addr,
            unix: unix.map(|u| Box::new(u.clone())),
            http2,
            tls: tls.map(|t| (t.tls.id, t.sni.clone())),
        }
    }
}

/// Why a server gave no response: the error, and the request when it was
/// never written (so that it can go elsewhere without a copy).
pub struct SendError {
    /// `None` for a request that never reached hyper.
    pub error: Option<hyper::Error>,
    pub unsent: Option<http::Request<ProxyBody>>,
}

/// A server's answer to come.
pub type ResponseFuture = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<http::Response<hyper::body::Incoming>, SendError>>
            + Send,
    >,
>;

/// The sending half of a server connection: HTTP/1.1, or HTTP/2 with prior
/// knowledge (`proto h2`).
pub enum SendRequest {
    /// HTTP/1.1 driven by the requests' own tasks (`upstream/server_conn.rs`); new
    /// connections start so, and hyper takes one over for a request that
    /// has a body or switches protocols ([`PooledConn::hand_to_hyper`]).
    Own(Box<H1Conn>),
    /// With the task that drives the connection, ended with the sender.
    Http1(http1::SendRequest<ProxyBody>, ConnectionTask),
    /// With what does not change over the connection's life, boxed (see
    /// [`PoolKey::unix`]): the scheme its requests name (`https` over TLS),
    /// the server's address (their authority when they have no `Host`),
    /// and what the server's first SETTINGS allow.
    Http2(http2::SendRequest<ProxyBody>, Box<H2Peer>),
}

/// An HTTP/2 server connection's fixed facts ([`SendRequest::Http2`]).
pub struct H2Peer {
    scheme: &'static str,
    addr: SocketAddr,
    settings: Arc<crate::upstream::h2_peer_settings::PeerSettings>,
}

impl SendRequest {
    /// Sends `request`; the answer's future does not hold the connection.
    /// An HTTP/1 request that was never written comes back with the error;
    /// an HTTP/2 one does not (it was rewritten for HTTP/2 on the way).
    pub fn send_request(&mut self, request: http::Request<ProxyBody>) -> ResponseFuture {
        match self {
            SendRequest::Own(_) => Box::pin(async move {
                // The request path hands these to hyper first.
                Err(SendError {
                    error: None,
                    unsent: Some(request),
                })
            }),
            SendRequest::Http1(s, _) => {
                let sent = s.try_send_request(request);
                Box::pin(async move {
                    sent.await.map_err(|mut e| SendError {
                        unsent: e.take_message(),
                        error: Some(e.into_error()),
                    })
                })
            }
            SendRequest::Http2(s, peer) => {
                let sent = s.send_request(h2_request(request, peer.scheme, peer.addr));
                Box::pin(async move {
                    sent.await.map_err(|error| SendError {
                        error: Some(error),
                        unsent: None,
                    })
                })
            }
        }
    }

    /// Whether a request written on this connection can come back unsent
    /// (see [`SendRequest::send_request`]).
    pub fn returns_unsent(&self) -> bool {
        matches!(self, SendRequest::Http1(..) | SendRequest::Own(_))
    }

    async fn ready(&mut self) -> hyper::Result<()> {
        match self {
            SendRequest::Own(_) => Ok(()),
            SendRequest::Http1(s, _) => s.ready().await,
            SendRequest::Http2(s, ..) => s.ready().await,
        }
    }

    fn is_ready(&mut self) -> bool {
        match self {
            SendRequest::Own(conn) => conn.is_usable(),
            SendRequest::Http1(s, _) => s.is_ready(),
            SendRequest::Http2(s, ..) => s.is_ready(),
        }
    }

    fn is_closed(&mut self) -> bool {
        match self {
            SendRequest::Own(conn) => !conn.is_usable(),
            SendRequest::Http1(s, _) => s.is_closed(),
            SendRequest::Http2(s, ..) => s.is_closed(),
        }
    }

    /// Lets go of a connection between exchanges that is not kept: the
    /// gateway's own connections close with a reset, as HAProxy closes
    /// them ([`H1Conn::close_abortively`]); hyper's close as hyper does.
    fn discard(self) {
        if let SendRequest::Own(conn) = self {
            conn.close_abortively();
        }
    }
}

/// The task driving an HTTP/1 server connection, aborted when the
/// connection's sender is dropped. Without it, a server that never answers
/// or never reads keeps the task, its socket and the client's request body
/// (which the task is still trying to write) alive after `timeout server`
/// gave up on it: a descriptor leaked per timeout, and a client connection
/// that hangs because its body is never finished nor dropped.
pub struct ConnectionTask(Option<tokio::task::AbortHandle>);

impl ConnectionTask {
    /// Lets the task run on after the sender goes: a connection switching
    /// protocols hands its socket to the tunnel when the task completes.
    fn detach(&mut self) {
        self.0 = None;
    }
}

impl Drop for ConnectionTask {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// An HTTP/2 request names its target in `:scheme` and `:authority`: the
/// origin-form request gets both (from Host, else the server's address,
/// as an HTTP/2 client may send neither), and HTTP/1-only fields go.
fn h2_request(
    request: http::Request<ProxyBody>,
    scheme: &str,
    server: SocketAddr,
) -> http::Request<ProxyBody> {
    let (mut parts, body) = request.into_parts();
    let authority = parts
        .headers
        .remove(http::header::HOST)
        .and_then(|h| h.to_str().ok().map(str::to_owned))
        .unwrap_or_else(|| server.to_string());
    let path = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    // An extended CONNECT (RFC 8441) names `https` whatever the
    // connection, as HAProxy writes it.
    let scheme = if parts.extensions.get::<hyper::ext::Protocol>().is_some() {
        "https"
    } else {
        scheme
    };
    if let Ok(uri) = format!("{scheme}://{authority}{path}").parse() {
        parts.uri = uri;
    }
    parts.version = http::Version::HTTP_2;
    parts.headers.remove(http::header::CONNECTION);
    http::Request::from_parts(parts, body)
}

struct IdleConn {
    sender: SendRequest,
    since: Instant,
    /// Released after a request that was not its first: the server keeps
    /// connections alive (HAProxy's "safe" list, which `http-reuse
    /// aggressive` lets a client connection's first request use).
    proven: bool,
}

/// Which idle connection a request may take (`http-reuse`, HAProxy 2.6).
#[derive(Clone, Copy)]
pub enum Reuse<'a> {
    /// None: a new connection (`safe` for a client connection's first
    /// request, and any retry after a stale one).
    New,
    /// One that has served more than one request (`aggressive`, first
    /// request).
    Proven,
    /// Any (`safe` and `aggressive` after the first request, `always`).
    Any,
    /// Only the client connection's own, which no other client connection
    /// ever gets (`never`).
    Own(&'a Arc<PrivateSlot>),
}

/// A client connection's own idle server connection (`http-reuse never`):
/// it goes back here instead of the pool, and closes with the client
/// connection.
#[derive(Default)]
pub struct PrivateSlot(Mutex<Option<(PoolKey, IdleConn)>>);

impl PrivateSlot {
    fn take(&self, key: &PoolKey) -> Option<SendRequest> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match slot.take() {
            Some((k, conn)) if k == *key => Some(conn.sender),
            Some((_, conn)) => {
                // Another server's: this client connection moved on.
                conn.sender.discard();
                None
            }
            None => None,
        }
    }

    fn put(&self, key: PoolKey, conn: IdleConn) {
        let old = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace((key, conn));
        if let Some((_, old)) = old {
            old.sender.discard();
        }
    }
}

/// A connection checked out of the pool for one request.
pub struct PooledConn {
    pub sender: SendRequest,
    key: PoolKey,
    /// It served an earlier request (a failure on it may just be a close race).
    pub reused: bool,
    /// It began with a PROXY protocol header naming one client: never
    /// reused for another (HAProxy marks such connections private).
    pub private: bool,
    /// The client connection it belongs to (`http-reuse never`), where it
    /// goes back instead of the pool.
    owner: Option<Arc<PrivateSlot>>,
}

impl PooledConn {
    /// Whether the connection speaks HTTP/2 (`proto h2`).
    pub fn is_http2(&self) -> bool {
        matches!(self.sender, SendRequest::Http2(..))
    }

    /// What an HTTP/2 server's first SETTINGS allow.
    pub fn peer_settings(&self) -> Option<&Arc<crate::upstream::h2_peer_settings::PeerSettings>> {
        match &self.sender {
            SendRequest::Http2(_, peer) => Some(&peer.settings),
            _ => None,
        }
    }

    /// Whether the gateway drives the connection itself.
    pub fn is_own(&self) -> bool {
        matches!(self.sender, SendRequest::Own(_))
    }

    /// The connection, when the gateway drives it itself.
    pub fn own_mut(&mut self) -> Option<&mut H1Conn> {
        match &mut self.sender {
            SendRequest::Own(conn) => Some(conn),
            _ => None,
        }
    }

    /// Lets hyper drive the connection from now on (for a request with a
    /// body, an upgrade or `CONNECT`). Fails when the connection had
    /// unread bytes, which an idle connection does not have.
    pub async fn hand_to_hyper(self) -> Result<PooledConn, ConnectError> {
        let conn = match self.sender {
            SendRequest::Own(conn) => conn,
            sender => return Ok(PooledConn { sender, ..self }),
        };
        let Some(stream) = conn.into_stream() else {
            return Err(ConnectError::Io(std::io::Error::other(
                "the server sent bytes nobody asked for",
            )));
        };
        Ok(PooledConn {
            sender: Box::pin(handshake(stream, false, ("http", self.key.addr))).await?,
            ..self
        })
    }

    /// Keeps the connection's task running once this is dropped (an
    /// upgrade in progress); otherwise dropping it closes the connection.
    pub fn detach(&mut self) {
        if let SendRequest::Http1(_, task) = &mut self.sender {
            task.detach();
        }
    }
}

pub struct ConnectionPool {
    idle: Mutex<rustc_hash::FxHashMap<PoolKey, Vec<IdleConn>>>,
    max_idle_per_server: usize,
    idle_timeout: Duration,
}

impl ConnectionPool {
    pub fn new(max_idle_per_server: usize, idle_timeout: Duration) -> Arc<Self> {
        Arc::new(ConnectionPool {
            idle: Mutex::new(rustc_hash::FxHashMap::default()),
            max_idle_per_server,
            idle_timeout,
        })
    }

    /// An idle connection to `addr` (with `tls`) when `reuse` allows and no
    /// PROXY protocol header is to be sent; else a new one, which starts
    /// with `proxy_header` when there is one (and is then private).
    /// `connect_timeout` covers the TCP connect and the TLS handshake;
    /// `socket` is what the backend asks of a new connection's socket.
    pub async fn checkout(
        &self,
        (addr, unix): (SocketAddr, Option<&UnixTarget>),
        reuse: Reuse<'_>,
        (connect_timeout, socket): (Option<Duration>, ServerSocket),
        tls: Option<TlsTarget>,
        proxy_header: Option<Vec<u8>>,
        http2: bool,
    ) -> Result<PooledConn, ConnectError> {
        let key = PoolKey::new((addr, unix), http2, tls.as_ref());
        let owner = match reuse {
            Reuse::Own(slot) => Some(slot.clone()),
            _ => None,
        };
        if !matches!(reuse, Reuse::New) && proxy_header.is_none() {
            let next = || match reuse {
                Reuse::Own(slot) => slot.take(&key),
                _ => self.pop_idle(&key, matches!(reuse, Reuse::Proven)),
            };
            while let Some(mut sender) = next() {
                // A connection checked in right after its response ended may
                // need a moment before it takes the next request; most are
                // ready at once, and need no timer armed.
                if sender.is_ready()
                    || matches!(
                        tokio::time::timeout(Duration::from_millis(200), sender.ready()).await,
                        Ok(Ok(()))
                    )
                {
                    return Ok(PooledConn {
                        sender,
                        key,
                        reused: true,
                        private: false,
                        owner,
                    });
                }
            }
        }
        // Boxed: the new-connection path (TLS handshakes especially) is
        // kilobytes of state, and every request's future would carry it
        // and copy it into place, reused connection or not.
        let dial = (connect_timeout, socket);
        let mut opened = Box::pin(open(addr, key, dial, tls, proxy_header, http2)).await?;
        opened.owner = owner;
        Ok(opened)
    }

    /// The most recently idle usable connection for `key` (only a proven
    /// one with `proven_only`); expired and closed ones met on the way go.
    fn pop_idle(&self, key: &PoolKey, proven_only: bool) -> Option<SendRequest> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(key)?;
        let mut at = list.len();
        while at > 0 {
            at -= 1;
            if list[at].sender.is_closed() {
                list.remove(at);
            } else if list[at].since.elapsed() >= self.idle_timeout {
                list.remove(at).sender.discard();
            } else if list[at].proven || !proven_only {
                return Some(list.remove(at).sender);
            }
        }
        None
    }

    /// Puts a connection whose exchange completed back for reuse.
    pub fn checkin(&self, mut conn: PooledConn) {
        if conn.sender.is_closed() {
            return;
        }
        if conn.private {
            conn.sender.discard();
            return;
        }
        let idle_conn = IdleConn {
            sender: conn.sender,
            since: Instant::now(),
            proven: conn.reused,
        };
        if let Some(owner) = conn.owner {
            owner.put(conn.key, idle_conn);
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.entry(conn.key).or_default();
        if list.len() < self.max_idle_per_server {
            list.push(idle_conn);
        } else {
            drop(idle);
            idle_conn.sender.discard();
        }
    }
}

/// A new connection to `addr`: TCP, the PROXY header, TLS, the HTTP
/// handshake, all within `connect_timeout` but the last.
async fn open(
    addr: SocketAddr,
    key: PoolKey,
    (connect_timeout, socket): (Option<Duration>, ServerSocket),
    tls: Option<TlsTarget>,
    proxy_header: Option<Vec<u8>>,
    http2: bool,
) -> Result<PooledConn, ConnectError> {
    let connect = async {
        if let Some(unix) = &key.unix {
            // A server on a unix socket: no TCP options, no TLS (refused at
            // startup), the PROXY header still first.
            let mut stream = unix.connect().await?;
            if let Some(header) = &proxy_header {
                tokio::io::AsyncWriteExt::write_all(&mut stream, header).await?;
            }
            return Ok(ServerStream::Unix(stream));
        }
        // Something is always sent at once: the request, or first the
        // PROXY header or the TLS client hello.
        let mut stream = crate::net::connect::connect(addr, socket).await?;
        // The PROXY header goes first, before any TLS handshake.
        if let Some(header) = &proxy_header {
            tokio::io::AsyncWriteExt::write_all(&mut stream, header).await?;
        }
        let Some(target) = &tls else {
            return Ok(ServerStream::Plain(stream));
        };
        let stream = target
            .tls
            .connect(stream, addr, target.sni.as_deref())
            .await
            .map_err(ConnectError::Tls)?;
        Ok::<_, ConnectError>(ServerStream::Tls(Box::new(stream)))
    };
    let transport = match connect_timeout {
        Some(limit) => tokio::time::timeout(limit, connect)
            .await
            .map_err(|_| ConnectError::Timeout)??,
        None => connect.await?,
    };
    let sender = match transport {
        stream if !http2 => SendRequest::Own(Box::new(H1Conn::new(stream))),
        ServerStream::Plain(stream) => handshake(stream, http2, ("http", addr)).await?,
        ServerStream::Unix(stream) => handshake(stream, http2, ("http", addr)).await?,
        ServerStream::Tls(stream) => Box::pin(handshake(*stream, http2, ("https", addr))).await?,
    };
    Ok(PooledConn {
        sender,
        key,
        reused: false,
        private: proxy_header.is_some(),
        owner: None,
    })
}

/// HTTP/1.1 (or HTTP/2) over an established connection; the connection
/// task runs on its own.
async fn handshake<IO>(
    io: IO,
    http2: bool,
    (scheme, addr): (&'static str, SocketAddr),
) -> Result<SendRequest, ConnectError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    if http2 {
        // HAProxy's windows, as on the front (`front/h2_front.rs`): with hyper's
        // larger ones the `h2` crate sends a connection WINDOW_UPDATE right
        // after its SETTINGS, before acknowledging the server's, which
        // servers such as VTest's take for a protocol error.
        let (io, settings) = crate::upstream::h2_peer_settings::SettingsWatch::new(io);
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .timer(hyper_util::rt::TokioTimer::new())
            .initial_connection_window_size(crate::front::h2_front::INITIAL_WINDOW)
            .initial_stream_window_size(crate::front::h2_front::INITIAL_WINDOW)
            .handshake(TokioIo::new(io))
            .await?;
        tokio::spawn(async move {
            // Errors here are seen by the requests on the connection.
            let _ = connection.await;
        });
        return Ok(SendRequest::Http2(
            sender,
            Box::new(H2Peer {
                scheme,
                addr,
                settings,
            }),
        ));
    }
    let (sender, connection) = http1::Builder::new().handshake(TokioIo::new(io)).await?;
    let task = tokio::spawn(async move {
        // Errors here are seen by the request that owns the connection.
        let _ = connection.with_upgrades().await;
    });
    Ok(SendRequest::Http1(
        sender,
        ConnectionTask(Some(task.abort_handle())),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpStream;

    /// Reads until the connection ends: its error, or `None` at a FIN.
    async fn end_of(socket: &mut TcpStream) -> Option<std::io::ErrorKind> {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 64];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) => return None,
                Ok(_) => continue,
                Err(e) => return Some(e.kind()),
            }
        }
    }

    #[tokio::test]
    async fn connections_the_pool_does_not_keep_are_reset() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let pool = ConnectionPool::new(1, Duration::from_secs(10));
        let open = || {
            pool.checkout(
                (addr, None),
                Reuse::New,
                (None, ServerSocket::default()),
                None,
                None,
                false,
            )
        };
        let first = open().await.unwrap();
        let (mut kept, _) = listener.accept().await.unwrap();
        let second = open().await.unwrap();
        let (mut extra, _) = listener.accept().await.unwrap();
        pool.checkin(first);
        pool.checkin(second);
        // One idle connection per server: the second is let go, with a reset.
        assert_eq!(
            end_of(&mut extra).await,
            Some(std::io::ErrorKind::ConnectionReset)
        );
        let still_open = tokio::time::timeout(Duration::from_millis(50), end_of(&mut kept));
        assert!(still_open.await.is_err(), "the kept one stays open");
        // A connection that began with a PROXY header is never kept.
        let header = b"PROXY TCP4 127.0.0.1 127.0.0.1 1 2\r\n".to_vec();
        let private = pool
            .checkout(
                (addr, None),
                Reuse::New,
                (None, ServerSocket::default()),
                None,
                Some(header),
                false,
            )
            .await
            .unwrap();
        let (mut private_end, _) = listener.accept().await.unwrap();
        pool.checkin(private);
        assert_eq!(
            end_of(&mut private_end).await,
            Some(std::io::ErrorKind::ConnectionReset)
        );
    }

    #[tokio::test]
    async fn a_connection_task_ends_with_its_sender_unless_detached() {
        let forever = tokio::spawn(std::future::pending::<()>());
        drop(ConnectionTask(Some(forever.abort_handle())));
        assert!(forever.await.unwrap_err().is_cancelled());

        let forever = tokio::spawn(std::future::pending::<()>());
        let mut task = ConnectionTask(Some(forever.abort_handle()));
        task.detach();
        drop(task);
        tokio::task::yield_now().await;
        assert!(!forever.is_finished(), "a detached task runs on");
        forever.abort();
    }
}

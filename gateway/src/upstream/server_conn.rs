//! The gateway's own HTTP/1.1 server connections, for the requests that
//! make up most traffic: no body, no upgrade (`GET` and `HEAD`).
//!
//! hyper's client drives each connection in a task of its own: a request
//! crosses tasks through a channel, its answer comes back through another,
//! and the response head goes through hyper's general parser (what that
//! costs per request is measured in docs/performance.md). Here the
//! request's own task writes the head and reads the answer, as
//! HAProxy's single loop does, and the body is read by whoever polls it
//! (`upstream/server_body.rs`). Requests with a body, upgrades and `CONNECT` still go
//! through hyper, which takes the connection over (`into_stream`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use http::request::Parts;
use switchyard::wire::h1::response_head::{self, HeadError, ResponseHead};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A connection to a server: plain TCP or TLS.
pub enum ServerStream {
    Plain(TcpStream),
    /// A server on a unix socket (`unix@PATH`, `/PATH`, `abns@NAME`).
    Unix(tokio::net::UnixStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for ServerStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ServerStream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ServerStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ServerStream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ServerStream::Unix(s) => Pin::new(s).poll_flush(cx),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ServerStream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            ServerStream::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ServerStream::Plain(s) => s.is_write_vectored(),
            ServerStream::Unix(s) => s.is_write_vectored(),
            ServerStream::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// How much a read asks the kernel for at first: a response head and a
/// small body. A read that fills what it asked for doubles the next one,
/// up to [`MAX_READ`], so that a large body moves in large reads (and
/// large frames, written out without copies); the size falls back when
/// the exchange is over ([`H1Conn::exchange_done`]).
const READ_SIZE: usize = 8192;

/// The largest read while a body streams.
const MAX_READ: usize = 256 * 1024;

/// Why an exchange gave no response head.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("writing the request: {0}")]
    Write(io::Error),
    #[error("the server closed the connection before responding")]
    Closed,
    #[error("reading the response: {0}")]
    Read(io::Error),
    #[error("{0}")]
    Head(#[from] HeadError),
}

impl ExchangeError {
    /// The server sent nothing back: on a reused connection, the server
    /// closing it between requests (the request was not processed).
    pub fn nothing_received(&self) -> bool {
        !matches!(self, ExchangeError::Head(_))
    }

    /// The server answered something that is not a usable response.
    pub fn is_junk(&self) -> bool {
        matches!(self, ExchangeError::Head(_))
    }
}

/// An HTTP/1.1 connection to a server, between or during exchanges.
pub struct H1Conn {
    io: ServerStream,
    /// What was read and not yet consumed: the response head, then the
    /// body's bytes as they come.
    pub(crate) buf: BytesMut,
    /// What the next read asks for (see [`READ_SIZE`]).
    read_size: usize,
}

impl H1Conn {
    pub fn new(io: ServerStream) -> Self {
        H1Conn {
            io,
            buf: BytesMut::new(),
            read_size: READ_SIZE,
        }
    }

    /// Writes the head of a bodiless request and reads the response's
    /// head; the body's first bytes stay in the buffer.
    pub async fn send_head(&mut self, parts: &Parts) -> Result<ResponseHead, ExchangeError> {
        let mut head = Vec::new();
        switchyard::wire::h1::request_head::encode(parts, &mut head);
        tokio::io::AsyncWriteExt::write_all(&mut self.io, &head)
            .await
            .map_err(ExchangeError::Write)?;
        let head_request = parts.method == http::Method::HEAD;
        loop {
            if let Some(head) = response_head::take(&mut self.buf, head_request)? {
                return Ok(head);
            }
            let received_before = !self.buf.is_empty();
            let n = std::future::poll_fn(|cx| self.poll_fill(cx))
                .await
                .map_err(ExchangeError::Read)?;
            if n == 0 {
                return Err(if received_before {
                    ExchangeError::Head(HeadError::Malformed("connection closed inside the head"))
                } else {
                    ExchangeError::Closed
                });
            }
        }
    }

    /// Reads more into the buffer: the bytes read, 0 at the end of the
    /// stream.
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.buf.capacity() - self.buf.len() < self.read_size / 4 {
            self.buf.reserve(self.read_size);
        }
        let room = self.buf.capacity() - self.buf.len();
        let read = tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.buf);
        if matches!(read, Poll::Ready(Ok(n)) if n == room) {
            self.read_size = (self.read_size * 2).min(MAX_READ);
        }
        read
    }

    /// The exchange is over: a buffer grown for a large body is let go,
    /// so that an idle pooled connection holds at most a small one.
    pub(crate) fn exchange_done(&mut self) {
        if self.read_size > READ_SIZE {
            self.read_size = READ_SIZE;
            if self.buf.is_empty() {
                self.buf = BytesMut::new();
            }
        }
    }

    /// Whether an idle connection can take a request: the server has not
    /// closed it, nor sent anything unasked. Asks the socket without
    /// waiting (tokio answers from its readiness state, usually without a
    /// system call).
    pub fn is_usable(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        matches!(self.poll_fill(&mut cx), Poll::Pending)
    }

    /// Closes the connection with a reset rather than a FIN, as HAProxy
    /// closes a server connection it does not keep (`SO_LINGER` of zero,
    /// then `close`): the exchange is over and nothing is left to send, so
    /// nothing is lost, and the gateway keeps no `TIME_WAIT` socket per
    /// server connection (docs/performance.md, scenario 4).
    pub fn close_abortively(self) {
        let tcp = match &self.io {
            ServerStream::Plain(tcp) => tcp,
            ServerStream::Tls(tls) => tls.get_ref().0,
            // No TIME_WAIT on a unix socket: a plain close.
            ServerStream::Unix(_) => return,
        };
        let _ = tcp.set_zero_linger();
    }

    /// The socket, for hyper to take over; `None` when bytes are pending
    /// (an idle connection has none).
    pub fn into_stream(self) -> Option<ServerStream> {
        self.buf.is_empty().then_some(self.io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn pair() -> (H1Conn, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, (server, _)) =
            tokio::join!(client, async { listener.accept().await.unwrap() });
        (H1Conn::new(ServerStream::Plain(client.unwrap())), server)
    }

    fn get() -> Parts {
        http::Request::get("/x")
            .header("host", "a")
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[tokio::test]
    async fn a_connection_let_go_is_reset_not_closed() {
        let (conn, mut server) = pair().await;
        conn.close_abortively();
        let mut buf = [0u8; 8];
        let error = server.read(&mut buf).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
        // A connection dropped as before closes with a FIN: end of stream.
        let (conn, mut server) = pair().await;
        drop(conn);
        assert_eq!(server.read(&mut buf).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_head_goes_out_and_the_answer_comes_back_in_pieces() {
        let (mut conn, mut server) = pair().await;
        let origin = tokio::spawn(async move {
            let mut got = vec![0; 256];
            let n = server.read(&mut got).await.unwrap();
            got.truncate(n);
            server
                .write_all(b"HTTP/1.1 200 OK\r\nContent-")
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            server.write_all(b"Length: 2\r\n\r\nok").await.unwrap();
            (got, server)
        });
        let head = conn.send_head(&get()).await.unwrap();
        assert_eq!(head.status, 200);
        let (got, _server) = origin.await.unwrap();
        assert_eq!(got, b"GET /x HTTP/1.1\r\nhost: a\r\n\r\n");
        // The body may still be on its way.
        while conn.buf.len() < 2 {
            std::future::poll_fn(|cx| conn.poll_fill(cx)).await.unwrap();
        }
        assert_eq!(&conn.buf[..], b"ok");
    }

    #[tokio::test]
    async fn a_close_before_any_answer_is_told_apart_from_junk() {
        let (mut conn, mut server) = pair().await;
        tokio::spawn(async move {
            let mut got = [0; 256];
            let _ = server.read(&mut got).await;
        });
        let error = conn.send_head(&get()).await.unwrap_err();
        assert!(error.nothing_received(), "{error}");

        let (mut conn, mut server) = pair().await;
        tokio::spawn(async move {
            let mut got = [0; 256];
            let _ = server.read(&mut got).await;
            let _ = server.write_all(b"SSH-2.0-OpenSSH\r\n\r\n").await;
        });
        let error = conn.send_head(&get()).await.unwrap_err();
        assert!(error.is_junk(), "{error}");
    }

    #[tokio::test]
    async fn an_idle_connection_the_server_closed_is_not_usable() {
        let (mut conn, server) = pair().await;
        assert!(conn.is_usable());
        drop(server);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!conn.is_usable());
    }
}

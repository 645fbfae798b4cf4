//! The client's socket with HAProxy's client-side rules wrapped around it,
//! under both HTTP engines (the gateway's own HTTP/1, hyper's HTTP/2):
//!
//! - `timeout http-request`: a request head not complete in time gets
//!   HAProxy's 408 page and the connection closes. For the first request
//!   the clock starts at accept (so an empty connection gets a 408 too, as
//!   HAProxy 2.6 answers), for later ones at the request's first byte.
//! - `timeout http-keep-alive`: a connection waiting for its next request
//!   that long without a byte closes silently.
//! - `timeout client` on writes: a client that stops reading what it is
//!   sent for that long loses its connection.
//! - `proto h2`: a client that does not open with HTTP/2's preface is
//!   disconnected.
//!
//! Time spent on a request in progress (waiting for a server, streaming a
//! body) is not idle time; body inactivity is watched by the bodies.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use crate::proxy::client_side::ClientSide;
use crate::proxy::ClientConn;

/// The socket under the bytes a [`ClientIo`] reads: TCP, or TLS over it.
pub trait ClientSocket: AsyncRead + AsyncWrite + Unpin {
    /// Turns the kernel's quick acknowledgements back on for this
    /// connection (`TCP_QUICKACK`), sending one now if it is due.
    fn quick_acks_on(&self) -> io::Result<()>;
}

impl ClientSocket for TcpStream {
    fn quick_acks_on(&self) -> io::Result<()> {
        self.set_quickack(true)
    }
}

/// A client on a unix socket: no TCP acknowledgements to tune.
impl ClientSocket for tokio::net::UnixStream {
    fn quick_acks_on(&self) -> io::Result<()> {
        Ok(())
    }
}

/// An in-memory client, for the tests of the layers above.
#[cfg(test)]
impl ClientSocket for tokio::io::DuplexStream {
    fn quick_acks_on(&self) -> io::Result<()> {
        Ok(())
    }
}

impl ClientSocket for tokio_rustls::server::TlsStream<TcpStream> {
    fn quick_acks_on(&self) -> io::Result<()> {
        self.get_ref().0.quick_acks_on()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Unknown,
    Http2,
}

/// What the gateway itself is writing in place of hyper.
enum Outgoing {
    /// Nothing: bytes pass through.
    Through,
    /// A page being written (what is left of it); afterwards the
    /// connection is over. Boxed: rare, and every connection would carry
    /// its room.
    Page(Box<Bytes>),
    /// The page is out (or the connection was closed silently): reads see
    /// end of stream and writes are dropped.
    Over,
}

pub struct ClientIo<S> {
    inner: S,
    conn: Arc<ClientConn>,
    side: Arc<ClientSide>,
    protocol: Protocol,
    out: Outgoing,
    /// Which idle period `first_byte` belongs to (requests started so far).
    head_epoch: u64,
    /// When the first byte of the request being waited for arrived.
    first_byte: Option<Instant>,
    /// Made the first time a read waits: a new connection's request is
    /// often there by its first read.
    head_timer: Option<Pin<Box<Sleep>>>,
    /// Made the first time a write blocks: most connections never see
    /// one, and an idle connection should not carry a timer for it.
    write_timer: Option<Pin<Box<Sleep>>>,
    write_blocked: bool,
    /// `bind … proto h2`: a client that does not open with the HTTP/2
    /// preface is disconnected.
    require_http2: bool,
    /// The listener left quick ACKs off (`tcp-smart-accept`) and they are
    /// not back on yet.
    delayed_acks: bool,
    /// The connection switched protocols: no head is awaited any more.
    tunnel: bool,
    /// A request body is being read, perhaps after its response (what is
    /// left of it): those bytes are no head, and no head timeout runs.
    body: bool,
    /// The connection's place under global `maxconn`, given back when the
    /// socket closes.
    _permit: Option<OwnedSemaphorePermit>,
}

impl<S> ClientIo<S> {
    pub fn new(inner: S, conn: Arc<ClientConn>, side: Arc<ClientSide>) -> Self {
        ClientIo {
            delayed_acks: side.smart_accept,
            inner,
            conn,
            side,
            protocol: Protocol::Unknown,
            out: Outgoing::Through,
            head_epoch: 0,
            first_byte: None,
            head_timer: None,
            write_timer: None,
            write_blocked: false,
            require_http2: false,
            tunnel: false,
            body: false,
            _permit: None,
        }
    }

    /// Holds `permit` for as long as the socket is open.
    pub fn holding(mut self, permit: OwnedSemaphorePermit) -> Self {
        self._permit = Some(permit);
        self
    }

    /// Only HTTP/2 clients (`proto h2`).
    pub fn http2_only(mut self, only: bool) -> Self {
        self.require_http2 = only;
        self
    }

    /// The client speaks HTTP/2 (its preface, or ALPN): a head not in time
    /// closes the connection without a page.
    pub fn mark_http2(&mut self) {
        self.protocol = Protocol::Http2;
    }

    /// The connection switched protocols (a tunnel's now): reads wait for
    /// no head; the tunnel watches its own idle time.
    pub fn become_tunnel(&mut self) {
        self.tunnel = true;
    }

    /// Whether the bytes read are a request body's (from its head to the
    /// body's end, however long after its response): a client slow to
    /// send what is left of a body answered early gets no 408 for it.
    pub fn reading_body(&mut self, body: bool) {
        self.body = body;
    }

    /// The first bytes of the next request head were read with the last
    /// request (pipelined, or bytes after its body): its `timeout
    /// http-request` runs from now, not from the keep-alive wait.
    pub fn head_begun(&mut self) {
        if let Some((epoch, _)) = self.conn.waiting() {
            self.head_epoch = epoch;
            self.first_byte = Some(Instant::now());
        }
    }
}

impl<S: AsyncWrite + Unpin> ClientIo<S> {
    /// Writes the rest of the page, if one is being written.
    fn poll_page(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Outgoing::Page(rest) = &mut self.out {
            if rest.is_empty() {
                self.out = Outgoing::Over;
                break;
            }
            match ready!(Pin::new(&mut self.inner).poll_write(cx, rest)) {
                Ok(0) => {
                    self.out = Outgoing::Over;
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                Ok(n) => rest.advance(n),
                Err(e) => {
                    self.out = Outgoing::Over;
                    return Poll::Ready(Err(e));
                }
            }
        }
        Poll::Ready(Ok(()))
    }

    /// `timeout client` on a write the client does not take.
    fn watch_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        let Some(limit) = self.side.timeouts.client else {
            return polled;
        };
        if polled.is_ready() {
            self.write_blocked = false;
            return polled;
        }
        let deadline = Instant::now() + limit;
        let timer = self
            .write_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.write_blocked {
            self.write_blocked = true;
            timer.as_mut().reset(deadline);
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "timeout client: the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Starts writing `page`; the connection is over once it is out.
    fn replace_with(&mut self, page: Bytes) {
        self.out = Outgoing::Page(Box::new(page));
    }

    /// Answers a request head the parser refused with the frontend's 400
    /// page, and ends the connection.
    pub async fn refuse(&mut self) {
        self.replace_with(self.side.pages.bad_request.clone());
        let _ = std::future::poll_fn(|cx| self.poll_page(cx)).await;
        let _ = std::future::poll_fn(|cx| Pin::new(&mut self.inner).poll_shutdown(cx)).await;
    }
}

impl<S: ClientSocket> ClientIo<S> {
    /// The head deadline for the request being waited for, and whether
    /// missing it earns a 408 (else the connection closes silently).
    fn head_deadline(&mut self, epoch: u64, since: Instant) -> (Instant, bool) {
        match (epoch, self.first_byte) {
            (0, _) => (since + self.side.timeouts.http_request, true),
            (_, Some(first)) => (first + self.side.timeouts.http_request, true),
            (_, None) => (since + self.side.timeouts.idle, false),
        }
    }

    /// A read is waiting for more of a request (the rest of a head, or a
    /// body): the client may be holding its next bytes until the last ones
    /// are acknowledged (Nagle), which a delayed ACK would hold up by up
    /// to 40 ms. Quick ACKs go back on, once: HAProxy does the same when it
    /// waits for more of a request on a `tcp-smart-accept` listener.
    fn more_of_a_request_awaited(&mut self) {
        if std::mem::take(&mut self.delayed_acks) {
            if let Err(e) = self.inner.quick_acks_on() {
                tracing::debug!(error = %e, "cannot turn quick ACKs back on");
            }
        }
    }
}

impl<S: ClientSocket> AsyncRead for ClientIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.out {
            Outgoing::Through => {}
            Outgoing::Page(_) => {
                ready!(this.poll_page(cx))?;
                return Poll::Ready(Ok(()));
            }
            Outgoing::Over => return Poll::Ready(Ok(())),
        }
        if this.tunnel {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        let ended = match &polled {
            Poll::Ready(Ok(())) => buf.filled().len() == before && buf.remaining() > 0,
            Poll::Ready(Err(_)) => true,
            Poll::Pending => false,
        };
        if ended {
            // The client closed its side (`option abortonclose` acts on it).
            this.conn.gone.mark();
        }
        let got = &buf.filled()[before..];
        if this.require_http2 && this.protocol == Protocol::Unknown && !got.is_empty() {
            // HTTP/1 on an h2-only bind: nothing to answer, close.
            let preface = b"PRI ";
            if !(got.starts_with(preface) || preface.starts_with(got)) {
                this.out = Outgoing::Over;
                buf.set_filled(before);
                return Poll::Ready(Ok(()));
            }
            this.mark_http2();
        }
        let waiting = if this.body { None } else { this.conn.waiting() };
        let Some((epoch, since)) = waiting else {
            // A request in progress: a read that waits is for its body.
            if polled.is_pending() {
                this.more_of_a_request_awaited();
            }
            this.conn.wake_when_idle(cx.waker());
            return polled;
        };
        if epoch != this.head_epoch {
            this.head_epoch = epoch;
            this.first_byte = None;
        }
        if !got.is_empty() && this.first_byte.is_none() {
            this.first_byte = Some(Instant::now());
        }
        if polled.is_ready() {
            return polled;
        }
        if this.first_byte.is_some() {
            // Part of a head is in.
            this.more_of_a_request_awaited();
        }
        let (deadline, answer) = this.head_deadline(epoch, since);
        let timer = match &mut this.head_timer {
            Some(timer) => {
                timer.as_mut().reset(deadline);
                timer
            }
            None => this
                .head_timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let probe = epoch == 0 && this.first_byte.is_none() && this.side.ignore_probes;
        if answer && this.protocol != Protocol::Http2 && !probe {
            this.replace_with(this.side.pages.request_timeout.clone());
            ready!(this.poll_page(cx))?;
        } else {
            this.out = Outgoing::Over;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for ClientIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.out {
            Outgoing::Through => {
                let polled = Pin::new(&mut this.inner).poll_write(cx, data);
                this.watch_write(cx, polled)
            }
            Outgoing::Page(_) => {
                let polled = this.poll_page(cx);
                ready!(this.watch_write(cx, polled))?;
                Poll::Ready(Ok(data.len()))
            }
            Outgoing::Over => Poll::Ready(Ok(data.len())),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !matches!(this.out, Outgoing::Through) {
            let first = bufs.iter().find(|b| !b.is_empty());
            let data = first.map(|b| &b[..]).unwrap_or(&[]);
            return Pin::new(this).poll_write(cx, data);
        }
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_page(cx))?;
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch_write(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_page(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::client_side::{ClientTimeouts, ConnectionPages};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A client socket over an in-memory pipe that counts the times quick
    /// ACKs are turned back on.
    struct Counted {
        pipe: tokio::io::DuplexStream,
        quickacks: Arc<AtomicUsize>,
    }

    impl AsyncRead for Counted {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().pipe).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Counted {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            data: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().pipe).poll_write(cx, data)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().pipe).poll_flush(cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().pipe).poll_shutdown(cx)
        }
    }

    impl ClientSocket for Counted {
        fn quick_acks_on(&self) -> io::Result<()> {
            self.quickacks.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }

    /// A guarded pipe, its client end, the connection's state, and how
    /// many times quick ACKs were turned back on.
    fn guarded_with(
        timeouts: ClientTimeouts,
        smart_accept: bool,
        ignore_probes: bool,
    ) -> (
        ClientIo<Counted>,
        tokio::io::DuplexStream,
        Arc<ClientConn>,
        Arc<AtomicUsize>,
    ) {
        let (server_side, client_side) = tokio::io::duplex(1 << 16);
        let addr = "127.0.0.1:1".parse().unwrap();
        let conn = Arc::new(ClientConn::new(addr, addr));
        let pages = ConnectionPages {
            bad_request: Bytes::from_static(b"HTTP/1.1 400 Bad request\r\n\r\nbad"),
            request_timeout: Bytes::from_static(b"HTTP/1.1 408 Request Time-out\r\n\r\nlate"),
        };
        let quickacks = Arc::new(AtomicUsize::new(0));
        let socket = Counted {
            pipe: server_side,
            quickacks: quickacks.clone(),
        };
        let side = Arc::new(ClientSide {
            timeouts,
            pages,
            smart_accept,
            ignore_probes,
            watch_close: false,
        });
        (
            ClientIo::new(socket, conn.clone(), side),
            client_side,
            conn,
            quickacks,
        )
    }

    fn guarded(
        timeouts: ClientTimeouts,
    ) -> (ClientIo<Counted>, tokio::io::DuplexStream, Arc<ClientConn>) {
        let (io, client, conn, _) = guarded_with(timeouts, false, false);
        (io, client, conn)
    }

    const TIMEOUTS: ClientTimeouts = ClientTimeouts {
        http_request: Duration::from_secs(3),
        idle: Duration::from_secs(1),
        client: Some(Duration::from_secs(10)),
    };

    #[tokio::test(start_paused = true)]
    async fn an_incomplete_first_head_gets_408_at_the_http_request_timeout() {
        let (mut io, mut client, _conn) = guarded(TIMEOUTS);
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let started = Instant::now();
        let mut head = [0u8; 64];
        let n = io.read(&mut head).await.unwrap();
        assert_eq!(&head[..n], b"GET / HTTP/1.1\r\n");
        let n = io.read(&mut head).await.unwrap();
        assert_eq!(n, 0, "the connection ends after the page");
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        let mut seen = Vec::new();
        drop(io);
        client.read_to_end(&mut seen).await.unwrap();
        assert_eq!(seen, b"HTTP/1.1 408 Request Time-out\r\n\r\nlate");
    }

    #[tokio::test(start_paused = true)]
    async fn with_http_ignore_probes_an_empty_connection_closes_without_a_page() {
        // Nothing sent: closed silently at `timeout http-request`.
        let (mut io, mut client, _conn, _) = guarded_with(TIMEOUTS, false, true);
        let started = Instant::now();
        let mut head = [0u8; 64];
        assert_eq!(io.read(&mut head).await.unwrap(), 0);
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        drop(io);
        let mut seen = Vec::new();
        client.read_to_end(&mut seen).await.unwrap();
        assert!(seen.is_empty(), "no page for a probe");
        // Part of a head sent: the 408 page still.
        let (mut io, mut client, _conn, _) = guarded_with(TIMEOUTS, false, true);
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        assert_eq!(io.read(&mut head).await.unwrap(), 16);
        assert_eq!(io.read(&mut head).await.unwrap(), 0);
        drop(io);
        let mut seen = Vec::new();
        client.read_to_end(&mut seen).await.unwrap();
        assert_eq!(seen, b"HTTP/1.1 408 Request Time-out\r\n\r\nlate");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_keep_alive_connection_closes_silently() {
        let (mut io, mut client, conn) = guarded(TIMEOUTS);
        conn.first_request();
        conn.request_started();
        conn.request_finished();
        let started = Instant::now();
        let mut head = [0u8; 64];
        assert_eq!(io.read(&mut head).await.unwrap(), 0);
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        drop(io);
        let mut seen = Vec::new();
        client.read_to_end(&mut seen).await.unwrap();
        assert!(seen.is_empty(), "no page for an idle connection");
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_request_gets_http_request_from_its_first_byte() {
        let (mut io, mut client, conn) = guarded(TIMEOUTS);
        conn.first_request();
        conn.request_started();
        conn.request_finished();
        tokio::time::sleep(Duration::from_millis(500)).await;
        client.write_all(b"GET /").await.unwrap();
        let first_byte = Instant::now();
        let mut head = [0u8; 64];
        assert_eq!(io.read(&mut head).await.unwrap(), 5);
        assert_eq!(io.read(&mut head).await.unwrap(), 0);
        assert_eq!(first_byte.elapsed(), Duration::from_secs(3));
        drop(io);
        let mut seen = Vec::new();
        client.read_to_end(&mut seen).await.unwrap();
        assert!(seen.starts_with(b"HTTP/1.1 408"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_progress_is_never_idle() {
        let (mut io, _client, conn) = guarded(TIMEOUTS);
        conn.first_request();
        conn.request_started();
        let mut head = [0u8; 8];
        let read = tokio::time::timeout(Duration::from_secs(60), io.read(&mut head)).await;
        assert!(read.is_err(), "still waiting after a minute");
    }

    #[tokio::test(start_paused = true)]
    async fn quick_acks_go_back_on_once_when_part_of_a_head_is_in_and_more_is_awaited() {
        let (mut io, mut client, _conn, quickacks) = guarded_with(TIMEOUTS, true, false);
        let mut head = [0u8; 64];
        // Nothing in yet: the client has sent nothing to acknowledge.
        let waited = tokio::time::timeout(Duration::from_millis(10), io.read(&mut head)).await;
        assert!(waited.is_err());
        assert_eq!(quickacks.load(Ordering::Relaxed), 0);
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        assert_eq!(io.read(&mut head).await.unwrap(), 16);
        assert_eq!(quickacks.load(Ordering::Relaxed), 0, "no wait yet");
        let waited = tokio::time::timeout(Duration::from_millis(10), io.read(&mut head)).await;
        assert!(waited.is_err());
        assert_eq!(quickacks.load(Ordering::Relaxed), 1);
        let waited = tokio::time::timeout(Duration::from_millis(10), io.read(&mut head)).await;
        assert!(waited.is_err());
        assert_eq!(quickacks.load(Ordering::Relaxed), 1, "once per connection");
    }

    #[tokio::test(start_paused = true)]
    async fn quick_acks_go_back_on_when_a_body_is_awaited_and_not_between_requests() {
        let (mut io, _client, conn, quickacks) = guarded_with(TIMEOUTS, true, false);
        conn.first_request();
        conn.request_started();
        conn.request_finished();
        // Idle between requests: no request is partly in.
        let mut buf = [0u8; 64];
        let waited = tokio::time::timeout(Duration::from_millis(10), io.read(&mut buf)).await;
        assert!(waited.is_err());
        assert_eq!(quickacks.load(Ordering::Relaxed), 0);
        // A request in progress whose body is read: more of it is awaited.
        conn.request_started();
        let waited = tokio::time::timeout(Duration::from_millis(10), io.read(&mut buf)).await;
        assert!(waited.is_err());
        assert_eq!(quickacks.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn without_smart_accept_quick_acks_are_left_alone() {
        let (mut io, mut client, _conn, quickacks) = guarded_with(TIMEOUTS, false, false);
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let mut head = [0u8; 64];
        assert_eq!(io.read(&mut head).await.unwrap(), 16);
        let waited = tokio::time::timeout(Duration::from_millis(10), io.read(&mut head)).await;
        assert!(waited.is_err());
        assert_eq!(quickacks.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_refused_head_gets_the_frontends_page_and_the_connection_ends() {
        let (mut io, mut client, _conn) = guarded(TIMEOUTS);
        client.write_all(b"GARBAGE\r\n\r\n").await.unwrap();
        let mut head = [0u8; 64];
        assert!(io.read(&mut head).await.unwrap() > 0);
        io.refuse().await;
        assert_eq!(io.read(&mut head).await.unwrap(), 0, "over");
        drop(io);
        let mut seen = Vec::new();
        client.read_to_end(&mut seen).await.unwrap();
        assert_eq!(seen, b"HTTP/1.1 400 Bad request\r\n\r\nbad");
    }
}

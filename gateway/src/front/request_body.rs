//! An HTTP/1 client's request body, read from the client's connection as
//! the request path takes it (`Content-Length` bytes, or chunks decoded by
//! `wire::h1::chunked`), while the same connection writes the response:
//! the socket is shared between the body, which the request path may pass
//! to another task (hyper's connection to the server), and the
//! connection's own task, each taking it for one poll at a time.
//!
//! `Expect: 100-continue`: when the body is first wanted and none of it
//! has come yet, the interim `100 Continue` goes out first; a body that
//! came with its head gets none (as HAProxy answers).
//!
//! Once the response is out, the connection waits for the request path to
//! let the body go, reads what is left of it (the client sent it for this
//! request; the next request follows it), and takes the socket back with
//! the bytes read past the body.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use hyper::body::{Frame, SizeHint};
use switchyard::wire::h1::chunked::{Decoder, Step};
use switchyard::wire::h1::request_parse::Framing;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::front::client_io::{ClientIo, ClientSocket};
use crate::message::body::{BoxError, ConnectionBody};

/// The interim response to `Expect: 100-continue`.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The most read at once for a body.
const READ: usize = 16_384;

/// Where the body stands.
enum State {
    /// This many bytes still to come.
    Length(u64),
    Chunked(Decoder),
    /// Read whole.
    Done,
    /// Malformed, or the client left: the connection cannot go on.
    Failed,
}

/// A client connection whose request has a body.
pub(crate) struct Shared<IO> {
    /// The socket; `None` once the connection took it back.
    io: Option<Box<ClientIo<IO>>>,
    /// Read and not yet passed on: the body's bytes, then the next
    /// request's.
    buf: BytesMut,
    state: State,
    /// How much of `100 Continue` is still to write; `None` when none is due.
    continue_due: Option<usize>,
    /// The request path still holds the body.
    held: bool,
    /// The connection waiting for the body to be let go.
    waiter: Option<Waker>,
}

/// The connection's handle on a shared client connection.
pub(crate) struct SharedConn<IO>(Arc<Mutex<Shared<IO>>>);

/// The body as the request path reads it.
pub(crate) struct RequestBody<IO>(Arc<Mutex<Shared<IO>>>);

fn lock<IO>(shared: &Mutex<Shared<IO>>) -> MutexGuard<'_, Shared<IO>> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

impl<IO: ClientSocket> SharedConn<IO> {
    /// Shares `io` between the connection and the body `framing` says
    /// follows; `read` is what came after the head.
    pub fn new(
        mut io: Box<ClientIo<IO>>,
        read: &[u8],
        framing: Framing,
        expects_continue: bool,
    ) -> (SharedConn<IO>, RequestBody<IO>) {
        let state = match framing {
            Framing::None => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Decoder::default()),
        };
        io.reading_body(true);
        let shared = Arc::new(Mutex::new(Shared {
            io: Some(io),
            buf: BytesMut::from(read),
            state,
            continue_due: (expects_continue && read.is_empty()).then_some(0),
            held: true,
            waiter: None,
        }));
        (SharedConn(shared.clone()), RequestBody(shared))
    }

    /// Waits until the request path has let the body go (or read it
    /// whole), reads what is left of it (for at most `limit` without a
    /// byte), and gives the socket back with the bytes read past the body;
    /// `None` when the connection cannot go on (a malformed body, the
    /// client gone or silent, a `100 Continue` never sent for a body the
    /// client may never send).
    pub async fn finish(self, limit: Option<Duration>) -> Option<(Box<ClientIo<IO>>, Bytes)> {
        self.let_go().await;
        let done = self.drain(limit).await;
        let mut shared = lock(&self.0);
        let mut io = shared.io.take()?;
        io.reading_body(false);
        done.then(|| (io, std::mem::take(&mut shared.buf).freeze()))
    }

    /// Ends the connection after its last response: the client sees the
    /// end of the answer at once (the write side shuts), then what is left
    /// of the body is read and dropped (for at most `limit` without a
    /// byte), never taken for a next request. Read rather than left: a
    /// socket closed with bytes unread resets the connection, and a reset
    /// may cost the client the answer it has not read yet.
    pub async fn close(mut self, limit: Option<Duration>) {
        self.let_go().await;
        let _ = self.shutdown().await;
        self.drain(limit).await;
    }

    /// Waits until the request path has let the body go or read it whole.
    async fn let_go(&self) {
        poll_fn(|cx| {
            let mut shared = lock(&self.0);
            if !shared.held || matches!(shared.state, State::Done | State::Failed) {
                return Poll::Ready(());
            }
            shared.waiter = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }

    /// Reads the body to its end (for at most `limit` without a byte):
    /// whether it ended well.
    async fn drain(&self, limit: Option<Duration>) -> bool {
        let drained = async {
            loop {
                let next = poll_fn(|cx| {
                    let mut shared = lock(&self.0);
                    if shared.continue_due == Some(0) {
                        // The client may be waiting for the interim
                        // response the request path never asked for.
                        return Poll::Ready(Err(()));
                    }
                    shared.poll_data(cx).map(|frame| match frame {
                        None => Ok(true),
                        Some(Ok(_)) => Ok(false),
                        Some(Err(_)) => Err(()),
                    })
                })
                .await;
                match next {
                    Ok(true) => return true,
                    Ok(false) => {}
                    Err(()) => return false,
                }
            }
        };
        match limit {
            Some(limit) => tokio::time::timeout(limit, drained).await.unwrap_or(false),
            None => drained.await,
        }
    }

    /// Takes the socket back as it is (the connection switches protocols),
    /// with what was read past the head.
    pub fn take(self) -> Option<(Box<ClientIo<IO>>, Bytes)> {
        let mut shared = lock(&self.0);
        let mut io = shared.io.take()?;
        io.reading_body(false);
        Some((io, std::mem::take(&mut shared.buf).freeze()))
    }
}

impl<IO: ClientSocket> Shared<IO> {
    /// The next piece of the body: `None` at its end.
    fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BoxError>>> {
        loop {
            match &mut self.state {
                State::Done => return Poll::Ready(None),
                State::Failed => {
                    return Poll::Ready(Some(Err("the request body broke off".into())))
                }
                State::Length(left) => {
                    if !self.buf.is_empty() {
                        let n = usize::try_from(*left)
                            .unwrap_or(usize::MAX)
                            .min(self.buf.len());
                        let data = self.buf.split_to(n).freeze();
                        *left -= n as u64;
                        if *left == 0 {
                            self.state = State::Done;
                        }
                        return Poll::Ready(Some(Ok(data)));
                    }
                }
                State::Chunked(decoder) => match decoder.step(&mut self.buf) {
                    Ok(Step::Data(data)) => return Poll::Ready(Some(Ok(data))),
                    Ok(Step::Done) => {
                        self.state = State::Done;
                        return Poll::Ready(None);
                    }
                    Ok(Step::NeedMore) => {}
                    Err(e) => {
                        self.state = State::Failed;
                        return Poll::Ready(Some(Err(e.into())));
                    }
                },
            }
            if let Err(e) = ready!(self.poll_continue(cx)) {
                self.state = State::Failed;
                return Poll::Ready(Some(Err(e.into())));
            }
            let Some(io) = self.io.as_mut() else {
                self.state = State::Failed;
                continue;
            };
            self.buf.reserve(READ);
            match ready!(tokio_util::io::poll_read_buf(
                Pin::new(io),
                cx,
                &mut self.buf
            )) {
                Ok(0) | Err(_) => self.state = State::Failed,
                Ok(_) => {}
            }
        }
    }

    /// Writes what is left of a due `100 Continue`.
    fn poll_continue(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(written) = self.continue_due {
            let Some(io) = self.io.as_mut() else {
                return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
            };
            if written == CONTINUE.len() {
                ready!(Pin::new(&mut **io).poll_flush(cx))?;
                self.continue_due = None;
                break;
            }
            let n = ready!(Pin::new(&mut **io).poll_write(cx, &CONTINUE[written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.continue_due = Some(written + n);
        }
        Poll::Ready(Ok(()))
    }

    fn size_hint(&self) -> SizeHint {
        match self.state {
            State::Length(left) => SizeHint::with_exact(left),
            State::Done => SizeHint::with_exact(0),
            State::Chunked(_) | State::Failed => SizeHint::default(),
        }
    }
}

impl<IO: ClientSocket + Send> ConnectionBody for RequestBody<IO> {
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        lock(&self.0)
            .poll_data(cx)
            .map(|data| data.map(|data| data.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        matches!(lock(&self.0).state, State::Done)
    }

    fn size_hint(&self) -> SizeHint {
        lock(&self.0).size_hint()
    }
}

impl<IO> Drop for RequestBody<IO> {
    fn drop(&mut self) {
        let mut shared = lock(&self.0);
        shared.held = false;
        if let Some(waiter) = shared.waiter.take() {
            drop(shared);
            waiter.wake();
        }
    }
}

/// Writing the response on the shared socket.
impl<IO: ClientSocket> AsyncWrite for SharedConn<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match lock(&self.0).io.as_mut() {
            Some(io) => Pin::new(&mut **io).poll_write(cx, data),
            None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match lock(&self.0).io.as_mut() {
            Some(io) => Pin::new(&mut **io).poll_write_vectored(cx, bufs),
            None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match lock(&self.0).io.as_mut() {
            Some(io) => Pin::new(&mut **io).poll_flush(cx),
            None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match lock(&self.0).io.as_mut() {
            Some(io) => Pin::new(&mut **io).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::client_side::{ClientSide, ClientTimeouts, ConnectionPages};
    use crate::proxy::ClientConn;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    /// A shared connection whose request (in progress) has a body framed
    /// by `framing`, `read` come with the head; and the client's end.
    fn shared(
        read: &[u8],
        framing: Framing,
        expects_continue: bool,
    ) -> (
        SharedConn<DuplexStream>,
        RequestBody<DuplexStream>,
        DuplexStream,
    ) {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        let addr = "127.0.0.1:1".parse().unwrap();
        let conn = Arc::new(ClientConn::new(addr, addr));
        conn.first_request();
        conn.request_started();
        let side = Arc::new(ClientSide {
            timeouts: ClientTimeouts {
                http_request: Duration::from_secs(5),
                idle: Duration::from_secs(5),
                client: None,
            },
            pages: ConnectionPages {
                bad_request: Bytes::from_static(b"400"),
                request_timeout: Bytes::from_static(b"408"),
            },
            smart_accept: false,
            ignore_probes: false,
            watch_close: false,
        });
        let io = Box::new(ClientIo::new(ours, conn, side));
        let (shared, body) = SharedConn::new(io, read, framing, expects_continue);
        (shared, body, theirs)
    }

    /// The body's data until its end, or the error.
    async fn collect(body: &mut RequestBody<DuplexStream>) -> Result<Vec<u8>, BoxError> {
        let mut data = Vec::new();
        while let Some(frame) = poll_fn(|cx| body.poll_frame(cx)).await {
            data.extend_from_slice(&frame?.into_data().unwrap());
        }
        Ok(data)
    }

    #[tokio::test]
    async fn a_length_body_is_read_across_reads_and_what_follows_is_kept() {
        let (shared, mut body, mut client) = shared(b"ab", Framing::Length(5), false);
        assert_eq!(body.size_hint().exact(), Some(5));
        client.write_all(b"cdeGET / HTTP/1.1\r\n").await.unwrap();
        assert_eq!(collect(&mut body).await.unwrap(), b"abcde");
        assert!(body.is_end_stream());
        drop(body);
        let (_io, rest) = shared.finish(None).await.unwrap();
        assert_eq!(&rest[..], b"GET / HTTP/1.1\r\n");
    }

    #[tokio::test]
    async fn a_chunked_body_is_decoded_and_its_trailers_dropped() {
        let (shared, mut body, mut client) = shared(b"4\r\nab", Framing::Chunked, false);
        client
            .write_all(b"cd\r\n0\r\nX-T: 1\r\n\r\nnext")
            .await
            .unwrap();
        assert_eq!(collect(&mut body).await.unwrap(), b"abcd");
        drop(body);
        let (_io, rest) = shared.finish(None).await.unwrap();
        assert_eq!(&rest[..], b"next");
    }

    #[tokio::test]
    async fn a_malformed_chunk_fails_the_body_and_the_connection() {
        let (shared, mut body, _client) = shared(b"zz\r\nabc\r\n", Framing::Chunked, false);
        assert!(collect(&mut body).await.is_err());
        drop(body);
        assert!(shared.finish(None).await.is_none());
    }

    #[tokio::test]
    async fn continue_goes_out_only_when_no_body_came_with_the_head() {
        let (_shared, mut body, mut client) = shared(b"", Framing::Length(2), true);
        let reading = tokio::spawn(async move { collect(&mut body).await.unwrap() });
        let mut interim = [0u8; CONTINUE.len()];
        client.read_exact(&mut interim).await.unwrap();
        assert_eq!(&interim, CONTINUE);
        client.write_all(b"ok").await.unwrap();
        assert_eq!(reading.await.unwrap(), b"ok");

        let (shared, mut body, mut client) = shared(b"ok", Framing::Length(2), true);
        assert_eq!(collect(&mut body).await.unwrap(), b"ok");
        drop(body);
        let (io, _) = shared.finish(None).await.unwrap();
        drop(io);
        let mut seen = Vec::new();
        client.read_to_end(&mut seen).await.unwrap();
        assert!(seen.is_empty(), "no 100 Continue for a body already there");
    }

    #[tokio::test]
    async fn a_body_let_go_unread_is_read_to_its_end_before_the_next_request() {
        let (shared, body, mut client) = shared(b"abc", Framing::Length(6), false);
        drop(body);
        client.write_all(b"defGET").await.unwrap();
        let (_io, rest) = shared.finish(Some(Duration::from_secs(5))).await.unwrap();
        assert_eq!(&rest[..], b"GET");
    }

    #[tokio::test]
    async fn a_continue_never_sent_for_a_body_not_come_closes_the_connection() {
        let (shared, body, _client) = shared(b"", Framing::Length(6), true);
        drop(body);
        assert!(shared.finish(Some(Duration::from_secs(5))).await.is_none());
    }
}

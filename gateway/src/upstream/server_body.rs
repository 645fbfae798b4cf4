//! A response body read from one of the gateway's own server connections
//! (`upstream/server_conn.rs`) by whoever polls it: the client connection's task,
//! as it writes the response out. Data is handed on as it arrives, split
//! off the connection's buffer without copies. When the body has been read
//! whole and the server keeps the connection, the connection goes back to
//! the pool.

use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use switchyard::wire::h1::chunked;
use switchyard::wire::h1::response_head::Framing;

use crate::message::body::{BoxError, ConnectionBody};
use crate::upstream::pool::{ConnectionPool, PooledConn};

/// What is left to read of the body.
enum Remaining {
    Length(u64),
    Chunked(chunked::Decoder),
    UntilClose,
    Done,
    /// The body broke off; the connection is closed.
    Failed,
}

/// A response body being read from its server connection.
pub struct ServerBody {
    /// Holds the connection until the body ends.
    conn: Option<PooledConn>,
    pool: Arc<ConnectionPool>,
    remaining: Remaining,
    /// The server keeps the connection after this response.
    reusable: bool,
}

impl ServerBody {
    /// The body of a response framed by `framing` (not `Empty`), read from
    /// `conn`.
    pub fn new(
        conn: PooledConn,
        pool: Arc<ConnectionPool>,
        framing: Framing,
        reusable: bool,
    ) -> Self {
        let remaining = match framing {
            Framing::Empty | Framing::Length(0) => Remaining::Done,
            Framing::Length(n) => Remaining::Length(n),
            Framing::Chunked => Remaining::Chunked(chunked::Decoder::default()),
            Framing::UntilClose => Remaining::UntilClose,
        };
        ServerBody {
            conn: Some(conn),
            pool,
            remaining,
            reusable,
        }
    }

    /// The body has been read whole: the connection goes back to the pool
    /// if the server keeps it (the pool refuses one that holds bytes
    /// nobody asked for, or that the server closed).
    fn finish(&mut self) {
        self.remaining = Remaining::Done;
        if let Some(mut pooled) = self.conn.take().filter(|_| self.reusable) {
            if let Some(conn) = pooled.own_mut() {
                conn.exchange_done();
            }
            self.pool.checkin(pooled);
        }
    }

    /// The body cannot be completed: the connection is closed.
    fn fail(&mut self, error: BoxError) -> BoxError {
        self.conn = None;
        self.remaining = Remaining::Failed;
        error
    }
}

impl ConnectionBody for ServerBody {
    fn is_end_stream(&self) -> bool {
        matches!(self.remaining, Remaining::Done | Remaining::Length(0))
    }

    fn size_hint(&self) -> SizeHint {
        match self.remaining {
            Remaining::Length(n) => SizeHint::with_exact(n),
            Remaining::Done | Remaining::Failed => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }

    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self;
        loop {
            match this.remaining {
                Remaining::Done => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Remaining::Failed => return Poll::Ready(None),
                _ => {}
            }
            let Some(conn) = this.conn.as_mut().and_then(PooledConn::own_mut) else {
                this.remaining = Remaining::Failed;
                return Poll::Ready(None);
            };
            // What the buffer already holds.
            let taken: Result<Option<Bytes>, BoxError> = match &mut this.remaining {
                Remaining::Length(left) if !conn.buf.is_empty() => {
                    let n = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(conn.buf.len());
                    *left -= n as u64;
                    Ok(Some(conn.buf.split_to(n).freeze()))
                }
                Remaining::Chunked(decoder) => match decoder.step(&mut conn.buf) {
                    Ok(chunked::Step::Data(data)) => Ok(Some(data)),
                    Ok(chunked::Step::Done) => {
                        this.remaining = Remaining::Done;
                        continue;
                    }
                    Ok(chunked::Step::NeedMore) => Ok(None),
                    Err(e) => Err(e.into()),
                },
                Remaining::UntilClose if !conn.buf.is_empty() => {
                    Ok(Some(conn.buf.split().freeze()))
                }
                _ => Ok(None),
            };
            match taken {
                Ok(Some(data)) => {
                    if matches!(this.remaining, Remaining::Length(0)) {
                        // Checked in now: the client may never poll again
                        // once it has the last bytes.
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Err(e) => return Poll::Ready(Some(Err(this.fail(e)))),
                Ok(None) => {}
            }
            match ready!(conn.poll_fill(cx)) {
                Ok(0) if matches!(this.remaining, Remaining::UntilClose) => {
                    this.reusable = false;
                    this.finish();
                    return Poll::Ready(None);
                }
                Ok(0) => {
                    let e = "the server closed the connection inside the body".into();
                    return Poll::Ready(Some(Err(this.fail(e))));
                }
                Ok(_) => {}
                Err(e) => return Poll::Ready(Some(Err(this.fail(e.into())))),
            }
        }
    }
}

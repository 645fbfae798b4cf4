//! The one body type the proxy passes around: a client's or a server's
//! streamed body, or a small body the gateway made itself (error pages,
//! redirects, `return`, a request kept in memory so that it can be retried).
//! Bodies are streamed frame by frame, never collected whole.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Called once when a body has been passed on (or dropped early), with
/// whether it ended cleanly and how many bytes went through.
pub trait BodyEnd: Send + Sync {
    fn finished(self: Box<Self>, clean: bool, bytes: u64);
}

pub enum ProxyBody {
    Empty,
    /// An empty body that hyper must poll once before it knows it ended:
    /// hyper leaves out the `Content-Length: 0` of a body that says it has
    /// ended before being polled and writes its own after the other
    /// fields, which would move the field (see `ProxyResponse::into_http`).
    EmptyPolled,
    Full(Full<Bytes>),
    Streamed {
        inner: Source,
        /// Run when the stream ends: return a server connection to the pool,
        /// release the server's slot, write the log line.
        on_end: Vec<Box<dyn BodyEnd>>,
        bytes: u64,
        /// The longest the sender may stay silent (`timeout server` for a
        /// server's response body), with its timer.
        idle: Option<Box<IdleLimit>>,
    },
}

/// Where a streamed body comes from: hyper (an HTTP/2 client's body, or a
/// server's on a connection hyper drives), one of the gateway's own server
/// connections (`upstream/server_body.rs`), or an HTTP/1 client's
/// connection (`front/request_body.rs`).
pub enum Source {
    Hyper(Incoming),
    Server(Box<dyn ConnectionBody>),
    Client(Box<dyn ConnectionBody>),
}

/// A body the gateway reads itself from one of its own connections
/// (`upstream/server_body.rs`, `front/request_body.rs`). A trait, so that
/// this layer knows nothing of the pool such a body returns its connection
/// to, nor of the client connection it is read from.
pub trait ConnectionBody: Send {
    /// The next frame, as `hyper::body::Body::poll_frame`.
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>>;
    /// Whether the body has been read whole.
    fn is_end_stream(&self) -> bool;
    /// What is left of the body, as far as is known.
    fn size_hint(&self) -> SizeHint;
}

impl Source {
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self {
            Source::Hyper(inner) => Pin::new(inner).poll_frame(cx).map_err(Into::into),
            Source::Server(inner) | Source::Client(inner) => inner.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Source::Hyper(inner) => inner.is_end_stream(),
            Source::Server(inner) | Source::Client(inner) => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Source::Hyper(inner) => inner.size_hint(),
            Source::Server(inner) | Source::Client(inner) => inner.size_hint(),
        }
    }
}

/// An inactivity limit on a streamed body.
pub struct IdleLimit {
    limit: Duration,
    /// Made the first time the body has nothing to give: most bodies come
    /// whole with their head, and never need one.
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
    what: &'static str,
}

impl IdleLimit {
    pub fn new(limit: Duration, what: &'static str) -> Self {
        IdleLimit {
            limit,
            timer: None,
            armed: false,
            what,
        }
    }

    /// Called when the body had nothing to give: true once the sender has
    /// been silent for the limit.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.armed {
            self.armed = true;
            let deadline = Instant::now() + self.limit;
            match &mut self.timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        self.timer
            .as_mut()
            .is_some_and(|timer| timer.as_mut().poll(cx).is_ready())
    }
}

/// Room for the ends a streamed body usually gets (the exchange's, the
/// request's, the log line's), allocated once.
const ENDS: usize = 3;

impl ProxyBody {
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        ProxyBody::Full(Full::new(bytes.into()))
    }

    pub fn streamed(inner: Incoming) -> Self {
        ProxyBody::Streamed {
            inner: Source::Hyper(inner),
            on_end: Vec::with_capacity(ENDS),
            bytes: 0,
            idle: None,
        }
    }

    /// A streamed body that fails when its sender stays silent too long.
    pub fn streamed_with_idle(inner: Source, idle: Option<IdleLimit>) -> Self {
        let idle = idle.map(Box::new);
        ProxyBody::Streamed {
            inner,
            on_end: Vec::with_capacity(ENDS),
            bytes: 0,
            idle,
        }
    }

    /// Reads the body to its end and lets it go (a `HEAD` the rules made a
    /// `GET`: the client gets no body, but the server connection is kept
    /// only once its body was read): its ends run as for a body passed on.
    pub async fn drain(mut self) {
        use http_body_util::BodyExt;
        while let Some(Ok(_)) = self.frame().await {}
    }

    /// Attaches `on_end` to a streamed body; for other bodies it runs at once.
    pub fn with_end(mut self, on_end: Box<dyn BodyEnd>) -> Self {
        match &mut self {
            ProxyBody::Streamed { on_end: list, .. } => list.push(on_end),
            ProxyBody::Full(full) => on_end.finished(true, full.size_hint().exact().unwrap_or(0)),
            ProxyBody::Empty | ProxyBody::EmptyPolled => on_end.finished(true, 0),
        }
        self
    }

    /// Whether ends are still to run: the body is streamed and has not
    /// ended (a server slot it holds is held still).
    pub fn ends_pending(&self) -> bool {
        matches!(self, ProxyBody::Streamed { on_end, .. } if !on_end.is_empty())
    }

    /// Attaches `on_end` to run before the ends already attached (a log
    /// line that must see the server slot still held).
    pub fn with_first_end(mut self, on_end: Box<dyn BodyEnd>) -> Self {
        match &mut self {
            ProxyBody::Streamed { on_end: list, .. } => list.insert(0, on_end),
            _ => return self.with_end(on_end),
        }
        self
    }

    fn run_ends(on_end: &mut Vec<Box<dyn BodyEnd>>, clean: bool, bytes: u64) {
        for end in on_end.drain(..) {
            end.finished(clean, bytes);
        }
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut *self {
            ProxyBody::Empty | ProxyBody::EmptyPolled => Poll::Ready(None),
            ProxyBody::Full(full) => Pin::new(full)
                .poll_frame(cx)
                .map_err(|never| match never {}),
            ProxyBody::Streamed {
                inner,
                on_end,
                bytes,
                idle,
            } => {
                let polled = inner.poll_frame(cx);
                match &polled {
                    Poll::Ready(Some(Ok(frame))) => {
                        *bytes += frame.data_ref().map_or(0, |d| d.len() as u64);
                        if let Some(idle) = idle {
                            idle.armed = false;
                        }
                    }
                    Poll::Ready(None) => ProxyBody::run_ends(on_end, true, *bytes),
                    Poll::Ready(Some(Err(_))) => ProxyBody::run_ends(on_end, false, *bytes),
                    Poll::Pending => {
                        if let Some(limit) = idle.as_mut() {
                            if limit.expired(cx) {
                                ProxyBody::run_ends(on_end, false, *bytes);
                                return Poll::Ready(Some(Err(limit.what.into())));
                            }
                        }
                    }
                }
                polled
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ProxyBody::Empty => true,
            ProxyBody::EmptyPolled => false,
            ProxyBody::Full(full) => full.is_end_stream(),
            ProxyBody::Streamed { inner, .. } => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ProxyBody::Empty | ProxyBody::EmptyPolled => SizeHint::with_exact(0),
            ProxyBody::Full(full) => full.size_hint(),
            ProxyBody::Streamed { inner, .. } => inner.size_hint(),
        }
    }
}

impl Drop for ProxyBody {
    fn drop(&mut self) {
        if let ProxyBody::Streamed {
            inner,
            on_end,
            bytes,
            ..
        } = self
        {
            // Dropped before its end: the connection is in an unknown state
            // unless the stream had already ended.
            let clean = inner.is_end_stream();
            ProxyBody::run_ends(on_end, clean, *bytes);
        }
    }
}

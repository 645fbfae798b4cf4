//! The one body type the proxy passes around: a client's or a server's
//! streamed body, or a small body the gateway made itself (error pages,
//! redirects, `return`, a request kept in memory so that it can be retried).
//! Bodies are streamed frame by frame, never collected whole.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Frame, Incoming, SizeHint};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Called once when a streamed body ended cleanly (or was dropped early).
pub trait BodyEnd: Send + Sync {
    fn finished(self: Box<Self>, clean: bool);
}

pub enum ProxyBody {
    Empty,
    Full(Full<Bytes>),
    Streamed {
        inner: Incoming,
        /// Runs when the stream ends: returns a server connection to the pool,
        /// releases the server's connection slot.
        on_end: Option<Box<dyn BodyEnd>>,
    },
}

impl ProxyBody {
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        ProxyBody::Full(Full::new(bytes.into()))
    }

    pub fn streamed(inner: Incoming) -> Self {
        ProxyBody::Streamed {
            inner,
            on_end: None,
        }
    }

    /// Attaches `on_end` to a streamed body; for other bodies it runs at once.
    pub fn with_end(mut self, on_end: Box<dyn BodyEnd>) -> Self {
        match &mut self {
            ProxyBody::Streamed {
                on_end: slot @ None,
                ..
            } => *slot = Some(on_end),
            _ => on_end.finished(true),
        }
        self
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
            ProxyBody::Empty => Poll::Ready(None),
            ProxyBody::Full(full) => Pin::new(full)
                .poll_frame(cx)
                .map_err(|never| match never {}),
            ProxyBody::Streamed { inner, on_end } => {
                let polled = Pin::new(inner).poll_frame(cx);
                match &polled {
                    Poll::Ready(None) => {
                        if let Some(end) = on_end.take() {
                            end.finished(true);
                        }
                    }
                    Poll::Ready(Some(Err(_))) => {
                        if let Some(end) = on_end.take() {
                            end.finished(false);
                        }
                    }
                    _ => {}
                }
                polled.map_err(Into::into)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ProxyBody::Empty => true,
            ProxyBody::Full(full) => full.is_end_stream(),
            ProxyBody::Streamed { inner, .. } => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ProxyBody::Empty => SizeHint::with_exact(0),
            ProxyBody::Full(full) => full.size_hint(),
            ProxyBody::Streamed { inner, .. } => inner.size_hint(),
        }
    }
}

impl Drop for ProxyBody {
    fn drop(&mut self) {
        if let ProxyBody::Streamed { inner, on_end } = self {
            if let Some(end) = on_end.take() {
                // Dropped before its end: the connection is in an unknown
                // state unless the stream had already ended.
                end.finished(inner.is_end_stream());
            }
        }
    }
}

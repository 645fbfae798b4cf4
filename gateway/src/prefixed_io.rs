//! A stream with bytes already read from it put back in front: what a
//! parked connection read while waiting (`parked.rs`) is the start of the
//! request the next HTTP connection object parses.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct PrefixedIo<S> {
    prefix: Bytes,
    inner: S,
    /// Reads nothing more once the prefix is read (see [`PrefixedIo::only`]).
    prefix_only: bool,
}

impl<S> PrefixedIo<S> {
    pub fn new(prefix: Bytes, inner: S) -> Self {
        PrefixedIo {
            prefix,
            inner,
            prefix_only: false,
        }
    }

    /// Reads see the prefix and then nothing (pending) while writes go
    /// through: hyper gets one request and cannot read a pipelined one
    /// behind it, whose response it would send with `Connection: close`
    /// once the parked path has switched keep-alive off.
    pub fn only(prefix: Bytes, inner: S) -> Self {
        PrefixedIo {
            prefix,
            inner,
            prefix_only: true,
        }
    }

    /// The stream, and what of the prefix was not read.
    pub fn into_parts(self) -> (S, Bytes) {
        (self.inner, self.prefix)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for PrefixedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.prefix.has_remaining() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        if this.prefix_only {
            // Whoever drives the reader re-polls it when the exchange's
            // response is out (`parked.rs`); no read wakes it.
            return Poll::Pending;
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for PrefixedIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn the_prefix_comes_first_even_in_small_reads() {
        let (mut far, near) = tokio::io::duplex(64);
        far.write_all(b" world").await.unwrap();
        drop(far);
        let mut io = PrefixedIo::new(Bytes::from_static(b"hello"), near);
        let mut small = [0u8; 3];
        assert_eq!(io.read(&mut small).await.unwrap(), 3);
        assert_eq!(&small, b"hel");
        let mut rest = Vec::new();
        io.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"lo world");
        assert!(io.into_parts().1.is_empty());
    }

    #[tokio::test]
    async fn only_the_prefix_is_read_when_asked() {
        let (mut far, near) = tokio::io::duplex(64);
        far.write_all(b"behind").await.unwrap();
        let mut io = PrefixedIo::only(Bytes::from_static(b"first"), near);
        let mut buf = [0u8; 16];
        assert_eq!(io.read(&mut buf).await.unwrap(), 5);
        let more = tokio::time::timeout(std::time::Duration::from_millis(20), io.read(&mut buf));
        assert!(more.await.is_err(), "nothing past the prefix");
        io.write_all(b"out").await.unwrap();
        let mut out = [0u8; 3];
        far.read_exact(&mut out).await.unwrap();
        assert_eq!(&out, b"out");
    }

    #[tokio::test]
    async fn an_unread_prefix_is_handed_back() {
        let (_far, near) = tokio::io::duplex(64);
        let io = PrefixedIo::new(Bytes::from_static(b"GET"), near);
        assert_eq!(io.into_parts().1, Bytes::from_static(b"GET"));
    }
}

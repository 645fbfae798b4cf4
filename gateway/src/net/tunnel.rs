//! Two byte streams joined both ways until both sides are done, or until
//! nothing has moved for the idle limit (HAProxy's `timeout tunnel`). Used
//! once an HTTP exchange has switched protocols (WebSocket and other
//! `Connection: Upgrade` exchanges).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// Bytes that went through a finished tunnel, each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transferred {
    pub a_to_b: u64,
    pub b_to_a: u64,
}

/// How a tunnel ended.
#[derive(Debug)]
pub enum TunnelEnd {
    /// Both sides closed their half.
    Closed(Transferred),
    /// Nothing moved either way for the idle limit.
    IdleTimeout,
    /// A side failed (reset, broken pipe).
    Failed(io::Error),
}

/// Copies `a` ↔ `b` until both directions have ended (half-closes are
/// passed on), a side fails, or no byte has moved for `idle`.
pub async fn join<A, B>(a: A, b: B, idle: Option<Duration>) -> TunnelEnd
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let started = Instant::now();
    let activity = Arc::new(AtomicU64::new(0));
    let mut a = Watched {
        inner: a,
        started,
        last_activity_ms: activity.clone(),
    };
    let mut b = b;
    let copy = tokio::io::copy_bidirectional(&mut a, &mut b);
    let Some(idle) = idle else {
        return match copy.await {
            Ok((a_to_b, b_to_a)) => TunnelEnd::Closed(Transferred { a_to_b, b_to_a }),
            Err(e) => TunnelEnd::Failed(e),
        };
    };
    tokio::pin!(copy);
    loop {
        let last = started + Duration::from_millis(activity.load(Ordering::Relaxed));
        let deadline = last + idle;
        tokio::select! {
            result = &mut copy => {
                return match result {
                    Ok((a_to_b, b_to_a)) => TunnelEnd::Closed(Transferred { a_to_b, b_to_a }),
                    Err(e) => TunnelEnd::Failed(e),
                };
            }
            _ = tokio::time::sleep_until(deadline) => {
                let moved = started + Duration::from_millis(activity.load(Ordering::Relaxed));
                if moved + idle <= Instant::now() {
                    return TunnelEnd::IdleTimeout;
                }
            }
        }
    }
}

/// A stream that notes when bytes last moved through it, either way.
/// Watching one side is enough: every byte of a tunnel is read from or
/// written to it.
struct Watched<S> {
    inner: S,
    started: Instant,
    last_activity_ms: Arc<AtomicU64>,
}

impl<S> Watched<S> {
    fn touch(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.last_activity_ms.store(ms, Ordering::Relaxed);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn bytes_flow_both_ways_and_half_closes_pass_on() {
        let (a, mut a_peer) = tokio::io::duplex(64);
        let (b, mut b_peer) = tokio::io::duplex(64);
        let tunnel = tokio::spawn(join(a, b, Some(Duration::from_secs(5))));
        a_peer.write_all(b"ping").await.unwrap();
        let mut got = [0u8; 4];
        b_peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        b_peer.write_all(b"pong!").await.unwrap();
        let mut got = [0u8; 5];
        a_peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"pong!");
        a_peer.shutdown().await.unwrap();
        let mut rest = Vec::new();
        b_peer.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "b sees a's half-close as end of stream");
        b_peer.shutdown().await.unwrap();
        match tunnel.await.unwrap() {
            TunnelEnd::Closed(t) => assert_eq!(
                t,
                Transferred {
                    a_to_b: 4,
                    b_to_a: 5
                }
            ),
            other => panic!("unexpected end: {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_tunnel_ends_after_the_idle_limit_and_traffic_keeps_it_open() {
        let (a, mut a_peer) = tokio::io::duplex(64);
        let (b, mut b_peer) = tokio::io::duplex(64);
        let tunnel = tokio::spawn(join(a, b, Some(Duration::from_secs(10))));
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(6)).await;
            a_peer.write_all(b"x").await.unwrap();
            let mut got = [0u8; 1];
            b_peer.read_exact(&mut got).await.unwrap();
        }
        assert!(!tunnel.is_finished(), "18 s with traffic every 6 s");
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert!(matches!(tunnel.await.unwrap(), TunnelEnd::IdleTimeout));
    }
}

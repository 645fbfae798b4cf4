//! Copying bytes both ways between a client and a server until both sides
//! are done, with half-close passed on (a client that shuts its writing
//! side still receives the rest of the server's answer), an error on
//! either side ending both, and an inactivity limit: the tunnel ends when
//! no byte moved either way for the client side's or the server side's
//! timeout (`timeout client` / `timeout server`, both replaced by `timeout
//! tunnel` when it is set). The one tunnel of the gateway: a `mode tcp`
//! session's (`tcp/`) and an HTTP connection's after a protocol switch
//! (`proxy/upgrade.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// HAProxy's buffer size.
const CHUNK: usize = 16 * 1024;

/// The inactivity limits of an established tunnel (`None`: no limit).
#[derive(Debug, Clone, Copy)]
pub struct IdleLimits {
    pub client: Option<Duration>,
    pub server: Option<Duration>,
}

impl IdleLimits {
    /// `timeout tunnel` replaces both sides' timeouts once connected.
    pub fn new(client: Duration, server: Duration, tunnel: Option<Duration>) -> Self {
        match tunnel {
            Some(t) => IdleLimits::both(Some(t)),
            None => IdleLimits {
                client: Some(client),
                server: Some(server),
            },
        }
    }

    /// One limit for both sides, or none.
    pub fn both(limit: Option<Duration>) -> Self {
        IdleLimits {
            client: limit,
            server: limit,
        }
    }
}

/// How a tunnel ended, as HAProxy's two termination letters see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelEnd {
    /// Both sides closed: `--`.
    Closed,
    /// The client side was idle for its timeout: `cD`.
    ClientTimeout,
    /// The server side was idle for its timeout: `sD`.
    ServerTimeout,
    /// A read or write failed on the client side: `CD`.
    ClientError,
    /// A read or write failed on the server side: `SD`.
    ServerError,
}

impl TunnelEnd {
    pub fn letters(self) -> [char; 2] {
        match self {
            TunnelEnd::Closed => ['-', '-'],
            TunnelEnd::ClientTimeout => ['c', 'D'],
            TunnelEnd::ServerTimeout => ['s', 'D'],
            TunnelEnd::ClientError => ['C', 'D'],
            TunnelEnd::ServerError => ['S', 'D'],
        }
    }
}

/// Bytes moved each way.
#[derive(Debug, Default)]
pub struct Transferred {
    /// Client to server (HAProxy's `%U`).
    pub uploaded: AtomicU64,
    /// Server to client (`%B`).
    pub downloaded: AtomicU64,
}

/// Which side a failed read or write was on.
#[derive(Debug, Clone, Copy)]
enum Side {
    Client,
    Server,
}

/// Copies `client` ⇄ `server` until both directions end, an error on
/// either side, or inactivity; returns how it ended.
pub async fn run<C, S>(client: C, server: S, limits: IdleLimits, counts: &Transferred) -> TunnelEnd
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let started = Instant::now();
    // Milliseconds since `started` of the last byte moved either way.
    let last = AtomicU64::new(0);
    let touch = || last.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut server_read, mut server_write) = tokio::io::split(server);
    let upload = copy_half(
        &mut client_read,
        &mut server_write,
        (Side::Client, Side::Server),
        &counts.uploaded,
        &touch,
    );
    let download = copy_half(
        &mut server_read,
        &mut client_write,
        (Side::Server, Side::Client),
        &counts.downloaded,
        &touch,
    );
    // The first error ends both directions, as it ends the session.
    let both = async {
        match tokio::try_join!(upload, download) {
            Ok(_) => TunnelEnd::Closed,
            Err(Side::Client) => TunnelEnd::ClientError,
            Err(Side::Server) => TunnelEnd::ServerError,
        }
    };
    let watchdog = async {
        let Some(shortest) = limits.client.into_iter().chain(limits.server).min() else {
            return std::future::pending().await;
        };
        loop {
            let idle_since = Duration::from_millis(last.load(Ordering::Relaxed));
            let idle = started.elapsed().saturating_sub(idle_since);
            if idle >= shortest {
                return if limits.client == Some(shortest) {
                    TunnelEnd::ClientTimeout
                } else {
                    TunnelEnd::ServerTimeout
                };
            }
            tokio::time::sleep(shortest - idle).await;
        }
    };
    tokio::select! {
        end = both => end,
        end = watchdog => end,
    }
}

/// One direction: read until EOF, writing everything; at EOF, shut the
/// writing side (half-close) so the peer sees the end too.
async fn copy_half<R, W>(
    from: &mut R,
    to: &mut W,
    sides: (Side, Side),
    count: &AtomicU64,
    touch: &(dyn Fn() + Sync),
) -> Result<(), Side>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = from.read(&mut buf).await.map_err(|_| sides.0)?;
        if n == 0 {
            // The other side may have gone already: nothing to tell it.
            let _ = to.shutdown().await;
            return Ok(());
        }
        touch();
        to.write_all(&buf[..n]).await.map_err(|_| sides.1)?;
        count.fetch_add(n as u64, Ordering::Relaxed);
        touch();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    fn limits(ms: u64) -> IdleLimits {
        IdleLimits::new(
            Duration::from_millis(ms),
            Duration::from_millis(ms * 2),
            None,
        )
    }

    #[tokio::test]
    async fn copies_both_ways_and_passes_half_close() {
        let (client, mut client_peer) = duplex(1024);
        let (server, mut server_peer) = duplex(1024);
        let counts = Transferred::default();
        let session = run(client, server, limits(5_000), &counts);
        let peers = async {
            client_peer.write_all(b"hello").await.unwrap();
            client_peer.shutdown().await.unwrap();
            let mut got = Vec::new();
            server_peer.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"hello");
            // The client's half-close did not stop the answer.
            server_peer.write_all(b"answer after EOF").await.unwrap();
            server_peer.shutdown().await.unwrap();
            let mut back = Vec::new();
            client_peer.read_to_end(&mut back).await.unwrap();
            assert_eq!(back, b"answer after EOF");
            drop((client_peer, server_peer));
        };
        let (end, ()) = tokio::join!(session, peers);
        assert_eq!(end, TunnelEnd::Closed);
        assert_eq!(counts.uploaded.load(Ordering::Relaxed), 5);
        assert_eq!(counts.downloaded.load(Ordering::Relaxed), 16);
    }

    #[tokio::test]
    async fn idle_sessions_end_on_the_shorter_timeout() {
        let (client, _client_peer) = duplex(64);
        let (server, _server_peer) = duplex(64);
        let started = Instant::now();
        let end = run(client, server, limits(100), &Transferred::default()).await;
        assert_eq!(end, TunnelEnd::ClientTimeout);
        assert!(started.elapsed() >= Duration::from_millis(100));
        let (client, _c) = duplex(64);
        let (server, _s) = duplex(64);
        let server_first =
            IdleLimits::new(Duration::from_millis(300), Duration::from_millis(80), None);
        let end = run(client, server, server_first, &Transferred::default()).await;
        assert_eq!(end, TunnelEnd::ServerTimeout);
    }

    #[tokio::test]
    async fn traffic_keeps_a_session_alive() {
        let (client, mut client_peer) = duplex(64);
        let (server, mut server_peer) = duplex(64);
        let counts = Transferred::default();
        let session = run(client, server, limits(150), &counts);
        let peers = async {
            for _ in 0..6 {
                tokio::time::sleep(Duration::from_millis(60)).await;
                client_peer.write_all(b"x").await.unwrap();
                let mut b = [0u8];
                server_peer.read_exact(&mut b).await.unwrap();
            }
            drop(client_peer);
            drop(server_peer);
        };
        let (end, ()) = tokio::join!(session, peers);
        // 360 ms in all, never 150 ms idle: ended by the close, not a timeout.
        assert_eq!(end, TunnelEnd::Closed);
        assert_eq!(counts.uploaded.load(Ordering::Relaxed), 6);
    }

    #[test]
    fn tunnel_replaces_both_timeouts() {
        let l = IdleLimits::new(
            Duration::from_secs(1),
            Duration::from_secs(2),
            Some(Duration::from_secs(60)),
        );
        let minute = Some(Duration::from_secs(60));
        assert_eq!((l.client, l.server), (minute, minute));
    }

    #[tokio::test]
    async fn a_failed_write_is_the_side_s_error() {
        let (client, client_peer) = duplex(64);
        let (server, mut server_peer) = duplex(64);
        // The client side is gone; the server's answer cannot reach it.
        drop(client_peer);
        server_peer.write_all(b"answer").await.unwrap();
        let counts = Transferred::default();
        let end = run(client, server, IdleLimits::both(None), &counts);
        let end = tokio::time::timeout(Duration::from_secs(5), end).await;
        assert_eq!(end.ok(), Some(TunnelEnd::ClientError));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_tunnel_ends_after_the_idle_limit_and_traffic_keeps_it_open() {
        let (a, mut a_peer) = duplex(64);
        let (b, mut b_peer) = duplex(64);
        let limits = IdleLimits::both(Some(Duration::from_secs(10)));
        let tunnel = tokio::spawn(async move { run(a, b, limits, &Transferred::default()).await });
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(6)).await;
            a_peer.write_all(b"x").await.unwrap();
            let mut got = [0u8; 1];
            b_peer.read_exact(&mut got).await.unwrap();
        }
        assert!(!tunnel.is_finished(), "18 s with traffic every 6 s");
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert_eq!(tunnel.await.unwrap(), TunnelEnd::ClientTimeout);
    }
}

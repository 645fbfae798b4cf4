//! Copying bytes both ways between a client and a server until both sides
//! are done, with half-close passed on (a client that shuts its writing
//! side still receives the rest of the server's answer) and an inactivity
//! limit: the session ends when no byte moved either way for the client
//! side's or the server side's timeout (`timeout client` / `timeout
//! server`, both replaced by `timeout tunnel` when it is set).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// HAProxy's buffer size.
const CHUNK: usize = 16 * 1024;

/// The inactivity limits of an established session.
#[derive(Debug, Clone, Copy)]
pub struct IdleLimits {
    pub client: Duration,
    pub server: Duration,
}

impl IdleLimits {
    /// `timeout tunnel` replaces both sides' timeouts once connected.
    pub fn new(client: Duration, server: Duration, tunnel: Option<Duration>) -> Self {
        match tunnel {
            Some(t) => IdleLimits {
                client: t,
                server: t,
            },
            None => IdleLimits { client, server },
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

/// Copies `client` ⇄ `server` until both directions end, an error, or
/// inactivity; returns how it ended.
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
    let both = async {
        let (up, down) = tokio::join!(upload, download);
        match (up, down) {
            (Err(Side::Client), _) | (_, Err(Side::Client)) => TunnelEnd::ClientError,
            (Err(Side::Server), _) | (_, Err(Side::Server)) => TunnelEnd::ServerError,
            _ => TunnelEnd::Closed,
        }
    };
    let shortest = limits.client.min(limits.server);
    let watchdog = async {
        loop {
            let idle_since = Duration::from_millis(last.load(Ordering::Relaxed));
            let idle = started.elapsed().saturating_sub(idle_since);
            if idle >= shortest {
                return if limits.client <= limits.server {
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
        assert_eq!(
            (l.client, l.server),
            (Duration::from_secs(60), Duration::from_secs(60))
        );
    }
}

//! `tcp-request inspect-delay` and `tcp-request content` rules: the
//! client's first bytes are buffered (not consumed: they go to the server
//! afterwards) until the rules can decide, the delay expires, the client
//! stops sending or the buffer is full, as HAProxy does.

use std::net::SocketAddr;
use std::time::Duration;

use switchyard_rules::{RuleSet, StreamFacts, TcpVerdict};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

/// HAProxy's default `tune.bufsize` less its reserve: rules never see more.
pub const MAX_INSPECT: usize = 15 * 1024;

/// The outcome of content inspection.
#[derive(Debug)]
pub struct Inspected {
    pub verdict: TcpVerdict,
    /// What the client sent so far; it is forwarded first.
    pub buffered: Vec<u8>,
    /// The client closed its sending side (or failed) during inspection.
    pub client_done: bool,
}

/// Whose content rules run: the frontend's, or (after it chose) the
/// backend's.
#[derive(Debug, Clone, Copy)]
pub enum Stage<'a> {
    Frontend(&'a str),
    Backend(&'a str),
}

/// Runs a stage's content rules over the client's first bytes (`buffered`
/// holds what earlier stages read), reading more while they answer "wait"
/// and `delay` has not expired.
pub async fn inspect<R>(
    rules: &RuleSet,
    stage: Stage<'_>,
    client: &mut R,
    (src, dst): (SocketAddr, SocketAddr),
    delay: Duration,
    mut buffered: Vec<u8>,
) -> Inspected
where
    R: AsyncRead + Unpin,
{
    let deadline = Instant::now() + delay;
    let mut client_done = false;
    loop {
        let may_grow = !client_done && buffered.len() < MAX_INSPECT && Instant::now() < deadline;
        let facts = StreamFacts {
            src,
            dst,
            payload: &buffered,
            may_grow,
            server: None,
        };
        let verdict = match stage {
            Stage::Frontend(name) => rules.tcp_content(name, &facts),
            Stage::Backend(name) => rules.tcp_backend_content(name, &facts),
        };
        if verdict != TcpVerdict::Wait {
            return Inspected {
                verdict,
                buffered,
                client_done,
            };
        }
        let mut chunk = vec![0u8; MAX_INSPECT - buffered.len()];
        match tokio::time::timeout_at(deadline, client.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => client_done = true,
            Ok(Ok(n)) => buffered.extend_from_slice(&chunk[..n]),
            // The delay expired: the rules run once more on what arrived.
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_grammar::Environment;
    use tokio::io::AsyncWriteExt;

    use switchyard_grammar::NoFiles;

    fn rules() -> RuleSet {
        let text = "frontend f
    bind 127.0.0.1:1
    tcp-request inspect-delay 2s
    tcp-request content accept if { req.payload(0,5) -m str HELLO }
    tcp-request content reject
    default_backend b
backend b
";
        let loaded = switchyard_grammar::load(
            &[("t.cfg".into(), text.into())],
            Environment::new(),
            &NoFiles,
        );
        RuleSet::compile(&loaded.config, &NoFiles).expect("compiles")
    }

    const ADDRS: (&str, &str) = ("127.0.0.1:5000", "127.0.0.1:80");

    fn addrs() -> (SocketAddr, SocketAddr) {
        (ADDRS.0.parse().unwrap(), ADDRS.1.parse().unwrap())
    }

    #[tokio::test]
    async fn waits_for_enough_bytes_and_keeps_them() {
        let rules = rules();
        let (mut client, mut peer) = tokio::io::duplex(64);
        let writer = async {
            peer.write_all(b"HE").await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            peer.write_all(b"LLO world").await.unwrap();
            peer
        };
        let (got, _peer) = tokio::join!(
            inspect(
                &rules,
                Stage::Frontend("f"),
                &mut client,
                addrs(),
                Duration::from_secs(2),
                Vec::new()
            ),
            writer
        );
        assert_eq!(got.verdict, TcpVerdict::Accept);
        assert!(got.buffered.starts_with(b"HELLO"));
        assert!(!got.client_done);
    }

    #[tokio::test]
    async fn the_delay_bounds_the_wait() {
        let rules = rules();
        let (mut client, mut peer) = tokio::io::duplex(64);
        peer.write_all(b"HE").await.unwrap();
        let started = std::time::Instant::now();
        let got = inspect(
            &rules,
            Stage::Frontend("f"),
            &mut client,
            addrs(),
            Duration::from_millis(100),
            Vec::new(),
        )
        .await;
        assert!(matches!(got.verdict, TcpVerdict::Reject(_)));
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert_eq!(got.buffered, b"HE");
    }

    #[tokio::test]
    async fn a_client_that_closes_is_decided_at_once() {
        let rules = rules();
        let (mut client, mut peer) = tokio::io::duplex(64);
        peer.write_all(b"HE").await.unwrap();
        drop(peer);
        let got = inspect(
            &rules,
            Stage::Frontend("f"),
            &mut client,
            addrs(),
            Duration::from_secs(30),
            Vec::new(),
        )
        .await;
        assert!(matches!(got.verdict, TcpVerdict::Reject(_)));
        assert!(got.client_done);
    }
}

//! An HTTP/1.1 origin whose answers the test releases: a request for
//! `/hold/NAME` (under any prefix) waits until [`HeldOrigin::release`]
//! names it; every other request is answered at once. With it, a test
//! decides which requests are in progress at the server when another one
//! ends, so the counters a log line reports (`%bc`, `%sc`, queues) are
//! known in advance rather than left to timing.
//!
//! Every answer is `HTTP/1.1 200 OK`, `content-length: 2`, `ok`, on a
//! connection kept open; one for a path under `/hop` carries hop-by-hop
//! fields besides (`Keep-Alive`, `Proxy-Connection`, `Upgrade`, `TE`, and
//! a field its `Connection` names), which log byte counts take in.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
const HOP_BY_HOP_ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\
    connection: keep-alive, x-named\r\nx-named: 1\r\nkeep-alive: timeout=5\r\n\
    proxy-connection: keep-alive\r\nupgrade: h2c\r\nte: trailers\r\n\r\nok";

#[derive(Default)]
struct Holds {
    /// Names whose request arrived, and whether each was released.
    arrived: Mutex<HashMap<String, bool>>,
    released: Notify,
}

/// A running origin; stops when dropped.
pub struct HeldOrigin {
    pub addr: SocketAddr,
    holds: Arc<Holds>,
    task: JoinHandle<()>,
}

impl HeldOrigin {
    pub async fn start() -> HeldOrigin {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let holds = Arc::new(Holds::default());
        let shared = holds.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        HeldOrigin { addr, holds, task }
    }

    /// Whether the request for `/hold/NAME` has reached the origin.
    pub fn has(&self, name: &str) -> bool {
        self.holds.arrived.lock().unwrap().contains_key(name)
    }

    /// Lets the request for `/hold/NAME` be answered (now or on arrival).
    pub fn release(&self, name: &str) {
        self.holds
            .arrived
            .lock()
            .unwrap()
            .insert(name.to_owned(), true);
        self.holds.released.notify_waiters();
    }
}

impl Drop for HeldOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, holds: Arc<Holds>) {
    let mut buf = Vec::new();
    loop {
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => return,
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let target = head.split(' ').nth(1).unwrap_or_default();
        if let Some((_, name)) = target.split_once("/hold/") {
            wait_for_release(&holds, name).await;
        }
        let answer = if target.contains("/hop") {
            HOP_BY_HOP_ANSWER
        } else {
            ANSWER
        };
        if stream.write_all(answer).await.is_err() {
            return;
        }
    }
}

async fn wait_for_release(holds: &Holds, name: &str) {
    loop {
        let released = holds.released.notified();
        {
            let mut arrived = holds.arrived.lock().unwrap();
            if *arrived.entry(name.to_owned()).or_insert(false) {
                return;
            }
        }
        released.await;
    }
}

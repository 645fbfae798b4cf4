//! Origins that misbehave on purpose, one way each, for the fault tests:
//! they accept connections and then do what a broken or overloaded server
//! does. Each counts the connections it accepted, so a test can tell that
//! traffic did reach it, and those still open, so a test can tell that the
//! gateway let go of them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// How an origin misbehaves on every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Accepts, then resets the connection at once (SO_LINGER 0 and
    /// close: RST), racing the gateway's connect.
    ResetOnAccept,
    /// Reads the request head, then resets the connection.
    ResetAfterRequest,
    /// Reads the request head, answers bytes that are not HTTP, closes.
    Garbage,
    /// Reads the request head and never answers; the connection stays
    /// open until the gateway closes it.
    Stall,
    /// Accepts and never reads: a request body fills the socket buffers.
    NeverRead,
    /// Answers a head announcing 100 bytes of body, sends 5 of them in a
    /// second write 100 ms later, and sends nothing more while the
    /// connection stays open.
    StallBody,
}

/// A running faulty origin; its connections end when it is dropped.
pub struct FaultyOrigin {
    pub addr: SocketAddr,
    accepted: Arc<AtomicU64>,
    open: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl FaultyOrigin {
    pub async fn start(fault: Fault) -> FaultyOrigin {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let accepted = Arc::new(AtomicU64::new(0));
        let open = Arc::new(AtomicU64::new(0));
        let (counter, gauge) = (accepted.clone(), open.clone());
        let task = tokio::spawn(async move {
            // Connections live in the set: dropping it (when the origin is
            // dropped and this task aborted) ends them all.
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                gauge.fetch_add(1, Ordering::SeqCst);
                let gauge = gauge.clone();
                connections.spawn(async move {
                    misbehave(fault, stream).await;
                    gauge.fetch_sub(1, Ordering::SeqCst);
                });
                // Reap finished connections so the set does not grow.
                while connections.try_join_next().is_some() {}
            }
        });
        FaultyOrigin {
            addr,
            accepted,
            open,
            task,
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Connections not yet closed (by either side).
    pub fn open(&self) -> u64 {
        self.open.load(Ordering::SeqCst)
    }
}

impl Drop for FaultyOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads until the end of a request head (or the peer stops sending).
async fn read_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

/// A zero linger turns close() into a RST.
fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

async fn misbehave(fault: Fault, mut stream: TcpStream) {
    match fault {
        Fault::ResetOnAccept => reset(stream),
        Fault::ResetAfterRequest => {
            read_head(&mut stream).await;
            reset(stream);
        }
        Fault::Garbage => {
            read_head(&mut stream).await;
            let _ = stream
                .write_all(b"\x00\x01garbage, not HTTP\r\n\r\n\xff\xfe")
                .await;
            let _ = stream.shutdown().await;
        }
        Fault::Stall => {
            read_head(&mut stream).await;
            // Never answer; notice when the gateway gives up and closes.
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        }
        Fault::NeverRead => {
            let _keep = stream;
            std::future::pending::<()>().await;
        }
        Fault::StallBody => {
            read_head(&mut stream).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = stream.write_all(b"hello").await;
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        }
    }
}

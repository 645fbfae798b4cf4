//! Byte-exact HTTP/1 on both ends of the gateway: an origin that answers
//! each request with the raw bytes a test scripted for its path and keeps
//! every request it received as bytes, and a client that writes a request
//! in the shape that picks one of the gateway's HTTP/1 engines and returns
//! what came back, unparsed. For wire-fidelity tests: field order, status
//! lines, framing, what reaches the server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An origin answering by path (the target's path, query left out) from a
/// table of whole responses; an unknown path gets `200` with the body `ok`.
/// A response framed by neither `Content-Length` nor chunking ends with
/// the connection, which the origin then closes.
pub struct RawOrigin {
    pub addr: SocketAddr,
    /// Every request head (and body bytes read with it), as received.
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    accepted: Arc<AtomicU64>,
}

impl RawOrigin {
    pub async fn start(scripts: &[(&str, &[u8])]) -> RawOrigin {
        let table: HashMap<String, Vec<u8>> = scripts
            .iter()
            .map(|(path, response)| (path.to_string(), response.to_vec()))
            .collect();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let (table, seen) = (Arc::new(table), received.clone());
        let accepted = Arc::new(AtomicU64::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(socket, table.clone(), seen.clone()));
            }
        });
        RawOrigin {
            addr,
            received,
            accepted,
        }
    }

    /// How many connections the origin accepted.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    /// The requests received so far, as text.
    pub fn received(&self) -> Vec<String> {
        let all = self.received.lock().unwrap();
        all.iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    }
}

async fn serve(
    mut socket: TcpStream,
    table: Arc<HashMap<String, Vec<u8>>>,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
) {
    let mut pending = Vec::new();
    loop {
        let Some(request) = read_request(&mut socket, &mut pending).await else {
            return;
        };
        let text = String::from_utf8_lossy(&request).into_owned();
        seen.lock().unwrap().push(request);
        let target = text.split(' ').nth(1).unwrap_or("/");
        let path = target.trim_start_matches("http://").split_once('/').map_or(
            target.to_owned(),
            |(authority, path)| {
                if target.starts_with("http://") || authority.is_empty() {
                    format!("/{path}")
                } else {
                    target.to_owned()
                }
            },
        );
        let path = path.split('?').next().unwrap_or("/").to_owned();
        let response = table
            .get(&path)
            .cloned()
            .unwrap_or_else(|| b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec());
        let head = String::from_utf8_lossy(&response).to_ascii_lowercase();
        let head = head.split("\r\n\r\n").next().unwrap_or_default();
        let status = head.split(' ').nth(1).unwrap_or_default();
        let delimited = head.contains("\r\ncontent-length:")
            || head.contains("\r\ntransfer-encoding:")
            || status.starts_with('1')
            || status == "204"
            || status == "304"
            || text.starts_with("HEAD ");
        if socket.write_all(&response).await.is_err() || !delimited {
            return;
        }
    }
}

/// One request off `socket`: the head, and a `Content-Length` body.
async fn read_request(socket: &mut TcpStream, pending: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:")?.trim().parse().ok())
                .unwrap_or(0);
            while pending.len() < end + 4 + length {
                read_more(socket, pending).await?;
            }
            return Some(pending.drain(..end + 4 + length).collect());
        }
        read_more(socket, pending).await?;
    }
}

async fn read_more(socket: &mut TcpStream, pending: &mut Vec<u8>) -> Option<()> {
    let mut buf = [0u8; 4096];
    match socket.read(&mut buf).await {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            pending.extend_from_slice(&buf[..n]);
            Some(())
        }
    }
}

/// How the client writes its request; each shape takes another of the
/// gateway's client-side HTTP/1 engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A bodiless request in one write (the gateway's own engine).
    Bodiless,
    /// A request with a 4-byte body (hyper's engine).
    WithBody,
    /// A bodiless request whose head comes in two writes (hyper's engine).
    SplitHead,
}

pub const SHAPES: [Shape; 3] = [Shape::Bodiless, Shape::WithBody, Shape::SplitHead];

/// The request `METHOD target` with `fields` (lines without CRLF) written
/// in `shape`.
pub fn request(method: &str, target: &str, fields: &[&str], shape: Shape) -> Vec<Vec<u8>> {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: example\r\n");
    for f in fields {
        head.push_str(f);
        head.push_str("\r\n");
    }
    match shape {
        Shape::Bodiless => vec![format!("{head}\r\n").into_bytes()],
        Shape::WithBody => vec![format!("{head}Content-Length: 4\r\n\r\nbody").into_bytes()],
        Shape::SplitHead => vec![head.into_bytes(), b"X-Split: 1\r\n\r\n".to_vec()],
    }
}

/// Writes `pieces` to `port` on a new connection (a short pause between
/// them) and returns one response: its head and a `Content-Length` body,
/// or everything until the connection closes (within 5 s).
pub async fn exchange(port: u16, pieces: &[Vec<u8>]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        s.write_all(piece).await.unwrap();
    }
    read_response(&mut s).await
}

/// One response off `s`, as [`exchange`] reads it.
pub async fn read_response(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let length = head.lines().find_map(|l| {
                l.strip_prefix("content-length:")?
                    .trim()
                    .parse::<usize>()
                    .ok()
            });
            if length.is_some_and(|n| got.len() >= end + 4 + n) {
                break;
            }
        }
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// The head of a response or request: its lines, without the blank one.
pub fn head_lines(message: &str) -> Vec<&str> {
    let head = message.split("\r\n\r\n").next().unwrap_or_default();
    head.split("\r\n").collect()
}

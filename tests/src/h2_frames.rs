//! A raw HTTP/2 client for tests that check frames, not only messages: the
//! order of the gateway's first frames, its SETTINGS, its WINDOW_UPDATEs,
//! requests no well-behaved client library would send (DATA on a `GET`
//! without `content-length`, extended CONNECT). Header blocks are encoded
//! as HPACK literals without indexing or Huffman coding (always valid);
//! received ones are decoded with the `hpack` crate.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const WINDOW_UPDATE: u8 = 0x8;

pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;

/// `SETTINGS_MAX_CONCURRENT_STREAMS`.
pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
/// `SETTINGS_ENABLE_CONNECT_PROTOCOL` (RFC 8441 §3).
pub const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// One frame as received.
#[derive(Debug, Clone)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The `(identifier, value)` pairs of a SETTINGS frame.
    pub fn settings(&self) -> Vec<(u16, u32)> {
        self.payload
            .chunks_exact(6)
            .map(|c| {
                (
                    u16::from_be_bytes([c[0], c[1]]),
                    u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
                )
            })
            .collect()
    }
}

/// A client connection that has sent the preface and its (empty) SETTINGS.
pub struct H2Connection {
    stream: TcpStream,
    decoder: hpack::Decoder<'static>,
}

impl H2Connection {
    pub async fn open(addr: std::net::SocketAddr) -> H2Connection {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(PREFACE).await.unwrap();
        let mut conn = H2Connection {
            stream,
            decoder: hpack::Decoder::new(),
        };
        conn.send(SETTINGS, 0, 0, &[]).await;
        conn
    }

    pub async fn send(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        let len = payload.len() as u32;
        let mut head = len.to_be_bytes()[1..].to_vec();
        head.extend([kind, flags]);
        head.extend(stream.to_be_bytes());
        self.stream.write_all(&head).await.unwrap();
        self.stream.write_all(payload).await.unwrap();
    }

    /// Sends a header block (pseudo-headers first, as given) on `stream`.
    pub async fn send_headers(&mut self, stream: u32, fields: &[(&str, &str)], end_stream: bool) {
        let mut block = Vec::new();
        for (name, value) in fields {
            block.push(0x00);
            encode_string(&mut block, name.as_bytes());
            encode_string(&mut block, value.as_bytes());
        }
        let flags = END_HEADERS | if end_stream { END_STREAM } else { 0 };
        self.send(HEADERS, flags, stream, &block).await;
    }

    /// The next frame, or `None` when the connection ends or nothing comes
    /// within `limit`.
    pub async fn next_frame(&mut self, limit: Duration) -> Option<Frame> {
        let read = async {
            let mut head = [0u8; 9];
            self.stream.read_exact(&mut head).await.ok()?;
            let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
            let mut payload = vec![0u8; len];
            self.stream.read_exact(&mut payload).await.ok()?;
            Some(Frame {
                kind: head[3],
                flags: head[4],
                stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
                payload,
            })
        };
        tokio::time::timeout(limit, read).await.ok().flatten()
    }

    /// Decodes the header block of a HEADERS frame (no padding or priority).
    pub fn decode(&mut self, frame: &Frame) -> Vec<(String, String)> {
        self.decoder
            .decode(&frame.payload)
            .expect("a valid header block")
            .into_iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(&n).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect()
    }

    /// Frames up to the first of `kind` on `stream` (included), within
    /// `limit` for each; fails if the connection ends first.
    pub async fn frames_until(&mut self, kind: u8, stream: u32, limit: Duration) -> Vec<Frame> {
        let mut frames = Vec::new();
        loop {
            let frame = self
                .next_frame(limit)
                .await
                .unwrap_or_else(|| panic!("no frame of type {kind} after {frames:?}"));
            let done = frame.kind == kind && frame.stream == stream;
            frames.push(frame);
            if done {
                return frames;
            }
        }
    }
}

/// An HPACK string literal without Huffman coding (RFC 7541 §5.2).
fn encode_string(out: &mut Vec<u8>, s: &[u8]) {
    encode_integer(out, s.len(), 7, 0x00);
    out.extend_from_slice(s);
}

/// An HPACK integer with an `prefix`-bit prefix (RFC 7541 §5.1).
fn encode_integer(out: &mut Vec<u8>, mut value: usize, prefix: u32, first: u8) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128 + 128) as u8);
        value /= 128;
    }
    out.push(value as u8);
}

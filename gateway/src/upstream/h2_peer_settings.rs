//! What an HTTP/2 server's first SETTINGS frame says about extended
//! CONNECT (RFC 8441 `SETTINGS_ENABLE_CONNECT_PROTOCOL`), read as the bytes
//! go by: hyper does not tell, and the `h2` crate sends an extended CONNECT
//! to a server that never allowed it. HAProxy waits for the server's
//! settings and answers 502 (resetting the stream) when the server does not
//! allow it; `proxy/mod.rs` does the same with this.
//!
//! Only the first frame is read (RFC 9113 §3.4: a server's preface is a
//! SETTINGS frame); a server cannot take the setting back later (RFC 8441
//! §3), and one announcing it later is served as one that did not.

use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

const UNKNOWN: u8 = 0;
const REFUSED: u8 = 1;
const ALLOWED: u8 = 2;

/// RFC 9113 §4.1: length (3), type (1), flags (1), stream (4).
const FRAME_HEADER: usize = 9;
const SETTINGS: u8 = 0x4;
const ACK: u8 = 0x1;
const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;
/// RFC 9113's smallest maximum frame size: a longer first frame is not a
/// server preface worth reading.
const MAX_PREFACE: usize = FRAME_HEADER + 16_384;

/// The server's answer, once its first frame has arrived.
#[derive(Debug, Default)]
pub struct PeerSettings {
    state: AtomicU8,
    known: Notify,
}

impl PeerSettings {
    /// Whether the server allows extended CONNECT, once its first frame is
    /// in (no when the connection ends first).
    pub async fn connect_protocol(&self) -> bool {
        loop {
            let known = self.known.notified();
            match self.state.load(Ordering::Acquire) {
                UNKNOWN => known.await,
                state => return state == ALLOWED,
            }
        }
    }

    fn settle(&self, allowed: bool) {
        let state = if allowed { ALLOWED } else { REFUSED };
        self.state.store(state, Ordering::Release);
        self.known.notify_waiters();
    }

    /// Reads the first frame out of `preface` once it is whole: whether it
    /// is a SETTINGS frame with `ENABLE_CONNECT_PROTOCOL` = 1. `None` while
    /// it is incomplete.
    fn read_preface(preface: &[u8]) -> Option<bool> {
        let header = preface.get(..FRAME_HEADER)?;
        let length =
            usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
        if header[3] != SETTINGS || header[4] & ACK != 0 || FRAME_HEADER + length > MAX_PREFACE {
            return Some(false);
        }
        let payload = preface.get(FRAME_HEADER..FRAME_HEADER + length)?;
        Some(payload.chunks_exact(6).any(|entry| {
            u16::from_be_bytes([entry[0], entry[1]]) == ENABLE_CONNECT_PROTOCOL
                && u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]) == 1
        }))
    }
}

/// A server connection whose first incoming frame is read into
/// [`PeerSettings`] on its way to the `h2` crate.
pub struct SettingsWatch<IO> {
    io: IO,
    settings: Arc<PeerSettings>,
    /// The bytes of the first frame so far; `None` once it is read.
    preface: Option<Vec<u8>>,
}

impl<IO> SettingsWatch<IO> {
    pub fn new(io: IO) -> (Self, Arc<PeerSettings>) {
        let settings = Arc::new(PeerSettings::default());
        let watch = SettingsWatch {
            io,
            settings: settings.clone(),
            preface: Some(Vec::new()),
        };
        (watch, settings)
    }
}

impl<IO> Drop for SettingsWatch<IO> {
    fn drop(&mut self) {
        // A connection closed before its settings allows nothing.
        if self.preface.is_some() {
            self.settings.settle(false);
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for SettingsWatch<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(preface)) = (&polled, self.preface.as_mut()) {
            let new = &buf.filled()[before..];
            let wanted = MAX_PREFACE.saturating_sub(preface.len());
            preface.extend_from_slice(&new[..new.len().min(wanted)]);
            let verdict = match PeerSettings::read_preface(preface) {
                Some(allowed) => Some(allowed),
                // The connection ended before the first frame did.
                None if new.is_empty() => Some(false),
                None => None,
            };
            if let Some(allowed) = verdict {
                self.preface = None;
                self.settings.settle(allowed);
            }
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for SettingsWatch<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn settings_frame(entries: &[(u16, u32)]) -> Vec<u8> {
        let mut frame = vec![0, 0, (entries.len() * 6) as u8, SETTINGS, 0, 0, 0, 0, 0];
        for (id, value) in entries {
            frame.extend_from_slice(&id.to_be_bytes());
            frame.extend_from_slice(&value.to_be_bytes());
        }
        frame
    }

    /// What a server's first bytes, written in two pieces, say.
    async fn verdict(first: Vec<u8>) -> bool {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let (mut watch, settings) = SettingsWatch::new(client);
        let split = first.len() / 2;
        tokio::spawn(async move {
            server.write_all(&first[..split]).await.unwrap();
            tokio::task::yield_now().await;
            server.write_all(&first[split..]).await.unwrap();
            server.write_all(b"more").await.unwrap();
        });
        tokio::spawn(async move {
            let mut sink = Vec::new();
            let _ = watch.read_to_end(&mut sink).await;
        });
        settings.connect_protocol().await
    }

    #[tokio::test]
    async fn the_servers_first_settings_say_whether_extended_connect_is_allowed() {
        assert!(verdict(settings_frame(&[(4, 65_535), (ENABLE_CONNECT_PROTOCOL, 1)])).await);
        assert!(!verdict(settings_frame(&[(ENABLE_CONNECT_PROTOCOL, 0)])).await);
        assert!(!verdict(settings_frame(&[(4, 65_535)])).await);
        // Not a SETTINGS frame first: not a server that allows it.
        assert!(!verdict(vec![0, 0, 4, 0x8, 0, 0, 0, 0, 0, 0, 0, 1, 0]).await);
    }

    #[tokio::test]
    async fn a_connection_closed_before_its_settings_allows_nothing() {
        let (client, server) = tokio::io::duplex(64);
        let (mut watch, settings) = SettingsWatch::new(client);
        drop(server);
        let mut sink = Vec::new();
        let _ = watch.read_to_end(&mut sink).await;
        assert!(!settings.connect_protocol().await);
    }
}

//! The client's side of a switch of protocols (`Connection: Upgrade` and
//! `CONNECT` on HTTP/1.1, extended `CONNECT` on HTTP/2): a promise of the
//! client's connection, carried in the request's extensions to the request
//! path, which joins it to the server's once the server has switched
//! (`proxy/upgrade.rs`). The client's connection keeps the promise when it
//! has written the answer that switches (`front/h1_conn.rs` for HTTP/1,
//! hyper's stream for HTTP/2), and breaks it otherwise.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;

/// A client connection once its protocol has switched.
pub trait UpgradedIo: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> UpgradedIo for T {}

type Pending = Pin<Box<dyn Future<Output = io::Result<Box<dyn UpgradedIo>>> + Send>>;

/// The promise, as a request extension (which must be `Clone`: a clone
/// shares the one promise, which the first [`ClientUpgrade::wait`] takes).
#[derive(Clone)]
pub struct ClientUpgrade(Arc<Mutex<Option<Pending>>>);

/// The connection's end of the promise.
pub struct UpgradeSender(oneshot::Sender<Box<dyn UpgradedIo>>);

impl ClientUpgrade {
    /// A promise the client's HTTP/1 connection keeps with
    /// [`UpgradeSender::send`].
    pub fn channel() -> (UpgradeSender, ClientUpgrade) {
        let (tx, rx) = oneshot::channel();
        let pending: Pending = Box::pin(async move {
            rx.await
                .map_err(|_| io::Error::other("the client's connection did not switch"))
        });
        (UpgradeSender(tx), ClientUpgrade::new(pending))
    }

    /// hyper's promise of an HTTP/2 stream (extended `CONNECT`).
    pub fn from_hyper(on: hyper::upgrade::OnUpgrade) -> Self {
        ClientUpgrade::new(Box::pin(async move {
            let upgraded = on.await.map_err(io::Error::other)?;
            Ok(Box::new(hyper_util::rt::TokioIo::new(upgraded)) as Box<dyn UpgradedIo>)
        }))
    }

    fn new(pending: Pending) -> Self {
        ClientUpgrade(Arc::new(Mutex::new(Some(pending))))
    }

    /// The client's connection, once switched.
    pub async fn wait(self) -> io::Result<Box<dyn UpgradedIo>> {
        let pending = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        match pending {
            Some(pending) => pending.await,
            None => Err(io::Error::other(
                "the client's connection was taken already",
            )),
        }
    }
}

impl UpgradeSender {
    /// Hands the switched connection over; gives it back when nobody
    /// waits for it any more.
    pub fn send(self, io: Box<dyn UpgradedIo>) -> Result<(), Box<dyn UpgradedIo>> {
        self.0.send(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn the_connection_sent_is_the_one_waited_for() {
        let (sender, upgrade) = ClientUpgrade::channel();
        let (ours, mut theirs) = tokio::io::duplex(64);
        assert!(sender.send(Box::new(ours)).is_ok());
        let mut io = upgrade.clone().wait().await.unwrap();
        theirs.write_all(b"ping").await.unwrap();
        let mut got = [0u8; 4];
        io.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        assert!(upgrade.wait().await.is_err(), "taken once");
    }

    #[tokio::test]
    async fn a_promise_not_kept_is_an_error() {
        let (sender, upgrade) = ClientUpgrade::channel();
        drop(sender);
        assert!(upgrade.wait().await.is_err());
    }
}

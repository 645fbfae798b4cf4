//! `option abortonclose`: a request whose client has closed its side of
//! the connection is given up while it waits for a server, as HAProxy
//! gives it up: in the queue (log `CQ`, no status), while connecting or
//! between connection attempts (`CC`, no status), or while the server has
//! not answered yet (`CH`, status 400, the server connection closed).
//!
//! The client side notices the close: the connection's reads (hyper's, or
//! the parked path's watch while a request is in progress, see
//! `front/parked.rs`) mark it [`ClientGone`]; the request path races each
//! wait against that mark when its backend has the option.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Whether the client has closed its side (or its connection broke), and
/// who waits for it to. The waiters' [`Notify`] is made only when a
/// request first waits with `abortonclose`, so other connections carry a
/// flag and a null pointer.
#[derive(Default)]
pub struct ClientGone {
    gone: AtomicBool,
    waiters: once_cell::race::OnceBox<Notify>,
}

impl ClientGone {
    /// The client closed its side: wake the waits racing against it.
    pub fn mark(&self) {
        if !self.gone.swap(true, Ordering::SeqCst) {
            if let Some(waiters) = self.waiters.get() {
                waiters.notify_waiters();
            }
        }
    }

    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::SeqCst)
    }

    /// Resolves once the client has closed its side.
    pub async fn closed(&self) {
        let waiters = self.waiters.get_or_init(|| Box::new(Notify::new()));
        let notified = waiters.notified();
        tokio::pin!(notified);
        // Registered before the flag is read: a `mark` in between wakes it.
        notified.as_mut().enable();
        if self.is_gone() {
            return;
        }
        notified.await;
    }
}

/// The client left while the request waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aborted;

/// Awaits `$wait`, given up (`Err(Aborted)`) when `$abort_on_close` and
/// the client closes first (or has already closed). Without the option the
/// future is awaited where it is made, as a plain `.await` (`Ok`); with it,
/// it is boxed and raced against the close ([`race_client_close`]). The
/// request path waits like this several times per request, and a wrapping
/// future would hold (and move) each wait for every request, whether its
/// backend has the option or not.
macro_rules! unless_client_closes {
    ($abort_on_close:expr, $gone:expr, $wait:expr) => {
        if $abort_on_close {
            $crate::proxy::abort::race_client_close($gone, Box::pin($wait)).await
        } else {
            Ok($wait.await)
        }
    };
}
pub(crate) use unless_client_closes;

/// Awaits `wait`, given up (`Err(Aborted)`) if the client closes first (or
/// has already closed): `option abortonclose`'s race.
pub async fn race_client_close<T>(
    gone: &ClientGone,
    wait: impl Future<Output = T>,
) -> Result<T, Aborted> {
    if gone.is_gone() {
        return Err(Aborted);
    }
    tokio::select! {
        biased;
        () = gone.closed() => Err(Aborted),
        value = wait => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn a_wait_is_given_up_when_the_client_closes() {
        let gone = Arc::new(ClientGone::default());
        let marker = gone.clone();
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            marker.mark();
        });
        let waited = race_client_close(&gone, tokio::time::sleep(Duration::from_secs(60))).await;
        assert_eq!(waited, Err(Aborted));
    }

    #[tokio::test]
    async fn without_the_option_the_wait_runs_to_its_end() {
        let gone = ClientGone::default();
        gone.mark();
        let waited: Result<i32, Aborted> = unless_client_closes!(false, &gone, async { 7 });
        assert_eq!(waited, Ok(7));
        let waited: Result<i32, Aborted> = unless_client_closes!(true, &gone, async { 7 });
        assert_eq!(waited, Err(Aborted));
        let open = ClientGone::default();
        let waited: Result<i32, Aborted> = unless_client_closes!(true, &open, async { 7 });
        assert_eq!(waited, Ok(7));
    }
}

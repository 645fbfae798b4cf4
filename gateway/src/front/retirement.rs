//! A generation's connections: how many are open, and the signal that asks
//! them to finish when a newer configuration takes over or the process
//! stops. The accept loop (`front/accept.rs`) makes each connection a
//! [`Member`]; the connection's engine waits on its [`Retirement`].

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Why a generation's connections are asked to finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Serving,
    /// A newer configuration serves new connections: HTTP/1 connections
    /// answer their next request with `Connection: close` (so a client
    /// never sends a request on a connection being closed), HTTP/2 ones
    /// get a GOAWAY.
    Reloaded,
    /// The process is stopping: idle connections close at once, busy ones
    /// after their request (HAProxy's soft stop).
    Stopping,
}

/// The connections of one generation: how many are open, and the signal
/// that asks them to finish (reload, soft stop).
///
/// One pointer wide: every connection's task holds one, idle or not.
#[derive(Clone)]
pub struct Retirement {
    shared: Arc<Generation>,
}

/// Sends the retirement signal of a generation.
pub struct Retire {
    shared: Arc<Generation>,
}

#[derive(Default)]
struct Generation {
    /// The [`Phase`], as `Phase::code`.
    phase: AtomicU8,
    /// Woken when `phase` leaves `Serving`.
    retire: Notify,
    count: AtomicUsize,
    /// Woken when `count` falls to zero.
    zero: Notify,
}

impl Phase {
    fn code(self) -> u8 {
        match self {
            Phase::Serving => 0,
            Phase::Reloaded => 1,
            Phase::Stopping => 2,
        }
    }

    fn from_code(code: u8) -> Phase {
        match code {
            0 => Phase::Serving,
            1 => Phase::Reloaded,
            _ => Phase::Stopping,
        }
    }
}

/// Creates a generation's retirement pair.
pub fn retirement() -> (Retire, Retirement) {
    let shared = Arc::new(Generation::default());
    (
        Retire {
            shared: shared.clone(),
        },
        Retirement { shared },
    )
}

impl Retire {
    /// Asks every connection of the generation to finish (see [`Phase`]).
    pub fn now(&self, phase: Phase) {
        self.shared.phase.store(phase.code(), Ordering::SeqCst);
        self.shared.retire.notify_waiters();
    }

    /// Waits until the generation has no connection left.
    pub async fn drained(&self) {
        loop {
            let notified = self.shared.zero.notified();
            if self.shared.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    pub fn open_connections(&self) -> usize {
        self.shared.count.load(Ordering::SeqCst)
    }
}

impl Retirement {
    /// Resolves when the generation is asked to finish, with why. (Never,
    /// if its `Retire` is dropped without a signal: it keeps serving.)
    pub fn requested(&self) -> Requested<'_> {
        Requested {
            retirement: self,
            notified: self.shared.retire.notified(),
        }
    }

    /// Connections of the generation open now (every listener's).
    pub fn open_connections(&self) -> u64 {
        self.shared.count.load(Ordering::Relaxed) as u64
    }

    /// Whether the generation has been asked to finish, without waiting.
    pub fn requested_now(&self) -> Option<Phase> {
        Some(Phase::from_code(self.shared.phase.load(Ordering::SeqCst)))
            .filter(|phase| *phase != Phase::Serving)
    }

    /// Counts a connection as open until the returned [`Member`] drops.
    pub(crate) fn enter(&self) -> Member {
        self.shared.count.fetch_add(1, Ordering::SeqCst);
        Member {
            retirement: self.clone(),
        }
    }
}

/// A connection of a generation: counted open until dropped, and told
/// through its [`Retirement`] when the generation is asked to finish.
pub(crate) struct Member {
    retirement: Retirement,
}

impl Member {
    pub fn retirement(&self) -> &Retirement {
        &self.retirement
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let shared = &self.retirement.shared;
        if shared.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            shared.zero.notify_waiters();
        }
    }
}

pin_project_lite::pin_project! {
    /// [`Retirement::requested`]'s future: a wait on the generation's
    /// `Notify`, written out because an idle connection carries it (an
    /// `async fn` around the same wait, or a `watch` channel's, took twice
    /// the room).
    pub struct Requested<'a> {
        retirement: &'a Retirement,
        // Made before the phase is looked at: `notify_waiters` reaches a
        // `Notified` from its creation on, so no signal falls between.
        #[pin]
        notified: tokio::sync::futures::Notified<'a>,
    }
}

impl Future for Requested<'_> {
    type Output = Phase;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Phase> {
        let mut this = self.project();
        loop {
            if let Some(phase) = this.retirement.requested_now() {
                return std::task::Poll::Ready(phase);
            }
            std::task::ready!(this.notified.as_mut().poll(cx));
            this.notified.set(this.retirement.shared.retire.notified());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn drained_waits_for_the_last_connection() {
        let (retire, retirement) = retirement();
        let a = retirement.enter();
        let b = retirement.enter();
        assert_eq!(retire.open_connections(), 2);
        let waiter = tokio::spawn(async move { retire.drained().await });
        drop(a);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(b);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn the_signal_reaches_every_connection() {
        let (retire, retirement) = retirement();
        let one = retirement.clone();
        let two = retirement;
        retire.now(Phase::Reloaded);
        let phases = tokio::time::timeout(Duration::from_secs(1), async {
            (one.requested().await, two.requested().await)
        })
        .await
        .unwrap();
        assert_eq!(phases, (Phase::Reloaded, Phase::Reloaded));
    }
}

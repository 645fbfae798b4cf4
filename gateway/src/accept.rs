//! Listening sockets that outlive a configuration. Each bound address has
//! one accept loop; what it hands connections to (an HTTP frontend, an
//! HTTP frontend with a layer-4 step, a TCP frontend) is the current
//! generation's [`Service`], swapped in one step on reload, so no
//! connection is ever refused while the configuration changes. Connections
//! keep the generation they were accepted by until they end.
//!
//! Global `maxconn` is enforced here: at the limit, a loop stops accepting
//! (the kernel's backlog holds new clients) until a connection ends.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};

use crate::proxy::HttpProxy;
use crate::tcp::http_front::HttpL4;
use crate::tcp::TcpFrontend;
use crate::tls::bind::BindTls;

/// What a listening address serves.
#[derive(Clone)]
pub enum Service {
    /// HTTP, as the bind says (TLS, HTTP/2 only).
    Http(Arc<HttpProxy>, HttpBind),
    /// HTTP after `tcp-request connection` rules and/or a PROXY header.
    HttpL4(Arc<HttpProxy>, Arc<HttpL4>, HttpBind),
    Tcp {
        frontend: Arc<TcpFrontend>,
        accept_proxy: bool,
    },
}

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

/// How an HTTP bind speaks: `ssl` (its TLS settings) and `proto h2`.
#[derive(Clone, Default)]
pub struct HttpBind {
    pub tls: Option<Arc<BindTls>>,
    pub h2_only: bool,
}

/// The connections of one generation: how many are open, and the signal
/// that asks them to finish (reload, soft stop).
#[derive(Clone)]
pub struct Retirement {
    signal: watch::Receiver<Phase>,
    open: Arc<OpenCount>,
}

/// Sends the retirement signal of a generation.
pub struct Retire {
    signal: watch::Sender<Phase>,
    open: Arc<OpenCount>,
}

#[derive(Default)]
struct OpenCount {
    count: AtomicUsize,
    zero: Notify,
}

/// Creates a generation's retirement pair.
pub fn retirement() -> (Retire, Retirement) {
    let (tx, rx) = watch::channel(Phase::Serving);
    let open = Arc::new(OpenCount::default());
    (
        Retire {
            signal: tx,
            open: open.clone(),
        },
        Retirement { signal: rx, open },
    )
}

impl Retire {
    /// Asks every connection of the generation to finish (see [`Phase`]).
    pub fn now(&self, phase: Phase) {
        let _ = self.signal.send(phase);
    }

    /// Waits until the generation has no connection left.
    pub async fn drained(&self) {
        loop {
            let notified = self.open.zero.notified();
            if self.open.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    pub fn open_connections(&self) -> usize {
        self.open.count.load(Ordering::SeqCst)
    }
}

impl Retirement {
    /// Resolves when the generation is asked to finish, with why.
    pub async fn requested(&mut self) -> Phase {
        loop {
            let phase = *self.signal.borrow_and_update();
            if phase != Phase::Serving {
                return phase;
            }
            if self.signal.changed().await.is_err() {
                // The generation is gone without a signal: keep serving.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Whether the generation has been asked to finish, without waiting.
    pub fn requested_now(&self) -> Option<Phase> {
        Some(*self.signal.borrow()).filter(|phase| *phase != Phase::Serving)
    }

    fn enter(&self) -> OpenGuard {
        self.open.count.fetch_add(1, Ordering::SeqCst);
        OpenGuard(self.open.clone())
    }
}

/// Counts one connection as open until dropped.
struct OpenGuard(Arc<OpenCount>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.zero.notify_waiters();
        }
    }
}

/// A generation's service on one address.
pub struct Current {
    pub service: Service,
    pub retirement: Retirement,
}

/// One listening address: the service of the generation in force.
pub type Slot = Arc<ArcSwap<Current>>;

/// Accepts on `listener` until the task is dropped, handing each
/// connection to the slot's current service. `maxconn` bounds open
/// connections across every listener.
///
/// The listener is shared with the handover list (`_getsocks`), which holds
/// it weakly: when this task ends, the socket closes.
pub async fn accept_loop(listener: Arc<TcpListener>, slot: Slot, maxconn: Arc<Semaphore>) {
    loop {
        // At the limit, wait here: clients queue in the kernel's backlog.
        let Ok(permit) = maxconn.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let current = slot.load_full();
        let listener_fd = std::os::fd::AsRawFd::as_raw_fd(&*listener);
        tokio::spawn(async move {
            let _permit = permit;
            let _open = current.retirement.enter();
            serve(stream, peer, listener_fd, &current).await;
        });
    }
}

/// The states of the paths other than plain HTTP (layer-4 rules, TCP
/// sessions) are boxed: a task's size is that of its largest state, and an
/// idle HTTP connection should not carry room for them.
async fn serve(stream: TcpStream, peer: SocketAddr, listener_fd: i32, current: &Current) {
    let retirement = current.retirement.clone();
    match &current.service {
        Service::Http(proxy, bind) => {
            let _ = stream.set_nodelay(true);
            let Ok(local) = stream.local_addr() else {
                return;
            };
            let accepted = crate::listener::Accepted {
                peer,
                local,
                listener_fd,
            };
            crate::listener::serve_accepted(stream, accepted, proxy.clone(), bind, retirement).await
        }
        Service::HttpL4(proxy, l4, bind) => {
            Box::pin(async move {
                let timeouts = proxy.client_timeouts();
                if let Some((stream, src, dst)) = l4.admit(stream, peer, &timeouts).await {
                    let accepted = crate::listener::Accepted {
                        peer: src,
                        local: dst,
                        listener_fd,
                    };
                    crate::listener::serve_accepted(
                        stream,
                        accepted,
                        proxy.clone(),
                        bind,
                        retirement,
                    )
                    .await
                }
            })
            .await
        }
        // A TCP session is a byte stream: it ends when its peers end it.
        Service::Tcp {
            frontend,
            accept_proxy,
        } => Box::pin(frontend.session(stream, peer, *accept_proxy)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut one = retirement.clone();
        let mut two = retirement;
        retire.now(Phase::Reloaded);
        let phases = tokio::time::timeout(Duration::from_secs(1), async {
            (one.requested().await, two.requested().await)
        })
        .await
        .unwrap();
        assert_eq!(phases, (Phase::Reloaded, Phase::Reloaded));
    }
}

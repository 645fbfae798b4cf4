//! One client connection as the request path knows it: its addresses and
//! TLS facts, how many requests it has started and whether one is in
//! progress (the idle timeout and graceful close wait on that), and what it
//! keeps for later requests (the `forwardfor` address, its own server
//! connection with `http-reuse never`). The front end (`front/`) creates it;
//! every request of the connection reads it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::forwardfor;

/// One client connection, as the request path needs to know it.
pub struct ClientConn {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// The TLS facts of a connection accepted on `bind … ssl`.
    pub tls: Option<Box<switchyard_rules::TlsFacts>>,
    requests: AtomicU64,
    /// Requests whose response has not been passed on yet.
    in_flight: std::sync::atomic::AtomicU32,
    /// Since when the connection has been idle, and who to wake when it
    /// becomes so (see `client_io`): one lock for both, taken once per
    /// request.
    idle: std::sync::Mutex<Idle>,
    /// A reload happened: the next response closes the connection.
    pub(super) closing: std::sync::atomic::AtomicBool,
    /// The client socket's descriptor, for `-d`'s trace (-1: none).
    pub trace_fd: i32,
    /// The client's address as `option forwardfor` adds it, once needed.
    /// Boxed: most connections never need it, and every connection would
    /// carry its 64 bytes (`OnceBox`: one pointer, where a `OnceLock` of a
    /// box is two words).
    forwarded: once_cell::race::OnceBox<forwardfor::ForwardedClient>,
    /// Its own idle server connection, with `http-reuse never` only.
    own_server: once_cell::race::OnceBox<Arc<crate::upstream::pool::PrivateSlot>>,
    /// Counted among the process's and the frontend's connections, when
    /// the frontend logs them (`%ac`, `%fc`).
    pub(super) counted: Option<Box<dyn crate::log::request_log::OpenConnections>>,
    /// The client closed its side (`option abortonclose`).
    pub gone: super::abort::ClientGone,
    /// The connection's `sess.` variables, once a rule uses variables.
    sess_vars: once_cell::race::OnceBox<Arc<switchyard_rules::vars::VarMap>>,
}

/// A client connection between requests.
struct Idle {
    since: tokio::time::Instant,
    waker: Option<std::task::Waker>,
}

impl ClientConn {
    pub fn new(peer: SocketAddr, local: SocketAddr) -> Self {
        ClientConn {
            peer,
            local,
            tls: None,
            requests: AtomicU64::new(0),
            in_flight: std::sync::atomic::AtomicU32::new(0),
            idle: std::sync::Mutex::new(Idle {
                since: tokio::time::Instant::now(),
                waker: None,
            }),
            closing: std::sync::atomic::AtomicBool::new(false),
            trace_fd: -1,
            forwarded: once_cell::race::OnceBox::new(),
            own_server: once_cell::race::OnceBox::new(),
            counted: None,
            gone: super::abort::ClientGone::default(),
            sess_vars: once_cell::race::OnceBox::new(),
        }
    }

    /// The connection's `sess.` variables (made on first use).
    pub fn sess_vars(&self) -> &Arc<switchyard_rules::vars::VarMap> {
        self.sess_vars.get_or_init(Box::default)
    }

    /// The same connection, counted for `%ac` and `%fc`.
    pub fn counted(mut self, counted: Box<dyn crate::log::request_log::OpenConnections>) -> Self {
        self.counted = Some(counted);
        self
    }

    /// `%ac` and `%fc` now, when the frontend's log reports them.
    pub fn open_connections(&self) -> Option<&dyn crate::log::request_log::OpenConnections> {
        self.counted.as_deref()
    }

    /// The same connection, TLS-terminated with `facts`.
    pub fn with_tls(mut self, facts: switchyard_rules::TlsFacts) -> Self {
        self.tls = Some(Box::new(facts));
        self
    }

    /// When no request is in progress: how many requests the connection
    /// has started so far (which idle period this is) and since when it
    /// has been waiting for the next one.
    pub fn waiting(&self) -> Option<(u64, tokio::time::Instant)> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let since = self.idle().since;
        Some((self.requests.load(Ordering::Relaxed), since))
    }

    pub(crate) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn request_finished(&self) {
        let mut idle = self.idle();
        idle.since = tokio::time::Instant::now();
        if self.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
            if let Some(waker) = idle.waker.take() {
                drop(idle);
                waker.wake();
            }
        }
    }

    /// After a reload: answer the next request with `Connection: close`.
    pub fn close_after_next_response(&self) {
        self.closing.store(true, Ordering::Relaxed);
    }

    /// Whether responses now say `Connection: close`.
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Relaxed)
    }

    /// Asks to be woken when no request is in progress any more.
    pub fn wake_when_idle(&self, waker: &std::task::Waker) {
        let mut idle = self.idle();
        match idle.waker.as_ref() {
            Some(w) if w.will_wake(waker) => {}
            _ => idle.waker = Some(waker.clone()),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The client's address for `option forwardfor`, formatted once.
    pub(crate) fn forwarded_client(&self) -> &forwardfor::ForwardedClient {
        self.forwarded
            .get_or_init(|| Box::new(forwardfor::ForwardedClient::new(self.peer.ip())))
    }

    /// The slot of its own server connection (`http-reuse never`).
    pub(crate) fn own_server(&self) -> &Arc<crate::upstream::pool::PrivateSlot> {
        self.own_server.get_or_init(Box::default)
    }

    /// Counts a request; true for the first of the connection.
    pub(crate) fn first_request(&self) -> bool {
        self.requests.fetch_add(1, Ordering::Relaxed) == 0
    }
}

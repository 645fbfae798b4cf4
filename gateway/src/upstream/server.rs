//! A server of a backend and its live state. Everything the request path
//! reads or changes is atomic, so choosing a server never takes a lock.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use switchyard_grammar::ast::address::{Host, Port};
use switchyard_grammar::ast::proxy::Proxy;
use switchyard_grammar::ast::server::{Server as ServerLine, ServerOptions};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::tls::upstream::ServerTls;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("server '{server}': cannot resolve '{address}': {why}")]
    Resolve {
        server: String,
        address: String,
        why: String,
    },
    #[error("server '{server}': address '{address}' has no port (a port from the client connection is not supported yet)")]
    NoPort { server: String, address: String },
    #[error("server '{server}': {source}")]
    Tls {
        server: String,
        source: crate::tls::TlsError,
    },
}

/// No slot freed in time (`timeout queue`).
#[derive(Debug)]
pub struct QueueTimeout;

pub struct Server {
    pub name: String,
    pub index: usize,
    pub addr: SocketAddr,
    pub backup: bool,
    /// `cookie VALUE` for persistence.
    pub cookie: Option<String>,
    pub options: ServerOptions,
    /// `ssl`: the TLS settings toward this server.
    pub tls: Option<Arc<ServerTls>>,
    /// Health checks in TLS: `check-ssl`, or `ssl` with neither `port`
    /// nor `addr` (HAProxy's rule).
    pub check_tls: Option<Arc<ServerTls>>,
    /// The weight set in the configuration, for `set weight N%`.
    pub initial_weight: u32,
    weight: AtomicU32,
    up: AtomicBool,
    /// Taken out by an operator (MAINT) — kept for the runtime API.
    maintenance: AtomicBool,
    in_flight: Arc<AtomicU32>,
    max_in_flight: AtomicU32,
    /// HAProxy's short code for the last check (`L4OK`, `L7STS`…).
    check_status: std::sync::Mutex<Option<&'static str>>,
    slots: Option<Arc<Semaphore>>,
    pub picks: AtomicU64,
    pub failures: AtomicU64,
}

impl Server {
    pub fn build(proxy: &Proxy, line: &ServerLine, index: usize) -> Result<Server, BuildError> {
        let options = proxy.server_options(line);
        let port = match line.address.port {
            Port::Range(p, _) => p,
            _ => {
                return Err(BuildError::NoPort {
                    server: line.name.text.clone(),
                    address: line.address.word.text.clone(),
                })
            }
        };
        let addr = match &line.address.host {
            Host::Ip(ip) => SocketAddr::new(*ip, port),
            Host::Name(name) => (name.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| e.to_string())
                .and_then(|mut a| a.next().ok_or_else(|| "no address".to_owned()))
                .map_err(|why| BuildError::Resolve {
                    server: line.name.text.clone(),
                    address: name.clone(),
                    why,
                })?,
            other => {
                return Err(BuildError::Resolve {
                    server: line.name.text.clone(),
                    address: format!("{other:?}"),
                    why: "not an IP address or host name".into(),
                })
            }
        };
        let weight = options.weight.unwrap_or(1) as u32;
        let ssl = options.ssl == Some(true);
        let check_ssl = options.check_ssl == Some(true)
            || (ssl && options.check_port.is_none() && options.check_addr.is_none());
        let tls = if ssl || check_ssl {
            let built = ServerTls::build(&options).map_err(|source| BuildError::Tls {
                server: line.name.text.clone(),
                source,
            })?;
            Some(Arc::new(built))
        } else {
            None
        };
        Ok(Server {
            check_tls: tls.clone().filter(|_| check_ssl),
            tls: tls.filter(|_| ssl),
            name: line.name.text.clone(),
            index,
            addr,
            backup: options.backup.unwrap_or(false),
            cookie: options.cookie.clone(),
            initial_weight: weight,
            weight: AtomicU32::new(weight),
            // HAProxy starts servers UP and lets checks take them down.
            up: AtomicBool::new(true),
            maintenance: AtomicBool::new(options.disabled.unwrap_or(false)),
            in_flight: Arc::new(AtomicU32::new(0)),
            max_in_flight: AtomicU32::new(0),
            check_status: std::sync::Mutex::new(None),
            slots: options
                .maxconn
                .filter(|n| *n > 0)
                .map(|n| Arc::new(Semaphore::new(n as usize))),
            picks: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            options,
        })
    }

    pub fn weight(&self) -> u32 {
        self.weight.load(Ordering::Relaxed)
    }

    /// For the runtime API's `set weight`; balancing reads it on the next pick.
    #[cfg(test)]
    pub fn set_weight(&self, weight: u32) {
        self.weight.store(weight.min(256), Ordering::Relaxed);
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::Relaxed);
    }

    pub fn in_maintenance(&self) -> bool {
        self.maintenance.load(Ordering::Relaxed)
    }

    /// Whether balancing may choose this server.
    pub fn usable(&self) -> bool {
        self.is_up() && !self.in_maintenance() && self.weight() > 0
    }

    /// Requests being served now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The most requests it had at once.
    pub fn max_in_flight(&self) -> u32 {
        self.max_in_flight.load(Ordering::Relaxed)
    }

    pub fn check_status(&self) -> Option<&'static str> {
        *self.check_status.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_check_status(&self, code: &'static str) {
        *self.check_status.lock().unwrap_or_else(|e| e.into_inner()) = Some(code);
    }

    pub fn record_failure(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    /// A slot on the server, waiting at most `queue` when it is at `maxconn`.
    pub async fn acquire(&self, queue: Option<Duration>) -> Result<ServerPermit, QueueTimeout> {
        let permit = match &self.slots {
            None => None,
            Some(slots) => {
                let wait = slots.clone().acquire_owned();
                let permit = match queue {
                    Some(limit) => tokio::time::timeout(limit, wait)
                        .await
                        .map_err(|_| QueueTimeout)?,
                    None => wait.await,
                };
                Some(permit.map_err(|_| QueueTimeout)?)
            }
        };
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_in_flight.fetch_max(now, Ordering::Relaxed);
        self.picks.fetch_add(1, Ordering::Relaxed);
        Ok(ServerPermit {
            _slot: permit,
            in_flight: self.in_flight.clone(),
        })
    }
}

/// Held while a request is on a server; frees the slot when dropped.
pub struct ServerPermit {
    _slot: Option<OwnedSemaphorePermit>,
    in_flight: Arc<AtomicU32>,
}

impl Drop for ServerPermit {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

//! Connections to servers, kept open and reused (HAProxy's `http-reuse
//! safe`: the first request of a client connection gets a connection of its
//! own; later ones may reuse an idle one).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::body::ProxyBody;

/// Why no connection could be had.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connection timed out")]
    Timeout,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("HTTP handshake failed: {0}")]
    Handshake(#[from] hyper::Error),
}

struct IdleConn {
    sender: SendRequest<ProxyBody>,
    since: Instant,
}

/// A connection checked out of the pool for one request.
pub struct PooledConn {
    pub sender: SendRequest<ProxyBody>,
    pub addr: SocketAddr,
    /// It served an earlier request (a failure on it may just be a close race).
    pub reused: bool,
    /// It began with a PROXY protocol header naming one client: never
    /// reused for another (HAProxy marks such connections private).
    pub private: bool,
}

pub struct ConnectionPool {
    idle: Mutex<HashMap<SocketAddr, Vec<IdleConn>>>,
    max_idle_per_server: usize,
    idle_timeout: Duration,
}

impl ConnectionPool {
    pub fn new(max_idle_per_server: usize, idle_timeout: Duration) -> Arc<Self> {
        Arc::new(ConnectionPool {
            idle: Mutex::new(HashMap::new()),
            max_idle_per_server,
            idle_timeout,
        })
    }

    /// An idle connection to `addr` when `reuse` allows and no PROXY
    /// protocol header is to be sent; else a new one, which starts with
    /// `proxy_header` when there is one (and is then private).
    pub async fn checkout(
        &self,
        addr: SocketAddr,
        reuse: bool,
        connect_timeout: Option<Duration>,
        proxy_header: Option<Vec<u8>>,
    ) -> Result<PooledConn, ConnectError> {
        if reuse && proxy_header.is_none() {
            while let Some(mut sender) = self.pop_idle(addr) {
                // A connection checked in right after its response ended may
                // need a moment before it takes the next request.
                if let Ok(Ok(())) =
                    tokio::time::timeout(Duration::from_millis(200), sender.ready()).await
                {
                    return Ok(PooledConn {
                        sender,
                        addr,
                        reused: true,
                        private: false,
                    });
                }
            }
        }
        let connect = TcpStream::connect(addr);
        let stream = match connect_timeout {
            Some(limit) => tokio::time::timeout(limit, connect)
                .await
                .map_err(|_| ConnectError::Timeout)??,
            None => connect.await?,
        };
        stream.set_nodelay(true)?;
        let mut stream = stream;
        if let Some(header) = &proxy_header {
            tokio::io::AsyncWriteExt::write_all(&mut stream, header).await?;
        }
        let (sender, connection) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await?;
        tokio::spawn(async move {
            // Errors here are seen by the request that owns the connection.
            let _ = connection.with_upgrades().await;
        });
        Ok(PooledConn {
            sender,
            addr,
            reused: false,
            private: proxy_header.is_some(),
        })
    }

    fn pop_idle(&self, addr: SocketAddr) -> Option<SendRequest<ProxyBody>> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(&addr)?;
        while let Some(conn) = list.pop() {
            if conn.since.elapsed() < self.idle_timeout && !conn.sender.is_closed() {
                return Some(conn.sender);
            }
        }
        None
    }

    /// Puts a connection whose exchange completed back for reuse.
    pub fn checkin(&self, conn: PooledConn) {
        if conn.sender.is_closed() || conn.private {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.entry(conn.addr).or_default();
        if list.len() < self.max_idle_per_server {
            list.push(IdleConn {
                sender: conn.sender,
                since: Instant::now(),
            });
        }
    }
}

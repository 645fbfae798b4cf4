//! Listening sockets that outlive a configuration. Each bound address has
//! one accept loop; what it hands connections to (an HTTP frontend, an
//! HTTP frontend with a layer-4 step, a TCP frontend) is the current
//! generation's [`Service`], swapped in one step on reload, so no
//! connection is ever refused while the configuration changes. Connections
//! keep the generation they were accepted by until they end.
//!
//! Global `maxconn` is enforced here: at the limit, a loop stops accepting
//! (the kernel's backlog holds new clients) until a connection ends.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::either::Either;

use crate::front::http_l4::HttpL4;
use crate::front::listener::{BoxedTask, HttpBind};
use crate::front::retirement::Retirement;
use crate::proxy::HttpProxy;
use crate::tcp::TcpFrontend;

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
    let local = fixed_local_address(&listener);
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
        tokio::spawn(serve(stream, peer, local, listener_fd, current, permit));
    }
}

/// [`accept_loop`] for a unix socket: only plain HTTP is served there
/// (TLS, layer-4 steps and TCP mode on unix sockets are refused at
/// startup, `process/support.rs`).
pub async fn unix_accept_loop(
    listener: tokio::net::UnixListener,
    slot: Slot,
    maxconn: Arc<Semaphore>,
) {
    loop {
        let Ok(permit) = maxconn.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let current = slot.load_full();
        let member = current.retirement.enter();
        if let Service::Http(proxy, bind) = &current.service {
            tokio::spawn(crate::front::listener::serve_unix(
                stream,
                proxy.clone(),
                bind.h2_only,
                member,
                permit,
            ));
        }
    }
}

/// The local address of every connection `listener` accepts, when that is
/// its own: bound to one IPv4 address and not `IP_TRANSPARENT`. A
/// connection's local address is then known without a `getsockname` per
/// connection (a wildcard or IPv6 bind asks each connection).
fn fixed_local_address(listener: &TcpListener) -> Option<SocketAddr> {
    let bound = listener.local_addr().ok()?;
    if !bound.is_ipv4() || bound.ip().is_unspecified() {
        return None;
    }
    let transparent =
        nix::sys::socket::getsockopt(listener, nix::sys::socket::sockopt::IpTransparent);
    (transparent == Ok(false)).then_some(bound)
}

/// A connection's task.
///
/// Not an async function, and neither are the functions it hands the
/// connection to until its state is built: an idle connection's task is
/// the future returned here, and an async function keeps room for its
/// arguments beside every future it awaits (the task's future was 992
/// bytes when each layer was async, for a 304-byte wait). The paths other
/// than plain HTTP (layer-4 rules, TCP sessions, TLS handshakes) are boxed,
/// so an idle HTTP connection carries no room for them either. `permit`,
/// the connection's place under global `maxconn`, goes with its socket.
fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    listener_fd: i32,
    current: Arc<Current>,
    permit: OwnedSemaphorePermit,
) -> Either<impl Future<Output = ()> + Send + 'static, BoxedTask> {
    let member = current.retirement.enter();
    match &current.service {
        Service::Http(proxy, bind) => {
            crate::net::keepalive::prepare_client(&stream, proxy.client_keepalive.as_ref());
            let Some(local) = local.or_else(|| stream.local_addr().ok()) else {
                return Either::Right(Box::pin(async {}));
            };
            let accepted = crate::front::listener::Accepted {
                peer,
                local,
                listener_fd,
            };
            crate::front::listener::serve_accepted(
                stream,
                accepted,
                proxy.clone(),
                bind.clone(),
                member,
                permit,
            )
        }
        Service::HttpL4(proxy, l4, bind) => {
            crate::net::keepalive::prepare_client(&stream, proxy.client_keepalive.as_ref());
            let (proxy, l4, bind) = (proxy.clone(), l4.clone(), bind.clone());
            Either::Right(Box::pin(async move {
                let timeouts = proxy.client_timeouts();
                if let Some((stream, src, dst)) = l4.admit(stream, peer, &timeouts).await {
                    let accepted = crate::front::listener::Accepted {
                        peer: src,
                        local: dst,
                        listener_fd,
                    };
                    crate::front::listener::serve_accepted(
                        stream, accepted, proxy, bind, member, permit,
                    )
                    .await
                }
            }))
        }
        // A TCP session is a byte stream: it ends when its peers end it.
        Service::Tcp {
            frontend,
            accept_proxy,
        } => {
            let (frontend, accept_proxy) = (frontend.clone(), *accept_proxy);
            Either::Right(Box::pin(async move {
                let held = (member, permit);
                let open = || held.0.retirement().open_connections();
                frontend.session(stream, peer, accept_proxy, &open).await
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_listener_on_one_address_gives_its_connections_that_address() {
        let one = TcpListener::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(fixed_local_address(&one), Some(one.local_addr().unwrap()));
        let (client, accepted) =
            tokio::join!(TcpStream::connect(one.local_addr().unwrap()), one.accept());
        let (accepted, _) = accepted.unwrap();
        drop(client);
        assert_eq!(fixed_local_address(&one), accepted.local_addr().ok());
        // A wildcard's connections each have their own: asked per connection.
        let any = TcpListener::bind("0.0.0.0:0").await.unwrap();
        assert_eq!(fixed_local_address(&any), None);
    }
}

//! Listening sockets the process did not open itself: `bind fd@N` and
//! `stats socket fd@N` (a socket the parent left open at that number, as
//! in HAProxy), systemd's socket activation (`LISTEN_FDS`, and Switchyard's
//! `bind systemd@NAME` for `FileDescriptorName=NAME`), and the sockets an
//! old process hands over on `-x` (`handover.rs`, HAProxy's `_getsocks`).
//!
//! They are collected once at startup, before the gateway opens anything
//! of its own (which is what makes taking descriptors by number sound, see
//! `fd.rs`), and kept for the life of the process in one registry: a reload
//! that names `fd@N` again finds the same socket. A `bind` whose address is
//! that of an inherited socket uses it instead of binding anew (the address
//! is taken, so binding would fail), which is how `-x` keeps the kernel's
//! queue of a port open across a restart.

pub mod fd;
pub mod handover;
pub mod systemd;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::{OwnedFd, RawFd};
use std::sync::{Mutex, OnceLock};

use switchyard_grammar::ast::address::{Address, Host};
use switchyard_grammar::{Config, Diagnostic};

use fd::{adopt, Adopted, Bound, FdError};
use systemd::Activation;

/// Every socket the process was given.
#[derive(Default)]
pub struct Inherited {
    /// By descriptor number: `fd@N` and systemd's (from 3). A number that
    /// could not be adopted keeps its error for the message of a `bind`
    /// that names it.
    by_fd: HashMap<RawFd, Result<Adopted, FdError>>,
    activation: Activation,
    /// From the old process (`-x`), by address; the first generation takes
    /// what it binds and the rest is closed ([`Inherited::close_unused_handover`]).
    handed_over: Mutex<HashMap<SocketAddr, OwnedFd>>,
}

static INHERITED: OnceLock<Inherited> = OnceLock::new();

/// Makes `inherited` the process's registry (once, at startup).
pub fn install(inherited: Inherited) {
    if INHERITED.set(inherited).is_err() {
        tracing::warn!("inherited sockets were collected twice; keeping the first");
    }
}

fn registry() -> Option<&'static Inherited> {
    INHERITED.get()
}

impl Inherited {
    /// Adopts systemd's sockets and every `fd@N` that `config` names, and
    /// checks each `fd@N` and `systemd@NAME` of the configuration; an
    /// error for each place that names a socket that cannot be used.
    pub fn collect(config: &Config, activation: Activation) -> (Inherited, Vec<Diagnostic>) {
        let mut by_fd = HashMap::new();
        for (number, _) in &activation.sockets {
            // SAFETY: startup, before the gateway opens descriptors it
            // keeps; systemd's numbers are distinct (`Activation`).
            #[allow(unsafe_code)]
            by_fd.insert(*number, unsafe { adopt(*number) });
        }
        let mut inherited = Inherited {
            by_fd,
            activation,
            handed_over: Mutex::default(),
        };
        let mut errors = Vec::new();
        for (address, place) in named_sockets(config) {
            if let Err(why) = inherited.check(address, place) {
                errors.push(
                    Diagnostic::error(address.word.span, format!("{place} {}: {why}", address.word.text))
                        .with_help(match address.host {
                            Host::Systemd(_) => "name a socket of the service's socket unit (FileDescriptorName=), or start the gateway from that unit",
                            _ => "fd@N uses a listening socket the parent process left open as descriptor N; start the gateway with that socket, or bind an address",
                        }),
                );
            }
        }
        (inherited, errors)
    }

    /// Adopts `fd@N` if not yet done, and says why it cannot serve `place`.
    fn check(&mut self, address: &Address, place: Place) -> Result<(), String> {
        let numbers: Vec<RawFd> = match &address.host {
            Host::Fd(n) => {
                let n = RawFd::try_from(*n).map_err(|_| format!("{n} is not a descriptor"))?;
                // SAFETY: still startup (`collect`), and `by_fd` adopts
                // each number once.
                #[allow(unsafe_code)]
                self.by_fd.entry(n).or_insert_with(|| unsafe { adopt(n) });
                vec![n]
            }
            Host::Systemd(name) => {
                let numbers: Vec<RawFd> = self.activation.named(name).collect();
                if numbers.is_empty() {
                    return Err(match self.activation.sockets.is_empty() {
                        true => "systemd passed no socket to this process (LISTEN_FDS and LISTEN_PID are not set for it)".into(),
                        false => format!(
                            "systemd passed no socket named '{name}' (LISTEN_FDNAMES={})",
                            self.activation.names()
                        ),
                    });
                }
                numbers
            }
            _ => return Ok(()),
        };
        for n in numbers {
            match &self.by_fd[&n] {
                Err(e) => return Err(e.to_string()),
                Ok(Adopted {
                    bound: Bound::Unix(_),
                    ..
                }) if place == Place::Bind => {
                    return Err(format!(
                        "file descriptor {n} is a unix socket; 'bind' serves TCP sockets only"
                    ))
                }
                Ok(_) => {}
            }
        }
        Ok(())
    }

    /// Keeps the sockets the old process handed over, by address; the
    /// ones that are not TCP are closed.
    pub fn add_handover(&mut self, sockets: Vec<Adopted>) {
        let map = self
            .handed_over
            .get_mut()
            .unwrap_or_else(|e| e.into_inner());
        for socket in sockets {
            if let Bound::Tcp(addr) = socket.bound {
                map.entry(addr).or_insert(socket.fd);
            }
        }
    }

    fn adopted(&self, n: RawFd) -> Option<&Adopted> {
        self.by_fd.get(&n).and_then(|r| r.as_ref().ok())
    }
}

/// Where a configuration names a socket: which keyword, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Bind,
    StatsSocket,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Place::Bind => "bind",
            Place::StatsSocket => "stats socket",
        })
    }
}

/// The `fd@N` and `systemd@NAME` addresses of enabled frontends' binds and
/// of the stats sockets.
fn named_sockets(config: &Config) -> Vec<(&Address, Place)> {
    let inherited = |a: &&Address| matches!(a.host, Host::Fd(_) | Host::Systemd(_));
    let binds = config
        .frontends()
        .filter(|p| !p.disabled)
        .flat_map(|p| &p.binds)
        .flat_map(|b| &b.addresses)
        .filter(inherited)
        .map(|a| (a, Place::Bind));
    let stats = config
        .global
        .stats_sockets
        .iter()
        .flat_map(|s| &s.addresses)
        .filter(inherited)
        .map(|a| (a, Place::StatsSocket));
    binds.chain(stats).collect()
}

/// The descriptors an `fd@N` or `systemd@NAME` address names, adopted at
/// startup; an error if one was not.
fn named(host: &Host) -> anyhow::Result<Vec<&'static Adopted>> {
    let registry = registry();
    let numbers: Vec<RawFd> = match host {
        Host::Fd(n) => vec![*n as RawFd],
        Host::Systemd(name) => {
            let numbers: Vec<RawFd> = registry
                .map(|r| r.activation.named(name).collect())
                .unwrap_or_default();
            if numbers.is_empty() {
                anyhow::bail!("systemd passed no socket named '{name}' at startup");
            }
            numbers
        }
        other => anyhow::bail!("{other:?} is not an inherited socket"),
    };
    numbers
        .into_iter()
        .map(|n| {
            registry.and_then(|r| r.adopted(n)).ok_or_else(|| {
                anyhow::anyhow!(
                    "fd@{n} is not a listening socket this process inherited at startup"
                )
            })
        })
        .collect()
}

/// The TCP addresses an `fd@N` or `systemd@NAME` bind stands for (the
/// addresses the inherited sockets are bound to).
pub fn bind_addresses(host: &Host) -> anyhow::Result<Vec<SocketAddr>> {
    named(host)?
        .into_iter()
        .map(|adopted| match &adopted.bound {
            Bound::Tcp(addr) => Ok(*addr),
            Bound::Unix(_) => Err(anyhow::anyhow!(
                "{host:?} is a unix socket; 'bind' serves TCP sockets only"
            )),
        })
        .collect()
}

/// A listener for `addr`: the inherited socket bound there if there is
/// one (the old process's, taken once; or a duplicate of an `fd@N` or
/// systemd socket, which stays in the registry for later reloads).
pub fn listener_for(addr: SocketAddr) -> Option<std::io::Result<std::net::TcpListener>> {
    let registry = registry()?;
    let handed_over = registry
        .handed_over
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&addr);
    if let Some(fd) = handed_over {
        return Some(fd::tcp_listener(fd));
    }
    let adopted = registry
        .by_fd
        .values()
        .filter_map(|r| r.as_ref().ok())
        .find(|a| a.bound == Bound::Tcp(addr))?;
    Some(adopted.fd.try_clone().and_then(fd::tcp_listener))
}

/// `stats socket fd@N` or `systemd@NAME`: duplicates of the inherited
/// sockets (the originals stay for a reload).
pub fn stats_sockets(host: &Host) -> anyhow::Result<Vec<(OwnedFd, Bound)>> {
    named(host)?
        .into_iter()
        .map(|a| Ok((a.fd.try_clone()?, a.bound.clone())))
        .collect()
}

/// Closes the handed-over sockets no `bind` took: the old process's
/// addresses the new configuration dropped must stop accepting once the
/// old process is gone, not linger with a queue nobody reads.
pub fn close_unused_handover() {
    let Some(registry) = registry() else {
        return;
    };
    let unused: Vec<SocketAddr> = {
        let mut map = registry
            .handed_over
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.drain().map(|(addr, _)| addr).collect()
    };
    for addr in unused {
        tracing::info!("closing {addr}, handed over by the old process but not bound any more");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, IntoRawFd};

    fn config(text: &str) -> Config {
        let loaded = switchyard_grammar::load(
            &[("t.cfg".into(), text.into())],
            switchyard_grammar::Environment::new(),
            &switchyard_grammar::NoFiles,
        );
        assert!(!loaded.diagnostics.has_errors(), "{:?}", loaded.diagnostics);
        loaded.config
    }

    #[test]
    fn each_unusable_socket_is_an_error_at_its_place() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let good = listener.into_raw_fd();
        let unlistened =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let text = format!(
            "frontend fe\n    bind fd@{good}\n    bind fd@{}\n    bind fd@{}\n    bind systemd@web\n",
            unlistened.as_raw_fd(),
            RawFd::MAX
        );
        let (inherited, errors) = Inherited::collect(&config(&text), Activation::default());
        let messages: Vec<String> = errors.iter().map(|d| d.message.clone()).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].contains("not a listening one"), "{messages:?}");
        assert!(messages[1].contains("is not open"), "{messages:?}");
        assert!(
            messages[2].contains("systemd passed no socket"),
            "{messages:?}"
        );
        assert_eq!(errors[0].span.map(|s| s.line), Some(3));
        assert_eq!(
            inherited.adopted(good).map(|a| a.bound.clone()),
            Some(Bound::Tcp(addr))
        );
    }
}

//! Where a server written with a host name gets its address at startup:
//! `init-addr`'s methods tried in order, as HAProxy 2.6's
//! `srv_iterate_initaddr` tries them, with its warnings and errors.
//!
//! `last` takes the address a server-state file kept. Switchyard does not
//! load one (`server-state-file` is refused), so `last` never finds an
//! address and the next method is tried; written alone, it fails as
//! HAProxy fails without a state file ("no method found"). `none` starts
//! the server without an address, in maintenance ("MAINT (resolution)");
//! with no `resolvers` section nor `set server … addr`, it stays there
//! until the configuration is reloaded.

use std::net::{SocketAddr, ToSocketAddrs};

use switchyard_grammar::ast::server::InitAddr;

/// HAProxy's default: the state file's address, else the system's resolver.
const DEFAULT: &[InitAddr] = &[InitAddr::Last, InitAddr::Libc];

/// The outcome of a resolution that did not fail.
#[derive(Debug, PartialEq, Eq)]
pub struct Resolved {
    /// `None`: `none` was reached; the server starts in maintenance.
    pub addr: Option<SocketAddr>,
    /// HAProxy's warning when the resolver failed before a later method
    /// answered (`… falling back to configured address`, `… disabling server`).
    pub warning: Option<String>,
}

/// `init-addr` found no address: HAProxy's alert, which stops the start.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct Unresolved(pub String);

/// Tries `methods` (HAProxy's default when `None`) for `host`:`port`;
/// `resolve` is the system resolver (a parameter so that tests need no DNS).
pub fn resolve(
    host: &str,
    port: u16,
    methods: Option<&[InitAddr]>,
    resolve: impl Fn(&str, u16) -> Result<SocketAddr, String>,
) -> Result<Resolved, Unresolved> {
    let mut resolver_failed = false;
    for method in methods.unwrap_or(DEFAULT) {
        match method {
            // No server-state file is ever loaded: nothing to take.
            InitAddr::Last => {}
            InitAddr::Libc => match resolve(host, port) {
                Ok(addr) => {
                    return Ok(Resolved {
                        addr: Some(addr),
                        warning: None,
                    })
                }
                Err(_) => resolver_failed = true,
            },
            InitAddr::None => {
                return Ok(Resolved {
                    addr: None,
                    warning: resolver_failed
                        .then(|| format!("could not resolve address '{host}', disabling server")),
                })
            }
            InitAddr::Ip(ip) => {
                return Ok(Resolved {
                    addr: Some(SocketAddr::new(*ip, port)),
                    warning: resolver_failed.then(|| {
                        format!(
                            "could not resolve address '{host}', falling back to configured address"
                        )
                    }),
                })
            }
        }
    }
    Err(Unresolved(if resolver_failed {
        format!("could not resolve address '{host}'")
    } else {
        format!("no method found to resolve address '{host}'")
    }))
}

/// The system's resolver: the first address `getaddrinfo` gives.
pub fn libc(host: &str, port: u16) -> Result<SocketAddr, String> {
    (host, port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())
        .and_then(|mut a| a.next().ok_or_else(|| "no address".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(_: &str, _: u16) -> Result<SocketAddr, String> {
        Err("unknown host".into())
    }

    fn answers(_: &str, port: u16) -> Result<SocketAddr, String> {
        Ok(SocketAddr::from(([192, 0, 2, 7], port)))
    }

    const NONE_AFTER: &[InitAddr] = &[InitAddr::Last, InitAddr::Libc, InitAddr::None];

    #[test]
    fn the_default_resolves_or_fails_the_start() {
        let ok = resolve("db", 5432, None, answers).unwrap();
        assert_eq!(ok.addr, Some("192.0.2.7:5432".parse().unwrap()));
        assert_eq!(ok.warning, None);
        assert_eq!(
            resolve("db", 5432, None, fails),
            Err(Unresolved("could not resolve address 'db'".into()))
        );
    }

    #[test]
    fn none_starts_without_an_address_and_warns_only_after_a_failed_lookup() {
        let r = resolve("db", 1, Some(NONE_AFTER), fails).unwrap();
        assert_eq!(r.addr, None);
        assert_eq!(
            r.warning.as_deref(),
            Some("could not resolve address 'db', disabling server")
        );
        let quiet = resolve("db", 1, Some(&[InitAddr::None]), answers).unwrap();
        assert_eq!((quiet.addr, quiet.warning), (None, None));
        let found = resolve("db", 1, Some(NONE_AFTER), answers).unwrap();
        assert!(found.addr.is_some());
    }

    #[test]
    fn an_address_is_the_fallback_it_names() {
        let ip = InitAddr::Ip("10.1.2.3".parse().unwrap());
        let r = resolve("db", 80, Some(&[InitAddr::Libc, ip]), fails).unwrap();
        assert_eq!(r.addr, Some("10.1.2.3:80".parse().unwrap()));
        assert_eq!(
            r.warning.as_deref(),
            Some("could not resolve address 'db', falling back to configured address")
        );
        let first = resolve("db", 80, Some(&[ip, InitAddr::Libc]), answers).unwrap();
        assert_eq!(first.addr, Some("10.1.2.3:80".parse().unwrap()));
    }

    #[test]
    fn last_alone_finds_nothing_without_a_state_file() {
        assert_eq!(
            resolve("db", 1, Some(&[InitAddr::Last]), answers),
            Err(Unresolved("no method found to resolve address 'db'".into()))
        );
    }
}

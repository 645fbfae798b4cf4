//! The socket addresses a `bind` line's address stands for: each port of
//! a range, or what an inherited socket (`fd@N`, `systemd@NAME`) is bound
//! to.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::anyhow;
use switchyard_grammar::ast::address::{Address, Host, Port};

/// The socket addresses one `bind` address stands for: each port of a
/// range, or the addresses of the inherited sockets `fd@N` and
/// `systemd@NAME` name.
pub fn socket_addrs(address: &Address) -> anyhow::Result<Vec<SocketAddr>> {
    // A unix socket is none: `unix_binds` lists those.
    if crate::net::unix_socket::UnixTarget::of(address).is_some() {
        return Ok(Vec::new());
    }
    let ip = match &address.host {
        Host::Any => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Host::Ip(ip) => *ip,
        inherited @ (Host::Fd(_) | Host::Systemd(_)) => {
            return crate::net::inherit::bind_addresses(inherited)
        }
        other => return Err(anyhow!("bind address {other:?} is not an IP address")),
    };
    let Port::Range(first, last) = address.port else {
        return Err(anyhow!("bind address {} has no port", address.word.text));
    };
    Ok((first..=last)
        .map(|port| SocketAddr::new(ip, port))
        .collect())
}

//! `set server B/S addr A [port P]` and `set server B/S fqdn F`, with
//! HAProxy 2.6's messages (`srv_update_addr_port`, `cli_parse_set_server`).
//! The new address takes effect at once for new connections and checks;
//! kept-alive connections to the old one are no longer reused (the pool
//! keys them by address).

use std::net::{IpAddr, SocketAddr};

use crate::upstream::server::Server;

/// Who made the change, as HAProxy ends its message.
const BY: &str = " by 'stats socket command'";

/// `addr A [port P]`: what changed, in HAProxy's words.
pub fn set_addr(server: &Server, args: &[String]) -> Result<String, String> {
    let Some(text) = args.first().filter(|a| !a.is_empty()) else {
        return Err("set server <b>/<s> addr requires an address and optionally a port.".into());
    };
    // A server without an IP address (`init-addr none`, a unix socket)
    // has no family to update, as HAProxy says.
    if server.resolution_maint || server.unix.is_some() {
        return Ok(format!(
            "Update for the current server address family is only supported through configuration file{BY}"
        ));
    }
    let Ok(ip) = text.parse::<IpAddr>() else {
        return Ok(format!("Invalid addr '{text}'{BY}"));
    };
    let current = server.addr();
    let mut message = if ip == current.ip() {
        "no need to change the addr".to_owned()
    } else {
        format!("IP changed from '{}' to '{ip}'", current.ip())
    };
    let mut new = SocketAddr::new(ip, current.port());
    if args.get(1).map(String::as_str) == Some("port") {
        let port = args.get(2).map_or("", String::as_str);
        message.push_str(&port_change(&mut new, current.port(), port));
    }
    server.set_addr(new);
    message.push_str(BY);
    Ok(message)
}

/// `port P`: sets the port of `new` and says how, as HAProxy does (a port
/// above 65535 wraps, as HAProxy keeps it in 16 bits).
fn port_change(new: &mut SocketAddr, current: u16, text: &str) -> String {
    if text.starts_with(['+', '-']) {
        return ", can't change <port> to port map because it is incompatible with current health check port configuration (use 'port' statement from the 'server' directive.".to_owned();
    }
    let Some(port) = text
        .parse::<u64>()
        .ok()
        .filter(|_| text.bytes().all(|b| b.is_ascii_digit()))
    else {
        return format!(", problem converting port '{text}' to an int");
    };
    let port = (port & 0xffff) as u16;
    if port == current {
        return ", no need to change the port".to_owned();
    }
    new.set_port(port);
    format!(", port changed from '{current}' to '{port}'")
}

/// `fqdn F`: Switchyard builds no `resolvers`, so no server has a
/// resolution configured, which is HAProxy's answer for such a server.
pub fn set_fqdn(args: &[String]) -> Result<String, String> {
    if args.first().is_none_or(|f| f.is_empty()) {
        return Err("set server <b>/<s> fqdn requires a FQDN.".into());
    }
    Err("set server <b>/<s> fqdn failed because no resolution is configured.".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_change_as_haproxy_changes_them() {
        let mut new: SocketAddr = "127.0.0.9:80".parse().unwrap();
        assert_eq!(
            port_change(&mut new, 80, "80"),
            ", no need to change the port"
        );
        assert_eq!(
            port_change(&mut new, 80, "70000"),
            ", port changed from '80' to '4464'"
        );
        assert_eq!(new.port(), 4464);
        assert_eq!(
            port_change(&mut new, 4464, "y"),
            ", problem converting port 'y' to an int"
        );
        assert!(port_change(&mut new, 4464, "+5").contains("port map"));
        assert_eq!(new.port(), 4464);
    }
}

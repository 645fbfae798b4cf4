//! `http-check send-state`: the `X-Haproxy-Server-State` header HAProxy
//! adds to each HTTP check, telling the server how the gateway sees it
//! (HAProxy's `httpchk_build_status_header`; the text was compared with
//! haproxy 2.6.12's on loopback).

use super::health::Health;
use super::server::Server;
use super::Backend;

/// The header's name, as HAProxy writes it on the wire.
pub const NAME: &str = "x-haproxy-server-state";

/// The header's value for `server`'s next check, e.g. `UP 1/3;
/// address=127.0.0.1; port=8080; name=be/s1; node=lb1; weight=7/7;
/// scur=0/0; qcur=0`.
pub fn value(backend: &Backend, server: &Server, health: &Health, node: &str) -> String {
    let (value, rise, fall) = (health.value(), health.rise(), health.fall());
    let full = rise + fall - 1;
    let state = if server.is_up() {
        let word = if server.is_stopping() { "NOLB" } else { "UP" };
        if value == full {
            word.to_owned()
        } else {
            // Going down: the count of `fall` left, as HAProxy shows it.
            format!("{word} {}/{fall}", value.saturating_sub(rise) + 1)
        }
    } else if value > 0 {
        format!("DOWN {value}/{rise}")
    } else {
        "DOWN".to_owned()
    };
    let total_weight: u32 = backend
        .servers
        .iter()
        .filter(|s| s.backup == server.backup && s.usable())
        .map(|s| s.weight())
        .sum();
    let weight = if server.usable() { server.weight() } else { 0 };
    let backend_sessions: u32 = backend.servers.iter().map(|s| s.in_flight()).sum();
    format!(
        "{state}; address={}; port={}; name={}/{}; node={node}; weight={weight}/{total_weight}; scur={}/{backend_sessions}; qcur=0",
        server.addr().ip(),
        server.addr().port(),
        backend.name,
        server.name,
        server.in_flight(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use switchyard_grammar::NoFiles;

    fn backend(text: &str) -> Backend {
        let loaded = switchyard_grammar::load(
            &[("t.cfg".into(), text.into())],
            switchyard_grammar::Environment::new(),
            &NoFiles,
        );
        Backend::build(&loaded.config.proxies[0]).unwrap()
    }

    /// The three headers haproxy 2.6.12 sent for `rise 2 fall 3 weight 7`
    /// beside a `disabled` server: at start ("UP 1/3": UP, falls at the
    /// first failure), then once a check has passed ("UP").
    #[test]
    fn the_header_says_what_haproxy_says() {
        let backend = backend(
            "backend be\n    server s1 127.0.0.1:25610 weight 7\n    server s2 127.0.0.1:25610 disabled\n",
        );
        let s1 = &backend.servers[0];
        let mut health = Health::starting(2, 3);
        assert_eq!(
            value(&backend, s1, &health, "vm"),
            "UP 1/3; address=127.0.0.1; port=25610; name=be/s1; node=vm; weight=7/7; scur=0/0; qcur=0"
        );
        health.passed();
        assert_eq!(
            value(&backend, s1, &health, "vm"),
            "UP; address=127.0.0.1; port=25610; name=be/s1; node=vm; weight=7/7; scur=0/0; qcur=0"
        );
        health.failed();
        health.failed();
        health.failed();
        s1.set_up(false);
        assert!(value(&backend, s1, &health, "vm").starts_with("DOWN; "));
        health.passed();
        assert!(value(&backend, s1, &health, "vm").starts_with("DOWN 1/2; "));
    }
}

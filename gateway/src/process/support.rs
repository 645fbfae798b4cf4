//! What this build of the gateway can run. The grammar accepts everything
//! HAProxy's language has that Switchyard plans to support; anything a
//! configuration uses that the running gateway does not do yet is listed
//! here, so that `-c` warns about it and starting refuses it — it is never
//! silently ignored.

use switchyard_grammar::ast::address::{AddressFamily, Host};
use switchyard_grammar::ast::log_format::LogFormatPart;
use switchyard_grammar::ast::proxy::{Mode, Switch};
use switchyard_grammar::{Config, Diagnostic, Span};

use crate::log::record::KNOWN_VARIABLES;

/// Features used by `config` that the gateway cannot serve yet, as errors.
pub fn not_yet_served(config: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut refuse = |span: Span, what: &str, issue: &str| {
        out.push(
            Diagnostic::error(span, format!("{what} is not built into the gateway yet"))
                .with_help(format!("it comes with the {issue} work; until then remove it to run this configuration, or check it with -c")),
        );
    };
    let g = &config.global;
    if let Some(span) = g.master_worker {
        refuse(
            span,
            "'master-worker' (restart with -x and -sf instead: docs/operations.md, seamless restarts)",
            "master-worker mode",
        );
    }
    for socket in &g.stats_sockets {
        let o = &socket.options;
        if o.ssl {
            refuse(socket.keyword.span, "TLS on 'stats socket'", "TLS");
        }
    }
    for proxy in &config.proxies {
        if proxy.disabled {
            continue;
        }
        if proxy.mode() == Mode::Http {
            if let Some(rule) = proxy.tcp_request_content.first() {
                refuse(
                    rule.span,
                    "'tcp-request content' rules in an HTTP proxy",
                    "TCP mode",
                );
            }
        }
        for bind in &proxy.binds {
            let o = &bind.options;
            for address in &bind.addresses {
                if matches!(address.family, AddressFamily::Unix | AddressFamily::Abns) {
                    // Plain HTTP on a unix socket is served (`net/unix_socket.rs`).
                    let what = if proxy.mode() != Mode::Http {
                        Some("a 'bind' on a unix socket in TCP mode")
                    } else if o.ssl {
                        Some("TLS ('ssl') on a unix socket 'bind'")
                    } else if o.accept_proxy || !proxy.tcp_request_connection.is_empty() {
                        Some("'accept-proxy' or 'tcp-request connection' rules on a unix socket 'bind'")
                    } else {
                        None
                    };
                    if let Some(what) = what {
                        refuse(address.word.span, what, "unix sockets");
                    }
                    continue;
                }
                // `fd@N` and `systemd@NAME` are inherited TCP listeners
                // (net/inherit/); what they are is checked at startup.
                if !matches!(
                    address.family,
                    AddressFamily::Inet
                        | AddressFamily::Ipv4
                        | AddressFamily::Ipv6
                        | AddressFamily::Fd
                        | AddressFamily::Systemd
                ) || matches!(address.host, Host::Name(_))
                {
                    refuse(
                        address.word.span,
                        "a 'bind' on a socket pair or host name",
                        "unix sockets",
                    );
                }
            }
        }
        for server in &proxy.servers {
            let o = proxy.server_options(server);
            // A server on a unix socket serves HTTP requests and TCP
            // sessions (`net/unix_socket.rs`); TLS and health checks reach
            // servers over TCP only, and would fail every connection.
            if matches!(
                server.address.family,
                AddressFamily::Unix | AddressFamily::Abns
            ) {
                let what = if o.ssl == Some(true) {
                    Some("TLS ('ssl') to a server on a unix socket")
                } else if o.check == Some(true) {
                    Some("health checks ('check') of a server on a unix socket")
                } else {
                    None
                };
                if let Some(what) = what {
                    refuse(server.address.word.span, what, "unix sockets");
                }
            }
            if o.ssl == Some(true) || o.check_ssl == Some(true) {
                refuse_server_tls(server.keyword.span, &o, &mut refuse);
            }
            // Sessions are cut in TCP mode (`tcp/mod.rs`); HTTP requests
            // and tunnels on a server are not yet.
            if proxy.mode() == Mode::Http
                && (o.shutdown_on_down == Some(true) || o.shutdown_backups_on_up == Some(true))
            {
                refuse(
                    server.keyword.span,
                    "'on-marked-down'/'on-marked-up' in an HTTP backend (TCP backends cut their sessions)",
                    "failover reactions",
                );
            }
            // The weight ramps (`upstream/server.rs`); HAProxy ramps
            // `maxconn` too, which is not built.
            if o.slowstart.is_some_and(|d| !d.is_zero()) && o.maxconn.is_some_and(|m| m > 0) {
                refuse(
                    server.keyword.span,
                    "'slowstart' with 'maxconn' (the weight ramps, the connection limit does not yet)",
                    "balancing",
                );
            }
        }
        if let Some(custom) = &proxy.log_format {
            for part in &custom.format.parts {
                match part {
                    LogFormatPart::Sample { expr, .. } => refuse(
                        expr.span,
                        "a sample expression in 'log-format'",
                        "operations (logging)",
                    ),
                    LogFormatPart::Variable { name, span, .. }
                        if !KNOWN_VARIABLES.contains(&name.as_str()) =>
                    {
                        refuse(
                            *span,
                            &format!("the log-format variable '%{name}'"),
                            "operations (logging)",
                        )
                    }
                    _ => {}
                }
            }
        }
        if let Some(setting) = proxy.enabled_option(Switch::PreferLastServer) {
            refuse(
                setting.span,
                "'option prefer-last-server'",
                "the HTTP gateway",
            );
        }
        // Built for HTTP backends (`proxy/abort.rs`); a TCP session is
        // not given up when its client closes while it waits.
        if let Some(setting) = proxy.enabled_option(Switch::AbortOnClose) {
            if proxy.mode() != Mode::Http && proxy.kind.is_backend() {
                refuse(
                    setting.span,
                    "'option abortonclose' in a TCP backend",
                    "TCP mode",
                );
            }
        }
    }
    out
}

/// What `server … ssl` may use that the gateway does not do yet: ALPN other
/// than HTTP/1.x (h2 to servers comes with `proto h2`), `sni` expressions
/// other than `req.hdr(host)` and `str(NAME)`, `ca-file @system-ca`.
fn refuse_server_tls(
    span: Span,
    o: &switchyard_grammar::ast::server::ServerOptions,
    refuse: &mut dyn FnMut(Span, &str, &str),
) {
    if let Some(alpn) = &o.alpn {
        let h2 = o.proto.as_deref() == Some("h2");
        // The protocol spoken is `proto`'s: ALPN may only offer it.
        if let Some(p) = alpn.iter().find(|p| {
            if h2 {
                p.as_str() != "h2"
            } else {
                !matches!(p.as_str(), "http/1.1" | "http/1.0")
            }
        }) {
            refuse(
                span,
                &format!(
                    "'alpn {p}' toward servers (the server line speaks {} only)",
                    if h2 { "h2 ('proto h2')" } else { "http/1.1" }
                ),
                "HTTP/2 ('proto h2')",
            );
        }
    }
    if let Some(sni) = &o.sni {
        if crate::net::tls::upstream::SniSource::parse(&sni.text).is_err() {
            refuse(
                sni.span,
                &format!(
                    "the sni expression '{}' (switchyard evaluates 'req.hdr(host)' and 'str(NAME)')",
                    sni.text
                ),
                "TLS",
            );
        }
    }
    if let Some(ca_file) = o.ca_file.as_ref().filter(|c| c.text.starts_with('@')) {
        refuse(
            ca_file.span,
            &format!("'ca-file {}' (a system store)", ca_file.text),
            "TLS",
        );
    }
}

#[cfg(test)]
mod tests {
    use switchyard_grammar::Environment;

    #[test]
    fn failover_options_are_refused_where_they_are_not_built() {
        let refused = |backend_lines: &str| -> Vec<String> {
            let text = format!(
                "defaults\n    mode http\nfrontend fe\n    bind :80\n    default_backend be\nbackend be\n{backend_lines}"
            );
            let loaded = switchyard_grammar::load(
                &[("t.cfg".into(), text)],
                Environment::new(),
                &crate::process::config_files::FsAccess,
            );
            super::not_yet_served(&loaded.config)
                .iter()
                .map(|d| d.message.clone())
                .collect()
        };
        let http = refused("    server s 127.0.0.1:1 on-marked-down shutdown-sessions\n");
        assert_eq!(http.len(), 1, "{http:?}");
        assert!(http[0].contains("'on-marked-down'"), "{http:?}");
        let tcp = refused("    mode tcp\n    server s 127.0.0.1:1 on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions\n");
        assert!(tcp.is_empty(), "{tcp:?}");
        let ramp = refused("    server s 127.0.0.1:1 slowstart 10s maxconn 10\n");
        assert_eq!(ramp.len(), 1, "{ramp:?}");
        assert!(ramp[0].contains("'slowstart' with 'maxconn'"), "{ramp:?}");
        assert!(refused("    server s 127.0.0.1:1 slowstart 10s\n").is_empty());
    }
}

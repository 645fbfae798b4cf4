//! `server NAME ADDRESS [options]` and `default-server [options]`.

use std::time::Duration;

use crate::ast::address::{Address, AddressUse};
use crate::ast::tls::{Side, TlsPolicy};
use crate::ast::value::{parse_time, parse_uint};
use crate::diagnostic::Diagnostic;
use crate::word::Word;

/// Server options; `None`/`false` means "not written here", so that a
/// `server` line can be laid over its proxy's `default-server`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// `check` / `no-check`: health checks of this server.
    pub check: Option<bool>,
    /// `inter`: the time between checks.
    pub inter: Option<Duration>,
    /// `fastinter`: the time between checks while the server is changing state.
    pub fastinter: Option<Duration>,
    /// `downinter`: the time between checks while the server is down.
    pub downinter: Option<Duration>,
    /// `fall`: failed checks in a row that mark the server down (default 3).
    pub fall: Option<u64>,
    /// `rise`: passed checks in a row that mark it up (default 2).
    pub rise: Option<u64>,
    /// `port`: the port checks connect to, instead of the server's.
    pub check_port: Option<u16>,
    /// `addr`: the address checks connect to, instead of the server's.
    pub check_addr: Option<Word>,
    /// `check-ssl`: checks speak TLS.
    pub check_ssl: Option<bool>,
    /// `check-sni NAME`: the server name sent in the TLS handshake of the
    /// checks' default connection (the traffic's `sni` is not used there).
    pub check_sni: Option<String>,
    /// `check-alpn LIST`: the protocols the checks' default TLS connection
    /// offers, instead of the server's `alpn`.
    pub check_alpn: Option<Vec<String>>,
    /// `weight`: the server's share in balancing (default 1).
    pub weight: Option<u64>,
    /// `backup`: used only when no active server is usable.
    pub backup: Option<bool>,
    /// `disabled`: starts in maintenance.
    pub disabled: Option<bool>,
    /// `maxconn`: requests the server takes at once; more wait in its queue.
    pub maxconn: Option<u64>,
    /// `maxqueue`: requests that may wait in the server's queue.
    pub maxqueue: Option<u64>,
    /// `cookie VALUE`: the value the persistence cookie names this server by.
    pub cookie: Option<String>,
    /// `ssl`: connections to the server speak TLS.
    pub ssl: Option<bool>,
    /// `verify none|required`.
    pub verify: Option<Word>,
    /// `ca-file`: the CAs that verify the server's certificate.
    pub ca_file: Option<Word>,
    /// `sni EXPR`: the server name sent in the TLS handshake.
    pub sni: Option<Word>,
    /// `alpn`: the protocols offered in the TLS handshake.
    pub alpn: Option<Vec<String>>,
    /// `send-proxy`: connections start with a PROXY v1 header.
    pub send_proxy: Option<bool>,
    /// `send-proxy-v2`: connections start with a PROXY v2 header.
    pub send_proxy_v2: Option<bool>,
    /// `proto h2`.
    pub proto: Option<String>,
    /// `id N`: the server's number (`sid` in stats); `None`: assigned.
    pub id: Option<u64>,
    /// `slowstart`: how long a server coming up takes to reach its full weight.
    pub slowstart: Option<Duration>,
    /// `agent-check` / `no-agent-check`: the auxiliary agent check.
    pub agent_check: Option<bool>,
    /// `agent-port`: where the agent listens (required by `agent-check`).
    pub agent_port: Option<u16>,
    /// `agent-addr`: the agent's address, else the server's (or `addr`).
    pub agent_addr: Option<Word>,
    /// `agent-inter`: how often the agent is asked (2 s by default).
    pub agent_inter: Option<Duration>,
    /// `agent-send`: the text written to the agent on connection.
    pub agent_send: Option<String>,
    /// `crt FILE`: the client certificate (chain and key) shown to the
    /// server.
    pub crt: Option<Word>,
    /// Versions, ciphers, curves, tickets; laid over `default-server`'s
    /// and `global`'s `ssl-default-server-*`.
    pub tls: TlsPolicy,
    /// `global`'s `tune.ssl.maxrecord`, copied with the defaults.
    pub tls_tuning: crate::ast::global::TlsTuning,
    /// `init-addr`: how a server written with a host name finds its
    /// address at startup, the methods in the order written (HAProxy's
    /// default, `last,libc`, when `None`).
    pub init_addr: Option<Vec<InitAddr>>,
    /// `track [BACKEND/]SERVER`: the server's state follows that server's
    /// (as written; `validate/track.rs` checks that it exists).
    pub track: Option<Word>,
    /// `observe layer4|layer7`: live traffic's errors count against the
    /// server's health (`none`: not observed).
    pub observe: Option<Observe>,
    /// `on-error`: what `error-limit` consecutive observed errors do.
    pub on_error: Option<OnError>,
    /// `error-limit N`: consecutive observed errors that trigger `on-error`
    /// (10 by default).
    pub error_limit: Option<u64>,
    /// `on-marked-down shutdown-sessions`: the server's sessions are cut
    /// when it goes DOWN.
    pub shutdown_on_down: Option<bool>,
    /// `on-marked-up shutdown-backup-sessions`: the backup servers'
    /// sessions are cut when this (active) server comes UP.
    pub shutdown_backups_on_up: Option<bool>,
}

/// One method of `init-addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitAddr {
    /// The address a server-state file kept from the last run.
    Last,
    /// The system's resolver (`getaddrinfo`).
    Libc,
    /// Start without an address, in maintenance ("MAINT (resolution)").
    None,
    /// This address.
    Ip(std::net::IpAddr),
}

/// `observe`: which live traffic errors count (HAProxy's `HANA_OBS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observe {
    /// `none`.
    None,
    /// Connection failures (and successes, which reset the count).
    Layer4,
    /// Connection failures and HTTP errors: 5xx statuses other than 501
    /// and 505, invalid or missing responses.
    Layer7,
}

/// `on-error` (HAProxy's `HANA_ONERR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// The next check comes after `fastinter` (every mode does this).
    Fastinter,
    /// Counts as a failed check.
    FailCheck,
    /// Leaves the server one failed check from DOWN, then a failed check.
    SuddenDeath,
    /// Marks the server DOWN.
    MarkDown,
}

/// HAProxy keeps the methods in 3 bits each of a 32-bit word: ten at most.
const MAX_INIT_ADDR_METHODS: usize = 10;

/// `init-addr METHOD[,METHOD…]`, with HAProxy 2.6's messages.
fn parse_init_addr(w: &Word) -> Result<Vec<InitAddr>, Diagnostic> {
    let mut methods = Vec::new();
    for item in w.text.split(',') {
        let method = match item {
            "last" => InitAddr::Last,
            "libc" => InitAddr::Libc,
            "none" => InitAddr::None,
            ip => InitAddr::Ip(ip.parse().map_err(|_| {
                Diagnostic::error(
                    w.span,
                    format!("unknown init-addr method '{ip}', supported methods are 'libc', 'last', 'none'"),
                )
                .with_help("or an IPv4 or IPv6 address, e.g. 'init-addr last,libc,none'")
            })?),
        };
        if methods.len() == MAX_INIT_ADDR_METHODS {
            return Err(Diagnostic::error(
                w.span,
                format!("too many init-addr methods when trying to add '{item}'"),
            )
            .with_help(format!("at most {MAX_INIT_ADDR_METHODS} methods")));
        }
        methods.push(method);
    }
    Ok(methods)
}

impl ServerOptions {
    /// The options of `self` with the gaps filled from `defaults`.
    pub fn over(&self, defaults: &ServerOptions) -> ServerOptions {
        macro_rules! pick {
            ($($f:ident),*) => { ServerOptions {
                $($f: self.$f.clone().or_else(|| defaults.$f.clone()),)*
                tls: self.tls.over(&defaults.tls),
                tls_tuning: defaults.tls_tuning,
            } };
        }
        pick!(
            check,
            inter,
            fastinter,
            downinter,
            fall,
            rise,
            check_port,
            check_addr,
            check_ssl,
            check_sni,
            check_alpn,
            weight,
            backup,
            disabled,
            maxconn,
            maxqueue,
            cookie,
            ssl,
            verify,
            ca_file,
            sni,
            alpn,
            send_proxy,
            send_proxy_v2,
            proto,
            id,
            slowstart,
            agent_check,
            agent_port,
            agent_addr,
            agent_inter,
            agent_send,
            crt,
            init_addr,
            track,
            observe,
            on_error,
            error_limit,
            shutdown_on_down,
            shutdown_backups_on_up
        )
    }
}

/// A `server` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The server's name, unique in its backend.
    pub name: Word,
    /// Where the server listens.
    pub address: Address,
    /// Only what the `server` line itself says; see [`ServerOptions::over`].
    pub options: ServerOptions,
    /// The `server` keyword itself, for messages.
    pub keyword: Word,
}

const UNSUPPORTED: &[&str] = &[
    "resolvers",
    "resolve-prefer",
    "resolve-net",
    "resolve-opts",
    "redir",
    "namespace",
    "source",
    "usesrc",
    "tfo",
    "pool-max-conn",
    "pool-purge-delay",
    "pool-low-conn",
    "max-reuse",
    "crl-file",
    "no-check-ssl",
    "check-send-proxy",
    "check-proto",
    "check-via-socks4",
    "socks4",
    "ws",
    "log-proto",
    "tcp-ut",
    "minconn",
    "non-stick",
    "stick",
    "no-send-proxy",
    "no-ssl",
    "set-proxy-v2-tlv-fmt",
    "proxy-v2-options",
    "shard",
    "sigalgs",
    "client-sigalgs",
];

const SUPPORTED: &[&str] = &[
    "check",
    "no-check",
    "inter",
    "fastinter",
    "downinter",
    "fall",
    "rise",
    "port",
    "addr",
    "check-ssl",
    "check-sni",
    "check-alpn",
    "weight",
    "backup",
    "no-backup",
    "disabled",
    "enabled",
    "maxconn",
    "maxqueue",
    "cookie",
    "ssl",
    "verify",
    "ca-file",
    "sni",
    "alpn",
    "send-proxy",
    "send-proxy-v2",
    "proto",
    "id",
    "slowstart",
    "agent-check",
    "no-agent-check",
    "agent-port",
    "agent-inter",
    "agent-addr",
    "agent-send",
    "crt",
    "init-addr",
    "track",
    "observe",
    "on-error",
    "error-limit",
    "on-marked-down",
    "on-marked-up",
];

impl Server {
    /// Parses the words after `server` (`keyword`).
    pub fn parse(keyword: &Word, args: &[Word]) -> Result<Server, Diagnostic> {
        let (name, address, options) = match args {
            [name, address, options @ ..] => (name, address, options),
            _ => {
                return Err(Diagnostic::error(
                    keyword.span,
                    "'server' expects a name and an address (missing argument)",
                )
                .with_help("e.g. 'server web1 127.0.0.1:8080 check'"))
            }
        };
        let address = Address::parse(address, &address.text, AddressUse::Server)?;
        Ok(Server {
            name: name.clone(),
            address,
            options: parse_options(options)?,
            keyword: keyword.clone(),
        })
    }
}

/// Parses `server`/`default-server` options.
pub fn parse_options(words: &[Word]) -> Result<ServerOptions, Diagnostic> {
    let mut o = ServerOptions::default();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let value = || -> Result<&Word, Diagnostic> {
            words.get(i + 1).ok_or_else(|| {
                Diagnostic::error(
                    w.span,
                    format!(
                        "server option '{}' expects a value (missing argument)",
                        w.text
                    ),
                )
            })
        };
        if let Some(taken) = o.tls.parse_option(words, i, Side::Server)? {
            i += taken;
            continue;
        }
        let mut takes_value = true;
        let mut flag = |slot: &mut Option<bool>, v: bool| {
            *slot = Some(v);
            takes_value = false;
        };
        match w.text.as_str() {
            "check" => flag(&mut o.check, true),
            "no-check" => flag(&mut o.check, false),
            "check-ssl" => flag(&mut o.check_ssl, true),
            "backup" => flag(&mut o.backup, true),
            "no-backup" => flag(&mut o.backup, false),
            "disabled" => flag(&mut o.disabled, true),
            "enabled" => flag(&mut o.disabled, false),
            "ssl" => flag(&mut o.ssl, true),
            "send-proxy" => flag(&mut o.send_proxy, true),
            "send-proxy-v2" => flag(&mut o.send_proxy_v2, true),
            "agent-check" => flag(&mut o.agent_check, true),
            "no-agent-check" => flag(&mut o.agent_check, false),
            "agent-port" => o.agent_port = Some(parse_port(value()?)?),
            "agent-addr" => o.agent_addr = Some(parse_agent_addr(value()?)?),
            "agent-inter" => o.agent_inter = Some(positive_time(value()?)?),
            "agent-send" => o.agent_send = Some(value()?.text.clone()),
            "inter" => o.inter = Some(positive_time(value()?)?),
            "fastinter" => o.fastinter = Some(positive_time(value()?)?),
            "downinter" => o.downinter = Some(positive_time(value()?)?),
            "slowstart" => o.slowstart = Some(parse_time(value()?)?),
            "fall" => o.fall = Some(at_least_one(value()?, "fall")?),
            "rise" => o.rise = Some(at_least_one(value()?, "rise")?),
            "port" => o.check_port = Some(parse_port(value()?)?),
            "addr" => o.check_addr = Some(value()?.clone()),
            "weight" => {
                let v = value()?;
                let n = parse_uint(v, "weight", u64::MAX)
                    .ok()
                    .filter(|n| *n <= 256)
                    .ok_or_else(|| {
                        Diagnostic::error(v.span, format!("invalid weight '{}'", v.text))
                            .with_help("a server weight is from 0 to 256")
                    })?;
                o.weight = Some(n);
            }
            "maxconn" => o.maxconn = Some(parse_uint(value()?, "maxconn", i32::MAX as u64)?),
            "maxqueue" => o.maxqueue = Some(parse_uint(value()?, "maxqueue", i32::MAX as u64)?),
            "id" => o.id = Some(parse_uint(value()?, "server id", i32::MAX as u64)?),
            "cookie" => o.cookie = Some(value()?.text.clone()),
            "verify" => {
                let v = value()?;
                if !["none", "required"].contains(&v.text.as_str()) {
                    return Err(Diagnostic::error(
                        v.span,
                        format!("unknown verify mode '{}'", v.text),
                    )
                    .with_help("use 'verify none' or 'verify required'"));
                }
                o.verify = Some(v.clone());
            }
            "ca-file" => o.ca_file = Some(value()?.clone()),
            "crt" => o.crt = Some(value()?.clone()),
            "init-addr" => o.init_addr = Some(parse_init_addr(value()?)?),
            "track" => o.track = Some(value()?.clone()),
            "observe" => {
                let v = value()?;
                o.observe = Some(match v.text.as_str() {
                    "none" => Observe::None,
                    "layer4" => Observe::Layer4,
                    "layer7" => Observe::Layer7,
                    other => {
                        return Err(Diagnostic::error(
                            v.span,
                            format!("'observe' expects one of 'none', 'layer4', 'layer7' but got '{other}'."),
                        ))
                    }
                });
            }
            "on-error" => {
                let v = value()?;
                o.on_error = Some(match v.text.as_str() {
                    "fastinter" => OnError::Fastinter,
                    "fail-check" => OnError::FailCheck,
                    "sudden-death" => OnError::SuddenDeath,
                    "mark-down" => OnError::MarkDown,
                    other => return Err(Diagnostic::error(
                        v.span,
                        format!("'on-error' expects one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down' but got '{other}'."),
                    )),
                });
            }
            "error-limit" => {
                let v = value()?;
                let n = v
                    .text
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0 && *n <= i32::MAX as u64);
                o.error_limit =
                    Some(n.ok_or_else(|| Diagnostic::error(v.span, "error-limit has to be > 0."))?);
            }
            "on-marked-down" => {
                o.shutdown_on_down = Some(expect_action(w, words.get(i + 1), "shutdown-sessions")?);
            }
            "on-marked-up" => {
                o.shutdown_backups_on_up = Some(expect_action(
                    w,
                    words.get(i + 1),
                    "shutdown-backup-sessions",
                )?);
            }
            "allow-0rtt" => return Err(crate::ast::bind::refuse_0rtt(w)),
            "sni" => o.sni = Some(value()?.clone()),
            "check-sni" => {
                let v = words
                    .get(i + 1)
                    .filter(|v| !v.text.is_empty())
                    .ok_or_else(|| {
                        Diagnostic::error(w.span, "'check-sni' : missing SNI")
                            .with_help("e.g. 'check-sni health.example.com'")
                    })?;
                o.check_sni = Some(v.text.clone());
            }
            "check-alpn" => o.check_alpn = Some(parse_alpn(value()?)?),
            "alpn" => o.alpn = Some(value()?.text.split(',').map(str::to_owned).collect()),
            "proto" => {
                let v = value()?;
                if v.text != "h2" {
                    return Err(Diagnostic::error(
                        v.span,
                        format!("protocol '{}' is not supported by switchyard yet", v.text),
                    )
                    .with_help("switchyard knows 'proto h2'"));
                }
                o.proto = Some(v.text.clone());
            }
            _ => {
                return Err(crate::suggest::unknown_option(
                    w,
                    "server",
                    &[SUPPORTED, crate::ast::tls::OPTIONS].concat(),
                    UNSUPPORTED,
                ))
            }
        }
        i += if takes_value { 2 } else { 1 };
    }
    Ok(o)
}

/// An ALPN list (`check-alpn`): comma-separated protocol names, each 1 to
/// 255 bytes as the TLS extension carries them.
fn parse_alpn(w: &Word) -> Result<Vec<String>, Diagnostic> {
    let list: Vec<String> = w.text.split(',').map(str::to_owned).collect();
    if list.iter().any(|p| p.is_empty() || p.len() > 255) {
        return Err(
            Diagnostic::error(w.span, format!("invalid ALPN list '{}'", w.text)).with_help(
                "protocol names of 1 to 255 characters separated by commas, e.g. 'h2,http/1.1'",
            ),
        );
    }
    Ok(list)
}

/// `on-marked-down`/`on-marked-up`: the one action each has, with
/// HAProxy's message for anything else.
fn expect_action(option: &Word, value: Option<&Word>, action: &str) -> Result<bool, Diagnostic> {
    match value {
        Some(v) if v.text == action => Ok(true),
        _ => Err(Diagnostic::error(
            value.map_or(option.span, |v| v.span),
            format!(
                "'{}' expects '{action}' but got '{}'",
                option.text,
                value.map_or("", |v| v.text.as_str())
            ),
        )
        .with_help(format!("write '{} {action}'", option.text))),
    }
}

/// `agent-addr`: an IP address or a host name, taken as written (HAProxy
/// expands no environment variable here, unlike a server's address).
fn parse_agent_addr(w: &Word) -> Result<Word, Diagnostic> {
    let valid = !w.text.is_empty()
        && w.text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
    if !valid {
        return Err(Diagnostic::error(
            w.span,
            format!(
                "invalid agent-addr '{}': not an IP address or host name",
                w.text
            ),
        )
        .with_help("write 'agent-addr IP' or 'agent-addr HOSTNAME'"));
    }
    Ok(w.clone())
}

fn positive_time(w: &Word) -> Result<Duration, Diagnostic> {
    let t = parse_time(w)?;
    if t.is_zero() {
        return Err(Diagnostic::error(
            w.span,
            format!("'{}' must be greater than zero", w.text),
        ));
    }
    Ok(t)
}

fn at_least_one(w: &Word, what: &str) -> Result<u64, Diagnostic> {
    let n = parse_uint(w, what, i32::MAX as u64)?;
    if n == 0 {
        return Err(Diagnostic::error(
            w.span,
            format!("'{what}' must be at least 1"),
        ));
    }
    Ok(n)
}

fn parse_port(w: &Word) -> Result<u16, Diagnostic> {
    match w.text.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(
            Diagnostic::error(w.span, format!("invalid port '{}'", w.text))
                .with_help("a port is a number from 1 to 65535"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Environment;
    use crate::lexer::lex_line;
    use crate::span::FileId;

    fn server(text: &str) -> Result<Server, Diagnostic> {
        let w = lex_line(text, FileId(0), 1, &Environment::new()).unwrap();
        Server::parse(&w[0], &w[1..])
    }

    #[test]
    fn tutorial_server_line() {
        let s = server("server web1 127.0.0.11:80 check inter 3s fall 3 rise 5").unwrap();
        assert_eq!(s.options.check, Some(true));
        assert_eq!(s.options.inter, Some(Duration::from_secs(3)));
        assert_eq!((s.options.fall, s.options.rise), (Some(3), Some(5)));
    }

    #[test]
    fn defaults_fill_gaps_only() {
        let d = parse_options(
            &lex_line("inter 2s weight 10", FileId(0), 1, &Environment::new()).unwrap(),
        )
        .unwrap();
        let s = server("server a 127.0.0.1:1 weight 20").unwrap();
        let merged = s.options.over(&d);
        assert_eq!(
            (merged.weight, merged.inter),
            (Some(20), Some(Duration::from_secs(2)))
        );
    }

    #[test]
    fn init_addr_keeps_its_methods_in_order() {
        let s = server("server a db.example:5432 init-addr last,libc,none,10.0.0.1").unwrap();
        assert_eq!(
            s.options.init_addr,
            Some(vec![
                InitAddr::Last,
                InitAddr::Libc,
                InitAddr::None,
                InitAddr::Ip("10.0.0.1".parse().unwrap())
            ])
        );
        let bad = server("server a db:1 init-addr libc,bogus").unwrap_err();
        assert!(
            bad.message.contains("unknown init-addr method 'bogus'"),
            "{}",
            bad.message
        );
        let ten = ["libc"; 10].join(",");
        assert!(server(&format!("server a db:1 init-addr {ten}")).is_ok());
        let eleven = server(&format!("server a db:1 init-addr {ten},none")).unwrap_err();
        assert!(
            eleven
                .message
                .contains("too many init-addr methods when trying to add 'none'"),
            "{}",
            eleven.message
        );
    }

    #[test]
    fn on_marked_actions_are_the_one_each_has() {
        let s = server("server a 127.0.0.1:1 on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions").unwrap();
        assert_eq!(
            (s.options.shutdown_on_down, s.options.shutdown_backups_on_up),
            (Some(true), Some(true))
        );
        assert_eq!(
            server("server a 127.0.0.1:1 on-marked-up shutdown-sessions")
                .unwrap_err()
                .message,
            "'on-marked-up' expects 'shutdown-backup-sessions' but got 'shutdown-sessions'"
        );
        assert_eq!(
            server("server a 127.0.0.1:1 on-marked-down")
                .unwrap_err()
                .message,
            "'on-marked-down' expects 'shutdown-sessions' but got ''"
        );
    }

    #[test]
    fn bad_options_are_named() {
        assert!(server("server a 127.0.0.1:1 chekc")
            .unwrap_err()
            .help
            .unwrap()
            .contains("check"));
        assert!(server("server a 127.0.0.1:1 weight 300")
            .unwrap_err()
            .message
            .contains("invalid weight"));
        assert!(server("server a 127.0.0.1:1 redir http://x")
            .unwrap_err()
            .message
            .contains("not supported"));
        assert!(server("server a 127.0.0.1:1 inter")
            .unwrap_err()
            .message
            .contains("missing argument"));
        assert!(server("server a").is_err());
    }
}

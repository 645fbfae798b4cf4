//! `bind ADDRESS[,ADDRESS…] [options]`.

use std::time::Duration;

use crate::ast::address::{parse_address_list, Address, AddressUse};
use crate::ast::tls::{Side, TlsPolicy};
use crate::ast::value::{parse_time, parse_uint};
use crate::diagnostic::Diagnostic;
use crate::word::Word;

pub use crate::ast::tls::TlsVersion;

/// A `bind` line's options: TLS, PROXY protocol, socket settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindOptions {
    /// `ssl`: TLS on these addresses.
    pub ssl: bool,
    /// `crt FILE|DIR`, repeatable; the first certificate is the default.
    pub certificates: Vec<Word>,
    /// `crt-list FILE`, repeatable: certificates with per-name settings.
    pub crt_list: Vec<Word>,
    /// `crt-base` from `global`, for the relative files a `crt-list`
    /// names (the `crt` and `crt-list` words are already rebased).
    pub crt_base: Option<String>,
    /// `alpn h2,http/1.1`.
    pub alpn: Vec<String>,
    /// Versions, ciphers, curves, tickets; laid over `global`'s
    /// `ssl-default-bind-*` once the configuration is read.
    pub tls: TlsPolicy,
    /// `global`'s `tune.ssl.*`, copied here with the defaults.
    pub tls_tuning: crate::ast::global::TlsTuning,
    /// `strict-sni`: refuse a handshake whose SNI names no certificate.
    pub strict_sni: bool,
    /// `ca-file`: CAs that verify client certificates and are named to
    /// clients.
    pub ca_file: Option<Word>,
    /// `ca-verify-file`: CAs that verify client certificates without
    /// being named to clients.
    pub ca_verify_file: Option<Word>,
    /// `crl-file`: revoked client certificates.
    pub crl_file: Option<Word>,
    /// `verify none|optional|required` (client certificates).
    pub verify: Option<Word>,
    /// `accept-proxy`: every connection starts with a PROXY header.
    pub accept_proxy: bool,
    /// `name`: the listener's name in stats and logs.
    pub name: Option<String>,
    /// `id`: the listener's number, unique in its frontend.
    pub id: Option<u64>,
    /// `maxconn`: connections this listener holds at once.
    pub maxconn: Option<u64>,
    /// `backlog`: the listen queue's length.
    pub backlog: Option<u64>,
    /// `v4v6`: an IPv6 wildcard also takes IPv4.
    pub v4v6: bool,
    /// `v6only`: an IPv6 wildcard takes IPv6 only.
    pub v6only: bool,
    /// `tfo`: TCP Fast Open on accepted connections.
    pub tfo: bool,
    /// `defer-accept`: the accept waits for the client's first data.
    pub defer_accept: bool,
    /// `interface NAME`: the listening socket only takes connections that
    /// arrive through this network interface (SO_BINDTODEVICE).
    pub interface: Option<String>,
    /// `proto h2`: speak HTTP/2 only.
    pub proto: Option<String>,
    /// `expose-fd listeners` (stats sockets).
    pub expose_fd_listeners: bool,
    /// Unix socket permissions: `mode 600`, `user`, `group`, `uid`, `gid`.
    pub unix_mode: Option<u32>,
    /// `user`/`uid`: the unix socket's owner.
    pub unix_user: Option<String>,
    /// `group`/`gid`: the unix socket's group.
    pub unix_group: Option<String>,
    /// `level user|operator|admin` (stats sockets).
    pub level: Option<Word>,
    /// `accept-netscaler-cip` and the like are refused; `tcp-ut` kept.
    pub tcp_user_timeout: Option<Duration>,
}

/// A `bind` line: where a frontend listens, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// The addresses, one per comma-separated part.
    pub addresses: Vec<Address>,
    /// What applies to every address.
    pub options: BindOptions,
    /// The `bind` keyword itself, for messages.
    pub keyword: Word,
}

/// Options HAProxy's `bind` has that Switchyard does not implement yet.
const UNSUPPORTED: &[&str] = &[
    "ca-ignore-err",
    "ca-sign-file",
    "ca-sign-pass",
    "crt-ignore-err",
    "generate-certificates",
    "namespace",
    "nice",
    "no-ca-names",
    "npn",
    "process",
    "quic-cc-algo",
    "quic-force-retry",
    "severity-output",
    "ssl_fc",
    "thread",
    "transparent",
    "accept-netscaler-cip",
    "no-alpn",
    "ocsp-update",
    "sigalgs",
    "client-sigalgs",
];

const SUPPORTED: &[&str] = &[
    "ssl",
    "crt",
    "crt-list",
    "alpn",
    "strict-sni",
    "ca-file",
    "ca-verify-file",
    "crl-file",
    "verify",
    "accept-proxy",
    "name",
    "id",
    "maxconn",
    "backlog",
    "v4v6",
    "v6only",
    "tfo",
    "defer-accept",
    "interface",
    "proto",
    "expose-fd",
    "mode",
    "user",
    "uid",
    "group",
    "gid",
    "level",
    "tcp-ut",
];

impl Bind {
    /// Parses the words after `bind` (`keyword`).
    pub fn parse(keyword: &Word, args: &[Word], usage: AddressUse) -> Result<Bind, Diagnostic> {
        let Some((address, options)) = args.split_first() else {
            return Err(Diagnostic::error(
                keyword.span,
                format!("'{}' expects an address (missing argument)", keyword.text),
            )
            .with_help("e.g. 'bind 127.0.0.1:8080' or 'bind :443 ssl crt site.pem'"));
        };
        let addresses = parse_address_list(address, usage)?;
        let options = parse_options(options)?;
        Ok(Bind {
            addresses,
            options,
            keyword: keyword.clone(),
        })
    }
}

/// `allow-0rtt` is refused: early data can be replayed by anyone who
/// saw it, and Switchyard forwards requests without knowing whether a
/// server may see them twice (HAProxy leaves that to `wait-for-handshake`,
/// which Switchyard does not have).
pub fn refuse_0rtt(w: &Word) -> Diagnostic {
    Diagnostic::error(
        w.span,
        "'allow-0rtt' is not supported by switchyard: TLS 1.3 early data can be replayed by an attacker, and switchyard has no 'http-request wait-for-handshake' to hold replay-sensitive requests back",
    )
    .with_help("remove 'allow-0rtt'; clients then send their first request after the handshake (one round trip later)")
}

/// Parses `bind`/`stats socket` options.
pub fn parse_options(words: &[Word]) -> Result<BindOptions, Diagnostic> {
    let mut o = BindOptions::default();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let value = |i: usize| -> Result<&Word, Diagnostic> {
            words.get(i + 1).ok_or_else(|| {
                Diagnostic::error(
                    w.span,
                    format!(
                        "bind option '{}' expects a value (missing argument)",
                        w.text
                    ),
                )
            })
        };
        if let Some(taken) = o.tls.parse_option(words, i, Side::Bind)? {
            i += taken;
            continue;
        }
        let mut takes_value = true;
        match w.text.as_str() {
            "ssl" => {
                o.ssl = true;
                takes_value = false;
            }
            "strict-sni" => {
                o.strict_sni = true;
                takes_value = false;
            }
            "accept-proxy" => {
                o.accept_proxy = true;
                takes_value = false;
            }
            "v4v6" => {
                o.v4v6 = true;
                takes_value = false;
            }
            "v6only" => {
                o.v6only = true;
                takes_value = false;
            }
            "tfo" => {
                o.tfo = true;
                takes_value = false;
            }
            "defer-accept" => {
                o.defer_accept = true;
                takes_value = false;
            }
            "crt" => o.certificates.push(value(i)?.clone()),
            "crt-list" => o.crt_list.push(value(i)?.clone()),
            "alpn" => o.alpn = value(i)?.text.split(',').map(str::to_owned).collect(),
            "ca-file" => o.ca_file = Some(value(i)?.clone()),
            "ca-verify-file" => o.ca_verify_file = Some(value(i)?.clone()),
            "crl-file" => o.crl_file = Some(value(i)?.clone()),
            "allow-0rtt" => return Err(refuse_0rtt(w)),
            "verify" => {
                let v = value(i)?;
                if !["none", "optional", "required"].contains(&v.text.as_str()) {
                    return Err(Diagnostic::error(
                        v.span,
                        format!("unknown verify mode '{}'", v.text),
                    )
                    .with_help("use none, optional or required"));
                }
                o.verify = Some(v.clone());
            }
            "name" => o.name = Some(value(i)?.text.clone()),
            "id" => o.id = Some(parse_uint(value(i)?, "bind id", u32::MAX as u64)?),
            "maxconn" => o.maxconn = Some(parse_uint(value(i)?, "maxconn", i32::MAX as u64)?),
            "backlog" => o.backlog = Some(parse_uint(value(i)?, "backlog", i32::MAX as u64)?),
            "proto" => {
                let v = value(i)?;
                if v.text != "h2" {
                    return Err(Diagnostic::error(
                        v.span,
                        format!("protocol '{}' is not supported by switchyard yet", v.text),
                    )
                    .with_help("switchyard knows 'proto h2'"));
                }
                o.proto = Some(v.text.clone());
            }
            "expose-fd" => {
                let v = value(i)?;
                if v.text != "listeners" {
                    return Err(Diagnostic::error(
                        v.span,
                        format!("unknown expose-fd value '{}'", v.text),
                    )
                    .with_help("write 'expose-fd listeners'"));
                }
                o.expose_fd_listeners = true;
            }
            "mode" => {
                let v = value(i)?;
                o.unix_mode = Some(u32::from_str_radix(&v.text, 8).map_err(|_| {
                    Diagnostic::error(v.span, format!("invalid socket mode '{}'", v.text))
                        .with_help("write an octal mode such as 600 or 660")
                })?);
            }
            "user" | "uid" => o.unix_user = Some(value(i)?.text.clone()),
            "group" | "gid" => o.unix_group = Some(value(i)?.text.clone()),
            "level" => {
                let v = value(i)?;
                if !["user", "operator", "admin"].contains(&v.text.as_str()) {
                    return Err(
                        Diagnostic::error(v.span, format!("unknown level '{}'", v.text))
                            .with_help("use user, operator or admin"),
                    );
                }
                o.level = Some(v.clone());
            }
            "interface" => {
                let v = value(i)?;
                // IFNAMSIZ (16) with its final NUL.
                if v.text.is_empty() || v.text.len() > 15 {
                    return Err(Diagnostic::error(
                        v.span,
                        format!("invalid interface name '{}'", v.text),
                    )
                    .with_help(
                        "a network interface name has 1 to 15 characters, e.g. 'eth0' or 'lo'",
                    ));
                }
                o.interface = Some(v.text.clone());
            }
            "tcp-ut" => o.tcp_user_timeout = Some(parse_time(value(i)?)?),
            _ => {
                return Err(crate::suggest::unknown_option(
                    w,
                    "bind",
                    &[SUPPORTED, crate::ast::tls::OPTIONS].concat(),
                    UNSUPPORTED,
                ))
            }
        }
        i += if takes_value { 2 } else { 1 };
    }
    if !o.certificates.is_empty() && !o.ssl {
        let w = &o.certificates[0];
        return Err(Diagnostic::error(w.span, "'crt' is given without 'ssl'")
            .with_help("add 'ssl' to the bind line to terminate TLS"));
    }
    if o.ssl && o.certificates.is_empty() && o.crt_list.is_empty() {
        return Err(
            Diagnostic::global_error("'ssl' on a bind line needs a certificate").with_help(
                "add 'crt /path/to/cert.pem' (certificate chain and key in one PEM file)",
            ),
        );
    }
    Ok(o)
}

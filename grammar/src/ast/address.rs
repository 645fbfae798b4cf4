//! Socket addresses of `bind`, `server`, `stats socket` and `log`:
//! `127.0.0.1:80`, `*:8080`, `:443`, `[::1]:80-90`, `ipv6@::1:80`,
//! `unix@/run/x.sock`, `/run/x.sock`, `fd@3`, `abns@name`, and Switchyard's
//! `systemd@NAME` (a socket systemd passed with `FileDescriptorName=NAME`).

use std::net::IpAddr;

use pest::Parser;

use crate::diagnostic::Diagnostic;
use crate::lexer::{ConfigGrammar, Rule};
use crate::word::Word;

/// The family an address names, from its prefix (`ipv4@`, `unix@`…) or its
/// form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressFamily {
    /// No prefix: IPv4 or IPv6 from the text.
    Inet,
    /// `ipv4@`: IPv4 only.
    Ipv4,
    /// `ipv6@`: IPv6 only.
    Ipv6,
    /// `unix@`, or a path starting with `/`: a unix stream socket.
    Unix,
    /// `abns@NAME`: a Linux abstract-namespace unix socket.
    Abns,
    /// `fd@N`: an inherited, already open socket.
    Fd,
    /// `systemd@NAME`: the sockets systemd's socket activation passed under
    /// that name (`LISTEN_FDNAMES`). Switchyard's own: HAProxy 2.6 has no
    /// syntax for socket names.
    Systemd,
    /// `sockpair@FD`: one end of a socket pair (the gateway does not serve a
    /// `bind` on one yet).
    Sockpair,
    /// `udp@`, `udp4@`, `udp6@` (for `log` targets).
    Udp,
}

/// What an address names, without its port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// `*`, `0.0.0.0` written as `*`, or nothing before the colon.
    Any,
    /// An IP address.
    Ip(IpAddr),
    /// A host name, resolved when the gateway starts.
    Name(String),
    /// A unix socket path or abstract name.
    Path(String),
    /// `fd@N`, the number possibly from `"fd@${VAR}"`.
    Fd(u32),
    /// `systemd@NAME`: an activated socket's name.
    Systemd(String),
}

/// Where the port comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// No port written (servers then use the port the client connected to).
    None,
    /// `80` or a range `8000-8010`.
    Range(u16, u16),
    /// `+1`/`-1`: an offset from the port the client connected to.
    Offset(i32),
}

/// One address of a `bind`, `server`, `log` or `stats socket` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The family, from the prefix or the form.
    pub family: AddressFamily,
    /// The host part.
    pub host: Host,
    /// The port part.
    pub port: Port,
    /// The word it was written in, for messages.
    pub word: Word,
}

/// What the address is for, which decides whether a port is required and
/// whether ranges are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressUse {
    /// `bind`: a port or a range is required.
    Bind,
    /// `server`: the port may be missing or an offset.
    Server,
    /// `log`: syslog targets, UDP by default.
    Log,
    /// `stats socket`: a unix path or a TCP address.
    StatsSocket,
}

impl Address {
    /// Parses one address (no commas) in the text of `word`.
    pub fn parse(word: &Word, text: &str, usage: AddressUse) -> Result<Address, Diagnostic> {
        let invalid = |why: &str| {
            Diagnostic::error(word.span, format!("invalid address '{text}': {why}"))
                .with_help(match usage {
                    AddressUse::Bind => "write IP:PORT, *:PORT, :PORT, [IPv6]:PORT, unix@PATH, fd@N or systemd@NAME, e.g. 127.0.0.1:8080",
                    AddressUse::Server => "write IP:PORT or NAME:PORT, e.g. 127.0.0.1:8080",
                    AddressUse::Log => "write IP[:PORT], udp@IP:PORT, a unix socket path, stdout or stderr",
                    AddressUse::StatsSocket => "write a unix socket path, ipv4@IP:PORT or fd@N",
                })
        };
        let pairs =
            ConfigGrammar::parse(Rule::address, text).map_err(|_| invalid("cannot be read"))?;
        let (mut family_text, mut rest) = ("", "");
        for p in pairs.flatten() {
            match p.as_rule() {
                Rule::address_family => family_text = p.as_str(),
                Rule::address_rest => rest = p.as_str(),
                _ => {}
            }
        }
        let family = match family_text {
            "" if rest.starts_with('/') => AddressFamily::Unix,
            "" => AddressFamily::Inet,
            "ipv4" | "tcp4" => AddressFamily::Ipv4,
            "ipv6" | "tcp6" => AddressFamily::Ipv6,
            "tcp" => AddressFamily::Inet,
            "unix" | "uxst" => AddressFamily::Unix,
            "abns" => AddressFamily::Abns,
            "fd" => AddressFamily::Fd,
            "systemd" if matches!(usage, AddressUse::Bind | AddressUse::StatsSocket) => {
                AddressFamily::Systemd
            }
            "sockpair" => AddressFamily::Sockpair,
            "udp" | "udp4" | "udp6" if usage == AddressUse::Log => AddressFamily::Udp,
            other => {
                return Err(Diagnostic::error(
                    word.span,
                    format!("address family '{other}@' is not supported by switchyard yet"),
                )
                .with_help("use ipv4@, ipv6@, unix@ or fd@"))
            }
        };
        match family {
            AddressFamily::Unix | AddressFamily::Abns => {
                if rest.is_empty() {
                    return Err(invalid("the socket path is empty"));
                }
                return Ok(Address {
                    family,
                    host: Host::Path(rest.to_owned()),
                    port: Port::None,
                    word: word.clone(),
                });
            }
            AddressFamily::Systemd => {
                let valid = !rest.is_empty()
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_graphic() && c != ':' && c != ',');
                if !valid {
                    return Err(invalid(
                        "a socket name is printable ASCII without ':' or ',' (systemd's FileDescriptorName=)",
                    ));
                }
                return Ok(Address {
                    family,
                    host: Host::Systemd(rest.to_owned()),
                    port: Port::None,
                    word: word.clone(),
                });
            }
            AddressFamily::Fd | AddressFamily::Sockpair => {
                let fd = rest
                    .parse::<u32>()
                    .map_err(|_| invalid("the file descriptor must be a number"))?;
                return Ok(Address {
                    family,
                    host: Host::Fd(fd),
                    port: Port::None,
                    word: word.clone(),
                });
            }
            _ => {}
        }
        let (host_text, port_text) = split_host_port(rest);
        let host = match host_text {
            "" | "*" => Host::Any,
            h => match h.parse::<IpAddr>() {
                Ok(ip) => {
                    if (family == AddressFamily::Ipv4 && ip.is_ipv6())
                        || (family == AddressFamily::Ipv6 && ip.is_ipv4())
                    {
                        return Err(invalid("the address does not match its family prefix"));
                    }
                    Host::Ip(ip)
                }
                Err(_) if is_host_name(h) => Host::Name(h.to_owned()),
                Err(_) => return Err(invalid("not an IP address or host name")),
            },
        };
        let port = parse_port(word, text, port_text, usage)?;
        if usage == AddressUse::Server && host == Host::Any {
            return Err(invalid("a server needs an IP address or a host name"));
        }
        Ok(Address {
            family,
            host,
            port,
            word: word.clone(),
        })
    }
}

/// Splits at the colon before the port: `[::1]:80`, `::1:80` (last colon),
/// `1.2.3.4:80`, `host` (no port).
fn split_host_port(rest: &str) -> (&str, Option<&str>) {
    if let Some(inner) = rest.strip_prefix('[') {
        if let Some(end) = inner.find(']') {
            let after = &inner[end + 1..];
            return (&inner[..end], after.strip_prefix(':'));
        }
    }
    match rest.rfind(':') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    }
}

fn is_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
        })
        && !h.chars().all(|c| c.is_ascii_digit() || c == '.')
}

fn parse_port(
    word: &Word,
    text: &str,
    port: Option<&str>,
    usage: AddressUse,
) -> Result<Port, Diagnostic> {
    let bad = |why: String| {
        Diagnostic::error(word.span, format!("invalid port in '{text}': {why}"))
            .with_help("ports are numbers from 1 to 65535, e.g. 127.0.0.1:8080")
    };
    let one = |p: &str| -> Result<u16, Diagnostic> {
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
            _ => Err(bad(format!("'{p}' is not a port number"))),
        }
    };
    match (port, usage) {
        (None | Some(""), AddressUse::Bind) => Err(bad("a listening address needs a port".into())),
        (None | Some(""), _) => Ok(Port::None),
        (Some(p), AddressUse::Server) if p.starts_with('+') || p.starts_with('-') => p
            .parse::<i32>()
            .map(Port::Offset)
            .map_err(|_| bad(format!("'{p}' is not a port offset"))),
        (Some(p), AddressUse::Bind) if p.contains('-') => {
            let (a, b) = p.split_once('-').unwrap_or((p, p));
            let (a, b) = (one(a)?, one(b)?);
            if a > b {
                return Err(bad(format!("the range {a}-{b} is reversed")));
            }
            Ok(Port::Range(a, b))
        }
        (Some(p), _) => one(p).map(|n| Port::Range(n, n)),
    }
}

/// `bind` accepts a comma-separated list of addresses in one word.
pub fn parse_address_list(word: &Word, usage: AddressUse) -> Result<Vec<Address>, Diagnostic> {
    word.text
        .split(',')
        .map(|part| Address::parse(word, part, usage))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Span;

    fn bind(s: &str) -> Result<Vec<Address>, Diagnostic> {
        parse_address_list(&Word::new(s, Span::default()), AddressUse::Bind)
    }

    #[test]
    fn bind_forms() {
        assert_eq!(bind("*:80").unwrap()[0].host, Host::Any);
        assert_eq!(bind(":8080").unwrap()[0].port, Port::Range(8080, 8080));
        assert_eq!(bind("[::1]:80-90").unwrap()[0].port, Port::Range(80, 90));
        let a = &bind("ipv6@::1:443").unwrap()[0];
        assert_eq!(
            (a.family, &a.host),
            (AddressFamily::Ipv6, &Host::Ip("::1".parse().unwrap()))
        );
        assert_eq!(
            bind("unix@/run/a.sock").unwrap()[0].host,
            Host::Path("/run/a.sock".into())
        );
        assert_eq!(bind("fd@3").unwrap()[0].host, Host::Fd(3));
        assert_eq!(
            bind("systemd@web").unwrap()[0].host,
            Host::Systemd("web".into())
        );
        assert_eq!(bind("127.0.0.1:80,127.0.0.2:81").unwrap().len(), 2);
    }

    #[test]
    fn bad_addresses_say_why() {
        assert!(bind("127.0.0.1")
            .unwrap_err()
            .message
            .contains("invalid port"));
        assert!(bind("127.0.0.1:99999")
            .unwrap_err()
            .message
            .contains("invalid port"));
        assert!(bind("127.0.0.1:90-80")
            .unwrap_err()
            .message
            .contains("reversed"));
        assert!(bind("1.2.3:80").is_err());
        assert!(bind("ipv4@::1:80").unwrap_err().message.contains("family"));
        assert!(bind("fd@x").is_err());
        assert!(bind("systemd@").is_err());
        assert!(bind("systemd@a:b").is_err());
    }

    #[test]
    fn server_forms() {
        let s = |t: &str| Address::parse(&Word::new(t, Span::default()), t, AddressUse::Server);
        assert_eq!(s("127.0.0.1").unwrap().port, Port::None);
        assert_eq!(
            s("localhost:8080").unwrap().host,
            Host::Name("localhost".into())
        );
        assert_eq!(s("127.0.0.1:+1").unwrap().port, Port::Offset(1));
        assert!(s(":80").is_err());
    }
}

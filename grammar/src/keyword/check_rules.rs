//! `http-check connect|send|expect|comment` and `tcp-check connect|send|
//! send-lf|send-binary|send-binary-lf|expect|comment`: the words of one
//! rule into a [`CheckStep`], with HAProxy 2.6's arguments; what
//! Switchyard does not build is refused by name.

use crate::ast::check_rule::{
    CheckConnect, CheckExpect, CheckSend, CheckStep, ExpectMatcher, HeaderPattern, MatchMethod,
};
use crate::ast::log_format::LogFormat;
use crate::ast::proxy::HttpCheckSend;
use crate::diagnostic::Diagnostic;
use crate::reader::RawDirective;
use crate::word::Word;

/// Which rule language: `http-check` or `tcp-check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Http,
    Tcp,
}

impl Family {
    fn name(self) -> &'static str {
        match self {
            Family::Http => "http-check",
            Family::Tcp => "tcp-check",
        }
    }
}

/// Parses `http-check KIND …` (`kind` is `connect`, `send`, `expect` or
/// `comment`): the step, and the rule's own `comment`.
pub fn parse_http_check(
    directive: &RawDirective,
    kind: &str,
) -> Result<(CheckStep, Option<String>), Diagnostic> {
    parse_rule(directive, kind, Family::Http)
}

/// Parses `tcp-check KIND …` (`kind` is `connect`, `send`, `send-lf`,
/// `send-binary`, `send-binary-lf`, `expect` or `comment`).
pub fn parse_tcp_check(
    directive: &RawDirective,
    kind: &str,
) -> Result<(CheckStep, Option<String>), Diagnostic> {
    parse_rule(directive, kind, Family::Tcp)
}

fn parse_rule(
    directive: &RawDirective,
    kind: &str,
    family: Family,
) -> Result<(CheckStep, Option<String>), Diagnostic> {
    let args = &directive.args()[1..];
    let mut comment = None;
    let step = match (kind, family) {
        ("connect", _) => CheckStep::Connect(parse_connect(args, family, &mut comment)?),
        ("send", Family::Http) => {
            CheckStep::Send(CheckSend::Http(parse_send(directive, args, &mut comment)?))
        }
        ("send" | "send-lf" | "send-binary" | "send-binary-lf", Family::Tcp) => {
            CheckStep::Send(parse_tcp_send(directive, kind, args, &mut comment)?)
        }
        ("expect", _) => CheckStep::Expect(parse_expect(directive, family, args, &mut comment)?),
        _ => return parse_comment(directive, family, args).map(|c| (c, None)),
    };
    Ok((step, comment))
}

fn parse_comment(
    directive: &RawDirective,
    family: Family,
    args: &[Word],
) -> Result<CheckStep, Diagnostic> {
    match args {
        [comment] => Ok(CheckStep::Comment(comment.text.clone())),
        [] => Err(missing_word(directive, family, "a comment")),
        [_, extra, ..] => Err(Diagnostic::error(
            extra.span,
            format!("unexpected word '{}' after the comment", extra.text),
        )
        .with_help("quote a comment that has blanks")),
    }
}

fn missing_word(directive: &RawDirective, family: Family, what: &str) -> Diagnostic {
    Diagnostic::error(
        directive.span(),
        format!(
            "'{} {}' expects {what} (missing argument)",
            family.name(),
            directive.args()[0].text
        ),
    )
}

fn not_built(word: &Word, family: Family, rule: &str) -> Diagnostic {
    Diagnostic::error(
        word.span,
        format!(
            "'{} {rule} {}' is not supported by switchyard yet",
            family.name(),
            word.text
        ),
    )
    .with_help("remove it, or run this configuration with HAProxy")
}

/// The word after `args[i]`, or an error naming what it needs.
fn value<'a>(args: &'a [Word], i: usize, what: &str) -> Result<&'a Word, Diagnostic> {
    args.get(i + 1).ok_or_else(|| {
        Diagnostic::error(
            args[i].span,
            format!("'{}' needs {what} (missing argument)", args[i].text),
        )
    })
}

fn port(w: &Word, family: Family) -> Result<u16, Diagnostic> {
    match w.text.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ if w.text.chars().all(|c| c.is_ascii_digit()) => Err(Diagnostic::error(
            w.span,
            format!("invalid port '{}'", w.text),
        )
        .with_help("a port is a number from 1 to 65535")),
        _ => Err(Diagnostic::error(
            w.span,
            format!(
                "'{} connect port {}': a port from a sample expression is not supported by switchyard yet",
                family.name(),
                w.text
            ),
        )
        .with_help("write the port as a number")),
    }
}

fn parse_connect(
    args: &[Word],
    family: Family,
    comment: &mut Option<String>,
) -> Result<CheckConnect, Diagnostic> {
    let mut c = CheckConnect::default();
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        match w.text.as_str() {
            "default" => c.default = true,
            "send-proxy" => c.send_proxy = true,
            "ssl" => c.ssl = true,
            "linger" => c.linger = true,
            "port" => {
                c.port = Some(port(value(args, i, "a port")?, family)?);
                i += 1;
            }
            "addr" => {
                let v = value(args, i, "an address")?;
                let (ip, port) = parse_ip_port(v)?;
                c.addr = Some(ip);
                c.addr_port = port;
                i += 1;
            }
            "sni" => {
                c.sni = Some(value(args, i, "a server name")?.text.clone());
                i += 1;
            }
            "alpn" => {
                let v = value(args, i, "a protocol list")?;
                let list: Vec<String> = v.text.split(',').map(str::to_owned).collect();
                if list.iter().any(|p| p.is_empty() || p.len() > 255) {
                    return Err(Diagnostic::error(
                        v.span,
                        format!("invalid ALPN list '{}'", v.text),
                    )
                    .with_help("write protocol names separated by commas, e.g. h2,http/1.1"));
                }
                c.alpn = Some(list);
                i += 1;
            }
            "comment" => {
                *comment = Some(value(args, i, "a string")?.text.clone());
                i += 1;
            }
            "proto" | "via-socks4" => return Err(not_built(w, family, "connect")),
            other => {
                return Err(Diagnostic::error(
                    w.span,
                    format!("unknown '{} connect' argument '{other}'", family.name()),
                )
                .with_help(
                    "expected default, port, addr, send-proxy, ssl, sni, alpn, linger or comment",
                ))
            }
        }
        i += 1;
    }
    Ok(c)
}

/// `tcp-check send STRING`, `send-binary HEX`, `send-lf FMT`,
/// `send-binary-lf FMT`, each with an optional `comment C`.
fn parse_tcp_send(
    directive: &RawDirective,
    kind: &str,
    args: &[Word],
    comment: &mut Option<String>,
) -> Result<CheckSend, Diagnostic> {
    let Some((data, rest)) = args.split_first() else {
        return Err(missing_word(
            directive,
            Family::Tcp,
            if kind.starts_with("send-binary") {
                "a hexadecimal string"
            } else {
                "a string"
            },
        ));
    };
    match rest {
        [] => {}
        [c, text] if c.is("comment") => *comment = Some(text.text.clone()),
        [c] if c.is("comment") => {
            return Err(value(rest, 0, "a string").expect_err("no value"));
        }
        [extra, ..] => {
            return Err(Diagnostic::error(
                extra.span,
                format!("unexpected word '{}' after the data", extra.text),
            )
            .with_help("only 'comment C' may follow; escape blanks with a backslash"))
        }
    }
    Ok(match kind {
        "send" => CheckSend::Bytes(data.text.as_bytes().to_vec()),
        "send-binary" => CheckSend::Bytes(hex(data)?),
        _ => CheckSend::Format {
            format: LogFormat::parse(data)?,
            binary: kind == "send-binary-lf",
        },
    })
}

fn parse_ip_port(w: &Word) -> Result<(std::net::IpAddr, Option<u16>), Diagnostic> {
    let invalid = || {
        Diagnostic::error(w.span, format!("invalid address '{}'", w.text))
            .with_help("write an IP address, with ':PORT' if the port differs")
    };
    if let Ok(ip) = w.text.parse::<std::net::IpAddr>() {
        return Ok((ip, None));
    }
    let addr: std::net::SocketAddr = w.text.parse().map_err(|_| invalid())?;
    Ok((addr.ip(), (addr.port() != 0).then_some(addr.port())))
}

fn parse_send(
    directive: &RawDirective,
    args: &[Word],
    comment: &mut Option<String>,
) -> Result<HttpCheckSend, Diagnostic> {
    let mut send = HttpCheckSend {
        span: directive.span(),
        ..HttpCheckSend::default()
    };
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        match word.text.as_str() {
            "meth" => send.method = Some(value(args, i, "a method")?.text.clone()),
            "uri" => send.uri = Some(value(args, i, "a URI")?.text.clone()),
            "uri-lf" => send.uri_lf = Some(LogFormat::parse(value(args, i, "a log-format")?)?),
            "ver" => {
                let v = value(args, i, "an HTTP version")?;
                if !v.text.starts_with("HTTP/") {
                    return Err(Diagnostic::error(
                        v.span,
                        format!("invalid HTTP version '{}'", v.text),
                    )
                    .with_help("write HTTP/1.0 or HTTP/1.1"));
                }
                send.version = Some(v.text.clone());
            }
            "hdr" => {
                let name = value(args, i, "a header name and a value")?;
                let val = value(args, i + 1, "a header name and a value")?;
                // Checked as a log-format now; rendered at each check.
                LogFormat::parse(val)?;
                send.headers.push((name.text.clone(), val.text.clone()));
                i += 1;
            }
            "body" => send.body = Some(value(args, i, "a string")?.text.clone()),
            "body-lf" => send.body_lf = Some(LogFormat::parse(value(args, i, "a log-format")?)?),
            "comment" => *comment = Some(value(args, i, "a string")?.text.clone()),
            other => {
                return Err(Diagnostic::error(
                    word.span,
                    format!("unknown 'http-check send' argument '{other}'"),
                )
                .with_help("expected meth, uri, uri-lf, ver, hdr, body, body-lf or comment"))
            }
        }
        i += 2;
    }
    Ok(send)
}

const STATUSES: &[(&str, &[&str])] = &[
    ("ok-status", &["L7OK", "L6OK", "L4OK"]),
    ("error-status", &["L7RSP", "L7STS", "L6RSP", "L4CON"]),
    ("tout-status", &["L7TOUT", "L6TOUT", "L4TOUT"]),
];

fn parse_expect(
    directive: &RawDirective,
    family: Family,
    args: &[Word],
    comment: &mut Option<String>,
) -> Result<CheckExpect, Diagnostic> {
    let mut expect = CheckExpect {
        min_recv: -1,
        negated: false,
        matcher: ExpectMatcher::Status(Vec::new()),
        ok_status: None,
        error_status: None,
        tout_status: None,
        on_success: None,
        on_error: None,
    };
    let mut matcher = None;
    let mut i = 0;
    // HAProxy's loop: options and `[!] MATCH PATTERN` in any order.
    while let Some(w) = args.get(i) {
        let mut text = w.text.as_str();
        let mut in_pattern = false;
        while let Some(rest) = text.strip_prefix('!') {
            expect.negated = !expect.negated;
            in_pattern = true;
            text = rest;
        }
        if text.is_empty() {
            // A lone `!`: the match kind is the next word.
            i += 1;
            let Some(next) = args.get(i) else {
                return Err(missing_word(directive, family, "a match kind after '!'"));
            };
            text = next.text.as_str();
        }
        let kind = &args[i];
        let not_after_bang = |what: &str| -> Result<(), Diagnostic> {
            if in_pattern {
                return Err(Diagnostic::error(
                    kind.span,
                    format!("'!' cannot come before '{what}'"),
                ));
            }
            Ok(())
        };
        match text {
            "min-recv" => {
                not_after_bang(text)?;
                let v = value(args, i, "a number")?;
                expect.min_recv = v
                    .text
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (-1..=i64::from(i32::MAX)).contains(n))
                    .ok_or_else(|| {
                        Diagnostic::error(v.span, format!("invalid min-recv '{}'", v.text))
                            .with_help("a number of bytes, or -1")
                    })?;
                i += 2;
                continue;
            }
            "comment" => {
                not_after_bang(text)?;
                *comment = Some(value(args, i, "a string")?.text.clone());
                i += 2;
                continue;
            }
            "on-success" | "on-error" => {
                not_after_bang(text)?;
                let f = Some(LogFormat::parse(value(args, i, "a log-format")?)?);
                if text == "on-success" {
                    expect.on_success = f;
                } else {
                    expect.on_error = f;
                }
                i += 2;
                continue;
            }
            "status-code" => return Err(not_built(kind, family, "expect")),
            option @ ("ok-status" | "error-status" | "tout-status") => {
                not_after_bang(option)?;
                let v = value(args, i, "a check status")?;
                let allowed = STATUSES
                    .iter()
                    .find(|(o, _)| *o == option)
                    .map_or(&[][..], |(_, a)| a);
                let status = v.text.to_ascii_uppercase();
                if status == "L7OKC" {
                    return Err(Diagnostic::error(
                        v.span,
                        format!("'{option} L7OKC' is not supported by switchyard yet"),
                    ));
                }
                if !allowed.contains(&status.as_str()) {
                    return Err(Diagnostic::error(
                        v.span,
                        format!("invalid {option} '{}'", v.text),
                    )
                    .with_help(format!("expected one of {}", allowed.join(", "))));
                }
                let slot = match option {
                    "ok-status" => &mut expect.ok_status,
                    "error-status" => &mut expect.error_status,
                    _ => &mut expect.tout_status,
                };
                *slot = Some(status);
                i += 2;
                continue;
            }
            _ => {}
        }
        if matcher.is_some() {
            return Err(Diagnostic::error(
                kind.span,
                format!("unexpected word '{}': only one pattern per rule", kind.text),
            )
            .with_help("escape blanks in a pattern with a backslash"));
        }
        let pattern = || -> Result<&Word, Diagnostic> {
            args.get(i + 1).ok_or_else(|| {
                Diagnostic::error(
                    kind.span,
                    format!("'{text}' needs a pattern (missing argument)"),
                )
            })
        };
        let tcp_only = || {
            Diagnostic::error(
                kind.span,
                format!("'{text}' is a tcp-check match, not an http-check one"),
            )
            .with_help("expected status, rstatus, hdr, fhdr, string, rstring or string-lf")
        };
        let http_only = || {
            Diagnostic::error(
                kind.span,
                format!("'{text}' is an http-check match, not a tcp-check one"),
            )
            .with_help("expected string, rstring, string-lf, binary, rbinary or binary-lf")
        };
        let (m, used) = match (text, family) {
            ("status", Family::Http) => (
                ExpectMatcher::Status(parse_status_ranges(pattern()?)?),
                2,
            ),
            ("rstatus", Family::Http) => (ExpectMatcher::RStatus(pattern()?.clone()), 2),
            ("status" | "rstatus" | "hdr" | "fhdr", Family::Tcp) => return Err(http_only()),
            ("string", _) => (ExpectMatcher::String(pattern()?.clone()), 2),
            ("rstring", _) => (ExpectMatcher::RString(pattern()?.clone()), 2),
            ("string-lf", _) => (ExpectMatcher::StringLf(LogFormat::parse(pattern()?)?), 2),
            ("binary" | "rbinary" | "binary-lf", Family::Http) => return Err(tcp_only()),
            ("binary", Family::Tcp) => (ExpectMatcher::Binary(hex(pattern()?)?), 2),
            ("rbinary", Family::Tcp) => (ExpectMatcher::RBinary(pattern()?.clone()), 2),
            ("binary-lf", Family::Tcp) => {
                (ExpectMatcher::BinaryLf(LogFormat::parse(pattern()?)?), 2)
            }
            ("hdr" | "fhdr", Family::Http) => {
                let (m, used) = parse_header_matcher(kind, text == "fhdr", &args[i + 1..])?;
                (m, used + 1)
            }
            ("custom", _) => return Err(not_built(kind, family, "expect")),
            (other, _) => {
                return Err(Diagnostic::error(
                    kind.span,
                    format!("unknown '{} expect' argument '{other}'", family.name()),
                )
                .with_help(match family {
                    Family::Http => "expected min-recv, comment, on-success, on-error, ok-status, error-status, tout-status, or [!] status, rstatus, hdr, fhdr, string, rstring or string-lf",
                    Family::Tcp => "expected min-recv, comment, on-success, on-error, ok-status, error-status, tout-status, or [!] string, rstring, string-lf, binary, rbinary or binary-lf",
                }))
            }
        };
        matcher = Some(m);
        i += used;
    }
    let Some(m) = matcher else {
        return Err(missing_word(
            directive,
            family,
            match family {
                Family::Http => "a match kind and a pattern, e.g. 'http-check expect status 200'",
                Family::Tcp => "a match kind and a pattern, e.g. 'tcp-check expect string +OK'",
            },
        ));
    };
    expect.matcher = m;
    Ok(expect)
}

/// `tcp-check send-binary`/`expect binary`: hexadecimal digits, two per byte.
fn hex(w: &Word) -> Result<Vec<u8>, Diagnostic> {
    crate::ast::check_rule::decode_hex(&w.text).ok_or_else(|| {
        Diagnostic::error(w.span, format!("invalid binary string '{}'", w.text))
            .with_help("write an even number of hexadecimal digits, e.g. 2A0D0A")
    })
}

/// `200`, `200-399`, `200,301,500-599`.
fn parse_status_ranges(w: &Word) -> Result<Vec<(u16, u16)>, Diagnostic> {
    let invalid = || {
        Diagnostic::error(w.span, format!("invalid status codes '{}'", w.text))
            .with_help("write codes or ranges separated by commas, e.g. 200,300-399")
    };
    w.text
        .split(',')
        .map(|part| {
            let (low, high) = part.split_once('-').unwrap_or((part, part));
            let low = low.trim().parse::<u16>().map_err(|_| invalid())?;
            let high = high.trim().parse::<u16>().map_err(|_| invalid())?;
            if low > high {
                return Err(invalid());
            }
            Ok((low, high))
        })
        .collect()
}

/// `name[-lf] [-m M] N [value[-lf] [-m M] V]`: the matcher and the number
/// of words it used (a word after the name pattern other than `value` is
/// the rule's next option, as in HAProxy).
fn parse_header_matcher(
    kind: &Word,
    full: bool,
    rest: &[Word],
) -> Result<(ExpectMatcher, usize), Diagnostic> {
    let mut i = 0;
    let mut part = |what: &str, required: bool| -> Result<Option<HeaderPattern>, Diagnostic> {
        let key = rest
            .get(i)
            .filter(|k| k.text == what || k.text == format!("{what}-lf"));
        let Some(key) = key else {
            return if required {
                Err(Diagnostic::error(
                    kind.span,
                    format!("'{}' needs 'name PATTERN' (missing argument)", kind.text),
                ))
            } else {
                Ok(None)
            };
        };
        let lf = key.text != what;
        i += 1;
        let mut method = MatchMethod::Str;
        if rest.get(i).is_some_and(|w| w.is("-m")) {
            let m = value(rest, i, "a match method")?;
            method = match m.text.as_str() {
                "str" => MatchMethod::Str,
                "beg" => MatchMethod::Beg,
                "end" => MatchMethod::End,
                "sub" => MatchMethod::Sub,
                "reg" => MatchMethod::Reg,
                other => {
                    return Err(Diagnostic::error(
                        m.span,
                        format!("unknown match method '{other}'"),
                    )
                    .with_help("expected str, beg, end, sub or reg"))
                }
            };
            if lf && method == MatchMethod::Reg {
                return Err(Diagnostic::error(
                    m.span,
                    format!("'{what}-lf' cannot be matched with '-m reg'"),
                ));
            }
            i += 2;
        }
        let Some(pattern) = rest.get(i) else {
            return Err(Diagnostic::error(
                key.span,
                format!("'{}' needs a pattern (missing argument)", key.text),
            ));
        };
        i += 1;
        Ok(Some(HeaderPattern {
            method,
            pattern: pattern.clone(),
            format: if lf {
                Some(LogFormat::parse(pattern)?)
            } else {
                None
            },
        }))
    };
    let name = part("name", true)?.expect("required");
    let value = part("value", false)?;
    Ok((ExpectMatcher::Header { full, name, value }, i))
}

//! `http-check connect|send|expect|comment`: the words of one rule into a
//! [`CheckStep`], with HAProxy 2.6's arguments; what Switchyard does not
//! build is refused by name.

use crate::ast::check_rule::{
    CheckConnect, CheckExpect, CheckSend, CheckStep, ExpectMatcher, HeaderPattern, MatchMethod,
};
use crate::ast::log_format::LogFormat;
use crate::ast::proxy::HttpCheckSend;
use crate::diagnostic::Diagnostic;
use crate::reader::RawDirective;
use crate::word::Word;

/// Parses `http-check KIND …` (`kind` is `connect`, `send`, `expect` or
/// `comment`): the step, and the rule's own `comment`.
pub fn parse_http_check(
    directive: &RawDirective,
    kind: &str,
) -> Result<(CheckStep, Option<String>), Diagnostic> {
    let args = &directive.args()[1..];
    let mut comment = None;
    let step = match kind {
        "connect" => CheckStep::Connect(parse_connect(args, &mut comment)?),
        "send" => CheckStep::Send(CheckSend::Http(parse_send(directive, args, &mut comment)?)),
        "expect" => CheckStep::Expect(parse_expect(directive, args, &mut comment)?),
        _ => return parse_comment(directive, args).map(|c| (c, None)),
    };
    Ok((step, comment))
}

fn parse_comment(directive: &RawDirective, args: &[Word]) -> Result<CheckStep, Diagnostic> {
    match args {
        [comment] => Ok(CheckStep::Comment(comment.text.clone())),
        [] => Err(missing_word(directive, "a comment")),
        [_, extra, ..] => Err(Diagnostic::error(
            extra.span,
            format!("unexpected word '{}' after the comment", extra.text),
        )
        .with_help("quote a comment that has blanks")),
    }
}

fn missing_word(directive: &RawDirective, what: &str) -> Diagnostic {
    Diagnostic::error(
        directive.span(),
        format!(
            "'http-check {}' expects {what} (missing argument)",
            directive.args()[0].text
        ),
    )
}

fn not_built(word: &Word, rule: &str) -> Diagnostic {
    Diagnostic::error(
        word.span,
        format!(
            "'http-check {rule} {}' is not supported by switchyard yet",
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

fn port(w: &Word) -> Result<u16, Diagnostic> {
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
                "'http-check connect port {}': a port from a sample expression is not supported by switchyard yet",
                w.text
            ),
        )
        .with_help("write the port as a number")),
    }
}

fn parse_connect(args: &[Word], comment: &mut Option<String>) -> Result<CheckConnect, Diagnostic> {
    let mut c = CheckConnect::default();
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        match w.text.as_str() {
            "default" => c.default = true,
            "send-proxy" => c.send_proxy = true,
            "port" => {
                c.port = Some(port(value(args, i, "a port")?)?);
                i += 1;
            }
            "addr" => {
                let v = value(args, i, "an address")?;
                let (ip, port) = parse_ip_port(v)?;
                c.addr = Some(ip);
                c.addr_port = port;
                i += 1;
            }
            "comment" => {
                *comment = Some(value(args, i, "a string")?.text.clone());
                i += 1;
            }
            "ssl" | "sni" | "alpn" | "linger" | "proto" | "via-socks4" => {
                return Err(not_built(w, "connect"))
            }
            other => {
                return Err(Diagnostic::error(
                    w.span,
                    format!("unknown 'http-check connect' argument '{other}'"),
                )
                .with_help("expected default, port, addr, send-proxy or comment"))
            }
        }
        i += 1;
    }
    Ok(c)
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
    let mut i = 0;
    // Options first, then `[!] MATCH PATTERN…`.
    loop {
        let Some(w) = args.get(i) else {
            return Err(missing_word(
                directive,
                "a match kind and a pattern, e.g. 'http-check expect status 200'",
            ));
        };
        match w.text.as_str() {
            "min-recv" => {
                let v = value(args, i, "a number")?;
                expect.min_recv =
                    v.text
                        .parse::<i64>()
                        .ok()
                        .filter(|n| *n >= -1)
                        .ok_or_else(|| {
                            Diagnostic::error(v.span, format!("invalid min-recv '{}'", v.text))
                                .with_help("a number of bytes, or -1")
                        })?;
            }
            "comment" => *comment = Some(value(args, i, "a string")?.text.clone()),
            "on-success" => {
                expect.on_success = Some(LogFormat::parse(value(args, i, "a log-format")?)?)
            }
            "on-error" => {
                expect.on_error = Some(LogFormat::parse(value(args, i, "a log-format")?)?)
            }
            "status-code" => return Err(not_built(w, "expect")),
            option @ ("ok-status" | "error-status" | "tout-status") => {
                let v = value(args, i, "a check status")?;
                let allowed = STATUSES
                    .iter()
                    .find(|(o, _)| *o == option)
                    .map_or(&[][..], |(_, a)| a);
                if v.text == "L7OKC" {
                    return Err(Diagnostic::error(
                        v.span,
                        format!("'{option} L7OKC' is not supported by switchyard yet"),
                    ));
                }
                if !allowed.contains(&v.text.as_str()) {
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
                *slot = Some(v.text.clone());
            }
            _ => break,
        }
        i += 2;
    }
    if args[i].is("!") {
        expect.negated = true;
        i += 1;
    }
    let Some(kind) = args.get(i) else {
        return Err(missing_word(directive, "a match kind after '!'"));
    };
    let rest = &args[i + 1..];
    let pattern = || -> Result<&Word, Diagnostic> {
        match rest {
            [p] => Ok(p),
            [] => Err(Diagnostic::error(
                kind.span,
                format!("'{}' needs a pattern (missing argument)", kind.text),
            )),
            [_, extra, ..] => Err(Diagnostic::error(
                extra.span,
                format!("unexpected word '{}' after the pattern", extra.text),
            )
            .with_help("escape blanks in a pattern with a backslash")),
        }
    };
    expect.matcher = match kind.text.as_str() {
        "status" => ExpectMatcher::Status(parse_status_ranges(pattern()?)?),
        "rstatus" => ExpectMatcher::RStatus(pattern()?.clone()),
        "string" => ExpectMatcher::String(pattern()?.clone()),
        "rstring" => ExpectMatcher::RString(pattern()?.clone()),
        "string-lf" => ExpectMatcher::StringLf(LogFormat::parse(pattern()?)?),
        "hdr" | "fhdr" => parse_header_matcher(kind, rest)?,
        "custom" | "binary" | "rbinary" | "binary-lf" => return Err(not_built(kind, "expect")),
        other => {
            return Err(Diagnostic::error(
                kind.span,
                format!("unknown 'http-check expect' match '{other}'"),
            )
            .with_help("expected status, rstatus, hdr, fhdr, string, rstring or string-lf"))
        }
    };
    Ok(expect)
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

/// `name[-lf] [-m M] N [value[-lf] [-m M] V]`.
fn parse_header_matcher(kind: &Word, rest: &[Word]) -> Result<ExpectMatcher, Diagnostic> {
    let mut i = 0;
    let mut part = |what: &str, required: bool| -> Result<Option<HeaderPattern>, Diagnostic> {
        let Some(key) = rest.get(i) else {
            return if required {
                Err(Diagnostic::error(
                    kind.span,
                    format!("'{}' needs 'name PATTERN' (missing argument)", kind.text),
                ))
            } else {
                Ok(None)
            };
        };
        let lf = if key.text == what {
            false
        } else if key.text == format!("{what}-lf") {
            true
        } else {
            return Err(Diagnostic::error(
                key.span,
                format!("unexpected word '{}' in 'expect {}'", key.text, kind.text),
            )
            .with_help(format!("expected '{what}' or '{what}-lf'")));
        };
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
    if let Some(extra) = rest.get(i) {
        return Err(Diagnostic::error(
            extra.span,
            format!("unexpected word '{}' after the header pattern", extra.text),
        ));
    }
    Ok(ExpectMatcher::Header {
        full: kind.text == "fhdr",
        name,
        value,
    })
}

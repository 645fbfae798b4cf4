//! `option NAME …` and `no option NAME` in proxy sections.

use crate::ast::proxy::{ForwardFor, HeaderNamePolicy, HttpCheckRequest, OptionSetting, Proxy};
use crate::diagnostic::Diagnostic;
use crate::reader::RawDirective;
use crate::suggest::did_you_mean;

/// On/off options Switchyard implements, with the sections HAProxy allows
/// them in: frontend-side, backend-side, or both.
const SWITCHES: &[(&str, Side)] = &[
    ("dontlognull", Side::Frontend),
    ("httplog", Side::Frontend),
    ("tcplog", Side::Frontend),
    ("redispatch", Side::Backend),
    ("persist", Side::Backend),
    ("allbackups", Side::Backend),
    ("log-health-checks", Side::Backend),
    ("http-keep-alive", Side::Both),
    ("http-server-close", Side::Both),
    ("httpclose", Side::Both),
    ("abortonclose", Side::Backend),
    ("tcpka", Side::Both),
    ("clitcpka", Side::Frontend),
    ("srvtcpka", Side::Backend),
    ("http-ignore-probes", Side::Frontend),
    ("log-separate-errors", Side::Frontend),
    ("prefer-last-server", Side::Backend),
    ("tcp-smart-accept", Side::Frontend),
    ("tcp-smart-connect", Side::Backend),
    ("logasap", Side::Frontend),
];

/// The HTTP connection modes, of which a section has one.
const CONNECTION_MODES: &[&str] = &["http-keep-alive", "http-server-close", "httpclose"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Frontend,
    Backend,
    Both,
}

/// Options HAProxy 2.6 has that Switchyard does not implement yet.
const UNSUPPORTED: &[&str] = &[
    "accept-invalid-http-request",
    "accept-invalid-http-response",
    "checkcache",
    "contstats",
    "disable-h2-upgrade",
    "external-check",
    "h1-case-adjust-bogus-client",
    "h1-case-adjust-bogus-server",
    "http-buffer-request",
    "http-pretend-keepalive",
    "http-use-proxy-header",
    "http_proxy",
    "idle-close-on-response",
    "independent-streams",
    "nolinger",
    "originalto",
    "socket-stats",
    "spop-check",
    "transparent",
    "log-tag",
];

/// Applies `option …` (or `no option …` when `negated`) to `proxy`.
pub fn apply(
    directive: &RawDirective,
    args: &[crate::word::Word],
    negated: bool,
    proxy: &mut Proxy,
) -> Result<(), Diagnostic> {
    let Some((name, rest)) = args.split_first() else {
        return Err(super::missing(directive, "an option name"));
    };
    // `option redispatch <interval>`: the one switch with an argument.
    let rest = match (name.text.as_str(), rest.split_first()) {
        ("redispatch", Some((interval, after))) if !negated => {
            let value = interval.text.parse::<i64>().map_err(|_| {
                Diagnostic::error(
                    interval.span,
                    format!(
                        "'option redispatch' takes an integer interval, not '{}'",
                        interval.text
                    ),
                )
                .with_help("a positive P redispatches every Pth retry, -N the Nth retry before the last, 0 none")
            })?;
            proxy.redispatch_after = Some(value);
            after
        }
        ("redispatch", _) => {
            proxy.redispatch_after = None;
            rest
        }
        _ => rest,
    };
    let span = directive.span();
    let kind = proxy.kind;
    let side_ok = |side: Side| match side {
        Side::Frontend => kind.is_frontend() || kind == crate::ast::proxy::ProxyKind::Defaults,
        Side::Backend => kind.is_backend() || kind == crate::ast::proxy::ProxyKind::Defaults,
        Side::Both => true,
    };
    let extra = |n: usize| -> Result<(), Diagnostic> {
        match rest.get(n) {
            Some(w) => Err(Diagnostic::error(
                w.span,
                format!("unexpected word '{}' after 'option {}'", w.text, name.text),
            )),
            None => Ok(()),
        }
    };
    match name.text.as_str() {
        "forwardfor" => {
            if negated {
                extra(0)?;
                proxy.forwardfor = None;
                return Ok(());
            }
            proxy.forwardfor = Some(parse_forwardfor(rest, span)?);
        }
        "httpchk" => {
            if negated {
                extra(0)?;
                proxy.httpchk = None;
                return Ok(());
            }
            let request = parse_httpchk(rest, span)?;
            crate::keyword::proxy::own_http_check_rules(proxy, true);
            proxy.httpchk = Some(request);
            // One check kind per section: the last one wins.
            proxy.check_option = None;
        }
        "tcp-check" | "redis-check" | "mysql-check" | "pgsql-check" | "smtpchk" | "ldap-check"
        | "ssl-hello-chk" => {
            if negated {
                return Err(Diagnostic::error(
                    name.span,
                    format!(
                        "'no option {}' is not supported (HAProxy refuses it too)",
                        name.text
                    ),
                )
                .with_help("remove the line; another check option replaces this one"));
            }
            if !side_ok(Side::Backend) {
                return Err(Diagnostic::warning(
                    name.span,
                    format!(
                        "'option {}' is ignored in {} '{}', which has no backend side",
                        name.text,
                        kind.keyword(),
                        proxy.name
                    ),
                ));
            }
            let option = check_option(name, rest, span)?;
            proxy.check_option = Some(option);
            proxy.httpchk = None;
        }
        "http-restrict-req-hdr-names" => {
            if negated {
                return Err(Diagnostic::error(
                    name.span,
                    "'no option http-restrict-req-hdr-names' is not an option",
                )
                .with_help("write 'option http-restrict-req-hdr-names preserve' to turn it off"));
            }
            let policy = rest
                .first()
                .ok_or_else(|| super::missing(directive, "preserve, delete or reject"))?;
            extra(1)?;
            proxy.restrict_req_hdr_names = Some(match policy.text.as_str() {
                "preserve" => HeaderNamePolicy::Preserve,
                "delete" => HeaderNamePolicy::Delete,
                "reject" => HeaderNamePolicy::Reject,
                other => {
                    return Err(Diagnostic::error(
                        policy.span,
                        format!(
                            "unknown policy '{other}' for 'option http-restrict-req-hdr-names'"
                        ),
                    )
                    .with_help("use preserve, delete or reject"))
                }
            });
        }
        "httplog" if rest.first().is_some_and(|w| w.is("clf")) => {
            extra(1)?;
            proxy.options.insert(
                "httplog",
                OptionSetting {
                    enabled: !negated,
                    span,
                },
            );
            proxy.options.insert(
                "httplog-clf",
                OptionSetting {
                    enabled: !negated,
                    span,
                },
            );
        }
        "http-no-delay" | "splice-auto" | "splice-request" | "splice-response" => {
            extra(0)?;
            return Err(without_effect(name, negated));
        }
        other => {
            if let Some((key, side)) = SWITCHES.iter().find(|(k, _)| *k == other) {
                extra(0)?;
                if !side_ok(*side) {
                    return Err(Diagnostic::warning(
                        name.span,
                        format!(
                            "'option {other}' is ignored in {} '{}', which has no {} side",
                            kind.keyword(),
                            proxy.name,
                            if *side == Side::Frontend {
                                "frontend"
                            } else {
                                "backend"
                            },
                        ),
                    ));
                }
                if CONNECTION_MODES.contains(key) && !negated {
                    // One mode per section: each replaces the others, as
                    // in HAProxy.
                    proxy.options.retain(|k, _| !CONNECTION_MODES.contains(k));
                }
                if matches!(*key, "httplog" | "tcplog") && !negated {
                    // The two log formats replace each other, as in HAProxy.
                    proxy.options.remove(if *key == "httplog" {
                        "tcplog"
                    } else {
                        "httplog"
                    });
                }
                proxy.options.insert(
                    key,
                    OptionSetting {
                        enabled: !negated,
                        span,
                    },
                );
            } else if UNSUPPORTED.contains(&other) {
                return Err(Diagnostic::error(
                    name.span,
                    format!("'option {other}' is not supported by switchyard yet"),
                )
                .with_help("remove it, or run this configuration with HAProxy"));
            } else {
                let mut known: Vec<&str> = SWITCHES.iter().map(|(k, _)| *k).collect();
                known.extend(["forwardfor", "httpchk", "http-restrict-req-hdr-names"]);
                let diag = Diagnostic::error(name.span, format!("unknown option '{other}'"));
                return Err(match did_you_mean(other, &known) {
                    Some(s) => diag.with_help(format!("did you mean 'option {s}'?")),
                    None => diag.with_help(format!("the options are: {}", known.join(", "))),
                });
            }
        }
    }
    Ok(())
}

/// The options that tune how HAProxy moves bytes, which Switchyard's way
/// of moving them makes moot: accepted with a warning that says why.
fn without_effect(name: &crate::word::Word, negated: bool) -> Diagnostic {
    let why = if name.is("http-no-delay") {
        "switchyard never delays data to merge it into fuller packets: both its client and server sockets have TCP_NODELAY and it sends without MSG_MORE, which is what this option asks of HAProxy"
    } else {
        "switchyard copies data through its own buffers and never uses the kernel's splice(); what is forwarded is the same, only HAProxy's copy mechanism is not there to choose"
    };
    let written = if negated { "no option" } else { "option" };
    Diagnostic::warning(
        name.span,
        format!("'{written} {}' has no effect: {why}", name.text),
    )
    .with_help("remove the line; switchyard behaves the same without it")
}

/// `option tcp-check`, `redis-check`, `mysql-check [user U [post-41|pre-41]]`,
/// `pgsql-check user U`, `smtpchk [HELO|EHLO DOMAIN]`, `ldap-check`,
/// `ssl-hello-chk`, with HAProxy 2.6's arguments.
fn check_option(
    name: &crate::word::Word,
    rest: &[crate::word::Word],
    span: crate::span::Span,
) -> Result<crate::ast::check_rule::CheckOption, Diagnostic> {
    use crate::ast::check_rule::CheckOption;
    let at_most = |n: usize| -> Result<(), Diagnostic> {
        match rest.get(n) {
            Some(w) => Err(Diagnostic::error(
                w.span,
                format!("unexpected word '{}' after 'option {}'", w.text, name.text),
            )),
            None => Ok(()),
        }
    };
    let user = |what: &str| -> Result<String, Diagnostic> {
        match rest {
            [u, v, ..] if u.is("user") => Ok(v.text.clone()),
            [u] if u.is("user") => Err(Diagnostic::error(
                u.span,
                format!(
                    "'option {} user' needs a user name (missing argument)",
                    name.text
                ),
            )),
            [other, ..] => Err(Diagnostic::error(
                other.span,
                format!(
                    "unexpected word '{}' after 'option {}'",
                    other.text, name.text
                ),
            )
            .with_help(format!("write 'option {} user NAME'", name.text))),
            [] => Err(Diagnostic::error(
                span,
                format!("'option {}' {what}", name.text),
            )),
        }
    };
    Ok(match name.text.as_str() {
        "tcp-check" => {
            at_most(0)?;
            CheckOption::Tcp
        }
        "redis-check" => {
            at_most(0)?;
            CheckOption::Redis
        }
        "ldap-check" => {
            at_most(0)?;
            CheckOption::Ldap
        }
        "ssl-hello-chk" => {
            at_most(0)?;
            CheckOption::SslHello
        }
        "pgsql-check" => {
            let user = user("expects 'user <username>' (missing argument)")?;
            at_most(2)?;
            CheckOption::Pgsql { user }
        }
        "mysql-check" => {
            if rest.is_empty() {
                return Ok(CheckOption::Mysql {
                    user: None,
                    post41: true,
                });
            }
            let user = user("")?;
            let post41 = match rest.get(2) {
                None => true,
                Some(w) if w.is("post-41") => true,
                Some(w) if w.is("pre-41") => false,
                Some(w) => {
                    return Err(Diagnostic::error(
                        w.span,
                        format!("unknown 'option mysql-check' argument '{}'", w.text),
                    )
                    .with_help("expected post-41 or pre-41"))
                }
            };
            at_most(3)?;
            CheckOption::Mysql {
                user: Some(user),
                post41,
            }
        }
        _ => {
            // smtpchk: `HELO|EHLO DOMAIN`, else HAProxy's `HELO localhost`.
            at_most(2)?;
            let command = match rest {
                [verb, domain] if verb.is("HELO") || verb.is("EHLO") => {
                    format!("{} {}", verb.text, domain.text)
                }
                _ => "HELO localhost".to_owned(),
            };
            CheckOption::Smtp { command }
        }
    })
}

fn parse_forwardfor(
    rest: &[crate::word::Word],
    span: crate::span::Span,
) -> Result<ForwardFor, Diagnostic> {
    let mut ff = ForwardFor {
        except: None,
        header: "X-Forwarded-For".into(),
        if_none: false,
        span,
    };
    let mut i = 0;
    while i < rest.len() {
        let w = &rest[i];
        match w.text.as_str() {
            "except" | "header" => {
                let v = rest.get(i + 1).ok_or_else(|| {
                    Diagnostic::error(
                        w.span,
                        format!("'{}' expects a value (missing argument)", w.text),
                    )
                })?;
                if w.text == "except" {
                    crate::ast::value::parse_network(v)?;
                    ff.except = Some(v.clone());
                } else {
                    ff.header = v.text.clone();
                }
                i += 2;
            }
            "if-none" => {
                ff.if_none = true;
                i += 1;
            }
            _ => {
                return Err(Diagnostic::error(
                    w.span,
                    format!("unknown 'option forwardfor' argument '{}'", w.text),
                )
                .with_help("the arguments are 'except NETWORK', 'header NAME' and 'if-none'"))
            }
        }
    }
    Ok(ff)
}

fn parse_httpchk(
    rest: &[crate::word::Word],
    span: crate::span::Span,
) -> Result<HttpCheckRequest, Diagnostic> {
    let mut check = HttpCheckRequest::bare(span);
    match rest {
        [] => {}
        [uri] => check.uri = uri.text.clone(),
        [method, uri] => {
            check.method = method.text.clone();
            check.uri = uri.text.clone();
        }
        [method, uri, version, ..] => {
            check.method = method.text.clone();
            check.uri = uri.text.clone();
            // The legacy form smuggles headers after the version:
            // "HTTP/1.1\r\nHost:\ www.example.com".
            let mut lines = version.text.split("\r\n");
            check.version = lines.next().unwrap_or_default().to_owned();
            for header in lines {
                if let Some((name, value)) = header.split_once(':') {
                    check
                        .headers
                        .push((name.trim().to_owned(), value.trim().to_owned()));
                }
            }
            if let Some(extra) = rest.get(3) {
                return Err(Diagnostic::error(
                    extra.span,
                    format!("unexpected word '{}' after 'option httpchk'", extra.text),
                )
                .with_help("use 'http-check send hdr NAME VALUE' to add headers"));
            }
        }
    }
    if !check.version.starts_with("HTTP/") {
        let w = &rest[2];
        return Err(
            Diagnostic::error(w.span, format!("invalid HTTP version '{}'", w.text))
                .with_help("write HTTP/1.0 or HTTP/1.1"),
        );
    }
    Ok(check)
}

#[cfg(test)]
mod switch_names {
    use super::SWITCHES;
    use crate::ast::proxy::Switch;

    #[test]
    fn every_typed_switch_is_in_the_keyword_table_and_back() {
        for switch in Switch::ALL {
            if switch == Switch::HttpLogClf {
                // Set by `option httplog clf`, not a keyword of its own.
                continue;
            }
            assert!(
                SWITCHES.iter().any(|(name, _)| *name == switch.name()),
                "{switch:?} is not in SWITCHES"
            );
        }
        for (name, _) in SWITCHES {
            assert!(
                Switch::ALL.iter().any(|s| s.name() == *name),
                "option {name} has no Switch"
            );
        }
    }
}

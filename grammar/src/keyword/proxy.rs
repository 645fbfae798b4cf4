//! Directives of `defaults`, `frontend`, `backend` and `listen` sections.

use crate::ast::acl::{AclDef, AclExpr};
use crate::ast::address::AddressUse;
use crate::ast::bind::Bind;
use crate::ast::condition::{split_condition, Condition};
use crate::ast::http_rule::{Direction, HttpRule};
use crate::ast::log::{LogFormatSetting, LogTarget};
use crate::ast::log_format::LogFormat;
use crate::ast::proxy::*;
use crate::ast::server::{self, Server};
use crate::ast::tcp_rule::{TcpRule, TcpRuleStage};
use crate::ast::value::{parse_time, parse_time_seconds, parse_uint};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::keyword::haproxy_keywords::{Allowed, PROXY_KEYWORDS};
use crate::keyword::{missing, no_extra, options, unknown_keyword};
use crate::reader::RawDirective;
use crate::word::Word;

/// Applies every directive of a proxy section to `proxy`.
pub fn apply_all(directives: &[RawDirective], proxy: &mut Proxy, diags: &mut Diagnostics) {
    for directive in directives {
        warn_out_of_order(directive, proxy, diags);
        match apply(directive, proxy) {
            Err(diag) => diags.push(diag),
            Ok(()) => tls_warnings(directive, proxy, diags),
        }
    }
}

/// HAProxy's warning for rules written after the switching rules, which
/// still run before them: the file reads in one order, runs in another.
fn warn_out_of_order(directive: &RawDirective, proxy: &Proxy, diags: &mut Diagnostics) {
    let kw = directive.keyword();
    let connection_rule =
        kw.is("tcp-request") && directive.args().first().is_some_and(|w| w.is("connection"));
    if connection_rule && !proxy.tcp_request_content.is_empty() {
        diags.push(
            Diagnostic::warning(
                kw.span,
                "a 'tcp-request' rule placed after a 'tcp-request content' rule will still be processed before",
            )
            .with_help("move the 'tcp-request connection' rules above the 'tcp-request content' rules"),
        );
    }
    if proxy.use_backends.is_empty() || !(kw.is("http-request") || kw.is("redirect")) {
        return;
    }
    diags.push(
        Diagnostic::warning(
            kw.span,
            format!(
                "a '{}' rule placed after a 'use_backend' rule will still be processed before",
                kw.text
            ),
        )
        .with_help("move it above the use_backend rules so the file reads in the order it runs"),
    );
}

/// The HAProxy keyword a directive is an instance of: two words for
/// families such as `timeout client` or `stats uri`, else one.
fn haproxy_keyword(words: &[Word]) -> Option<(&'static str, Allowed)> {
    // Longest match first: `capture request header`, `timeout client`, `acl`.
    PROXY_KEYWORDS
        .iter()
        .filter(|(k, _)| {
            let parts = k.split(' ');
            parts.clone().count() <= words.len() && parts.zip(words).all(|(p, w)| p == w.text)
        })
        .max_by_key(|(k, _)| k.len())
        .copied()
}

/// Rules HAProxy 2.6 accepts only in named defaults sections (and then
/// copies into the proxies that use them with `from`).
const RULES_NOT_INHERITED: &[&str] = &[
    "acl",
    "http-request",
    "http-response",
    "http-after-response",
    "tcp-request connection",
    "tcp-request content",
    "tcp-request session",
    "tcp-request inspect-delay",
    "tcp-response content",
    "tcp-response inspect-delay",
];

/// An unknown keyword, or an unknown member of a family such as
/// `option X`, `timeout X` or `stats X`, with the nearest known name.
fn unknown_in_family(directive: &RawDirective, section: &str) -> Diagnostic {
    let words = &directive.words;
    let family = format!("{} ", words[0].text);
    let members: Vec<&str> = PROXY_KEYWORDS
        .iter()
        .filter_map(|(k, _)| k.strip_prefix(family.as_str()))
        .collect();
    // `tcp-check set-var(check.x) …`: a known member with its argument.
    if let Some((sub, head)) = words
        .get(1)
        .and_then(|w| Some((w, w.text.split_once('(')?.0)))
        .filter(|(_, head)| members.contains(head))
    {
        return Diagnostic::error(
            sub.span,
            format!("'{}{head}' is not supported by switchyard yet", family),
        )
        .with_help("remove it, or run this configuration with HAProxy");
    }
    match words.get(1) {
        Some(sub) if !members.is_empty() => {
            let diag = Diagnostic::error(
                sub.span,
                format!("unknown {} '{}'", words[0].text, sub.text),
            );
            match crate::suggest::did_you_mean(&sub.text, &members) {
                Some(s) => diag.with_help(format!("did you mean '{family}{s}'?")),
                None => diag.with_help(format!("the known ones are: {}", members.join(", "))),
            }
        }
        None if !members.is_empty() => {
            missing(directive, &format!("one of: {}", members.join(", ")))
        }
        _ => {
            let firsts: Vec<&str> = PROXY_KEYWORDS
                .iter()
                .map(|(k, _)| k.split(' ').next().unwrap_or(k))
                .collect();
            unknown_keyword(directive, section, &firsts)
        }
    }
}

fn allowed_in(allowed: Allowed, kind: ProxyKind) -> bool {
    match kind {
        ProxyKind::Defaults => allowed.defaults,
        ProxyKind::Frontend => allowed.frontend,
        ProxyKind::Backend => allowed.backend,
        ProxyKind::Listen => allowed.listen,
    }
}

fn where_allowed(allowed: Allowed) -> String {
    let mut places = Vec::new();
    for (ok, name) in [
        (allowed.defaults, "defaults"),
        (allowed.frontend, "frontend"),
        (allowed.listen, "listen"),
        (allowed.backend, "backend"),
    ] {
        if ok {
            places.push(name);
        }
    }
    places.join(", ")
}

/// What a `bind`, `server` or `default-server` line just read asks of
/// TLS that rustls does not have (see [`TlsPolicy::warnings`]).
///
/// [`TlsPolicy::warnings`]: crate::ast::tls::TlsPolicy::warnings
fn tls_warnings(directive: &RawDirective, proxy: &Proxy, diags: &mut Diagnostics) {
    let policy = match directive.keyword().text.as_str() {
        "bind" => proxy.binds.last().map(|b| b.options.tls.clone()),
        "server" => proxy.servers.last().map(|s| s.options.tls.clone()),
        "default-server" => server::parse_options(directive.args()).ok().map(|o| o.tls),
        _ => None,
    };
    for warning in policy.iter().flat_map(|p| p.warnings()) {
        diags.push(warning);
    }
}

fn apply(directive: &RawDirective, proxy: &mut Proxy) -> Result<(), Diagnostic> {
    let words = &directive.words;
    let kw = &words[0];
    // `no option X` / `default option X`.
    if (kw.is("no") || kw.is("default")) && words.get(1).is_some_and(|w| w.is("option")) {
        if kw.is("default") {
            return Err(Diagnostic::error(
                kw.span,
                "'default option' is not supported by switchyard yet",
            )
            .with_help("write the option's value explicitly"));
        }
        return options::apply(directive, &words[2..], true, proxy);
    }
    // `no log`: the proxy logs nowhere, whatever its defaults say.
    if kw.is("no") && words.get(1).is_some_and(|w| w.is("log")) {
        if let Some(extra) = words.get(2) {
            return Err(Diagnostic::error(
                extra.span,
                format!("unexpected word '{}' after 'no log'", extra.text),
            ));
        }
        proxy.logs = Default::default();
        return Ok(());
    }
    // Removed from HAProxy 2.5; 2.6 names its replacement.
    if kw.is("monitor-net") {
        let net = words.get(1).map_or("", |w| w.text.as_str());
        return Err(Diagnostic::error(
            kw.span,
            format!("'monitor-net' doesn't exist anymore. Please use 'http-request return status 200 if {{ src {net} }}' instead."),
        )
        .with_help("or 'monitor-uri' for a health URI"));
    }
    let section = proxy.kind.keyword();
    let Some((name, allowed)) = haproxy_keyword(words) else {
        return Err(unknown_in_family(directive, section));
    };
    if !allowed_in(allowed, proxy.kind) {
        let help = format!("'{name}' belongs in: {}", where_allowed(allowed));
        // HAProxy refuses misplaced keywords in defaults sections and
        // misplaced server lines; other keywords on the wrong side of a
        // proxy are ignored with a warning, as here.
        if matches!(name, "tcp-request connection" | "tcp-request session") {
            return Err(Diagnostic::error(
                kw.span.to(words[1].span),
                format!(
                    "{name} is not allowed because {section} {} is not a frontend",
                    proxy.name
                ),
            )
            .with_help(help));
        }
        if proxy.kind == ProxyKind::Defaults || matches!(name, "server" | "default-server") {
            return Err(Diagnostic::error(
                kw.span,
                format!("'{name}' is not allowed in '{section}' sections"),
            )
            .with_help(help));
        }
        let missing = if proxy.kind.is_frontend() {
            "backend"
        } else {
            "frontend"
        };
        return Err(Diagnostic::warning(
            kw.span,
            format!(
                "'{name}' ignored because {section} '{}' has no {missing} capability",
                proxy.name
            ),
        )
        .with_help(help));
    }
    if proxy.kind == ProxyKind::Defaults && RULES_NOT_INHERITED.contains(&name) {
        if proxy.name.is_empty() {
            return Err(Diagnostic::error(kw.span, format!("'{name}' not allowed in anonymous 'defaults' section"))
                .with_help("name the defaults section and use it with 'from', or move the line into each frontend"));
        }
        // A named defaults section may hold TCP/HTTP rules (run before
        // those of each proxy using it), but no ACLs, as in HAProxy.
        if name == "acl" {
            return Err(
                Diagnostic::error(kw.span, "'acl' not allowed in 'defaults' section")
                    .with_help("use an anonymous ACL in the rule, e.g. 'if { path_beg /api }'"),
            );
        }
    }
    let args = directive.args();
    match name {
        "mode" => proxy.mode = Some(Spanned::new(parse_mode(directive)?, directive.span())),
        "bind" => proxy.binds.push(Bind::parse(kw, args, AddressUse::Bind)?),
        "acl" => proxy.acls.push(parse_acl(directive)?),
        "http-request" => {
            let mut rule = HttpRule::parse(kw, args, Direction::Request)?;
            let frontend = proxy.kind.is_frontend();
            crate::ast::capture::number_new_slot(&mut rule, &mut proxy.captures, frontend)?;
            proxy.http_request.push(rule)
        }
        "http-response" => {
            proxy
                .http_response
                .push(HttpRule::parse(kw, args, Direction::Response)?)
        }
        "http-after-response" => {
            proxy
                .http_after_response
                .push(HttpRule::parse(kw, args, Direction::AfterResponse)?)
        }
        "redirect" => proxy
            .redirects
            .push(HttpRule::parse_legacy_redirect(kw, args)?),
        "tcp-request connection" | "tcp-request content" => {
            let stage = if name == "tcp-request connection" {
                TcpRuleStage::Connection
            } else {
                TcpRuleStage::Content
            };
            let rule = TcpRule::parse(kw, &words[1], stage, &words[2..])?;
            match stage {
                TcpRuleStage::Connection => proxy.tcp_request_connection.push(rule),
                TcpRuleStage::Content => proxy.tcp_request_content.push(rule),
            }
        }
        "tcp-request inspect-delay" => {
            let t = words
                .get(2)
                .ok_or_else(|| missing(directive, "a time, e.g. 'inspect-delay 5s'"))?;
            no_extra(directive, 2)?;
            proxy.tcp_inspect_delay = Some(Spanned::new(parse_time(t)?, directive.span()));
        }
        "use_backend" => proxy.use_backends.push(parse_use_backend(directive)?),
        "default_backend" => {
            let target = args
                .first()
                .ok_or_else(|| missing(directive, "a backend name"))?;
            no_extra(directive, 1)?;
            proxy.default_backend = Some(target.clone());
        }
        "server" => proxy.servers.push(Server::parse(kw, args)?),
        "dispatch" => {
            let [address] = args else {
                return Err(match args.get(1) {
                    Some(extra) => Diagnostic::error(
                        extra.span,
                        format!("unexpected word '{}' after 'dispatch'", extra.text),
                    ),
                    None => missing(
                        directive,
                        "an address and port, e.g. 'dispatch 10.0.0.1:80'",
                    ),
                });
            };
            // A server named `dispatch` at that address (see
            // `Proxy::apply_dispatch`).
            let name = Word::new("dispatch".to_owned(), kw.span);
            proxy.dispatch = Some(Server::parse(kw, &[name, address.clone()])?);
        }
        "default-server" => {
            let parsed = server::parse_options(args)?;
            proxy.default_server = parsed.over(&proxy.default_server);
        }
        "balance" => {
            proxy.balance = Some(Spanned::new(parse_balance(directive)?, directive.span()))
        }
        "hash-type" => {
            proxy.hash_type = Some(Spanned::new(parse_hash_type(directive)?, directive.span()))
        }
        "cookie" => proxy.cookie = Some(parse_cookie(directive)?),
        _ if name == "option" || name.starts_with("option ") => {
            options::apply(directive, args, false, proxy)?
        }
        "retries" => {
            let n = args
                .first()
                .ok_or_else(|| missing(directive, "a number of retries"))?;
            no_extra(directive, 1)?;
            proxy.retries = Some(Spanned::new(
                parse_uint(n, "retries", 1000)?,
                directive.span(),
            ));
        }
        "clitcpka-idle" | "clitcpka-intvl" | "clitcpka-cnt" | "srvtcpka-idle"
        | "srvtcpka-intvl" | "srvtcpka-cnt" => {
            let value = args.first().ok_or_else(|| missing(directive, "a value"))?;
            no_extra(directive, 1)?;
            let (side, setting) = name.split_once('-').expect("matched with a dash");
            let tuning = if side == "clitcpka" {
                &mut proxy.client_tcpka
            } else {
                &mut proxy.server_tcpka
            };
            match setting {
                "idle" => tuning.idle = Some(parse_time_seconds(value)?),
                "intvl" => tuning.interval = Some(parse_time_seconds(value)?),
                _ => tuning.count = Some(parse_uint(value, name, i32::MAX as u64)? as u32),
            }
        }
        "http-reuse" => {
            let mode = args
                .first()
                .ok_or_else(|| missing(directive, "never, safe, aggressive or always"))?;
            no_extra(directive, 1)?;
            let policy = match mode.text.as_str() {
                "never" => HttpReuse::Never,
                "safe" => HttpReuse::Safe,
                "aggressive" => HttpReuse::Aggressive,
                "always" => HttpReuse::Always,
                other => {
                    return Err(Diagnostic::error(
                        mode.span,
                        format!("unknown http-reuse mode '{other}'"),
                    )
                    .with_help("use never, safe, aggressive or always"))
                }
            };
            proxy.http_reuse = Some(Spanned::new(policy, directive.span()));
        }
        "retry-on" => {
            proxy.retry_on = Some(Spanned::new(parse_retry_on(directive)?, directive.span()))
        }
        "maxconn" | "fullconn" => {
            let n = args
                .first()
                .ok_or_else(|| missing(directive, "a number of connections"))?;
            no_extra(directive, 1)?;
            let value = Some(Spanned::new(
                parse_uint(n, name, i32::MAX as u64)?,
                directive.span(),
            ));
            if name == "maxconn" {
                proxy.maxconn = value
            } else {
                proxy.fullconn = value
            }
        }
        "errorfile" => {
            let file = parse_errorfile(directive)?;
            proxy.forget_error_message(file.status);
            proxy.errorfiles.push(file);
        }
        "http-error" => crate::keyword::http_error::apply(directive, proxy)?,
        "errorfiles" => {
            let Some((name, codes)) = args.split_first() else {
                return Err(missing(directive, "the name of an http-errors section"));
            };
            let codes = codes
                .iter()
                .map(errorfile_code)
                .collect::<Result<Vec<u16>, Diagnostic>>()?;
            for code in &codes {
                proxy.forget_error_message(*code);
            }
            proxy.errorfile_imports.push(ErrorFilesImport {
                at: proxy.errorfiles.len(),
                name: name.clone(),
                codes,
                http_errors_before: proxy.http_errors.len(),
                overridden: Vec::new(),
            });
        }
        "monitor-uri" => {
            let uri = args.first().ok_or_else(|| {
                Diagnostic::error(kw.span, "'monitor-uri' expects an URI")
                    .with_help("e.g. 'monitor-uri /healthz'")
            })?;
            no_extra(directive, 1)?;
            proxy.monitor_uri = Some(uri.clone());
        }
        "monitor fail" => {
            let condition =
                match args.get(1) {
                    Some(w) if w.is("if") || w.is("unless") => Condition::parse(w, &args[2..])?,
                    _ => return Err(Diagnostic::error(
                        kw.span.to(args[0].span),
                        "'monitor fail' requires either 'if' or 'unless' followed by a condition",
                    )
                    .with_help("e.g. 'monitor fail if { nbsrv(app) lt 1 }'")),
                };
            proxy.monitor_fail.push(condition);
        }
        "force-persist" | "ignore-persist" => {
            let (before, condition) = split_condition(args)?;
            let condition = condition
                .ok_or_else(|| missing(directive, "a condition ('if …' or 'unless …')"))?;
            if let Some(w) = before.first() {
                return Err(Diagnostic::error(
                    w.span,
                    format!("unexpected word '{}' before the condition", w.text),
                ));
            }
            if name == "force-persist" {
                proxy.force_persist.push(condition)
            } else {
                proxy.ignore_persist.push(condition)
            }
        }
        "log" => parse_log(directive, proxy)?,
        "capture request header"
        | "capture response header"
        | "capture cookie"
        | "declare capture" => {
            if let Some(warning) = proxy.captures.apply(name, words)? {
                return Err(warning);
            }
        }
        "log-format" => {
            let f = args
                .first()
                .ok_or_else(|| missing(directive, "a format string"))?;
            no_extra(directive, 1)?;
            proxy.log_format = Some(LogFormatSetting {
                format: LogFormat::parse(f)?,
                span: directive.span(),
            });
        }
        "description" => {
            proxy.description = Some(args.iter().map(Word::as_str).collect::<Vec<_>>().join(" "))
        }
        "disabled" => proxy.disabled = true,
        "enabled" => proxy.disabled = false,
        "id" => {
            let n = args
                .first()
                .ok_or_else(|| missing(directive, "a numeric id"))?;
            proxy.id = Some(parse_uint(n, "proxy id", i32::MAX as u64)?);
        }
        "http-check expect" | "http-check send" | "http-check connect" | "http-check comment" => {
            let (step, comment) =
                crate::keyword::check_rules::parse_http_check(directive, &name[11..])?;
            own_http_check_rules(proxy, false);
            proxy
                .http_check_rules
                .push(crate::ast::check_rule::CheckRule {
                    step,
                    comment,
                    span: directive.span(),
                });
        }
        "tcp-check expect"
        | "tcp-check send"
        | "tcp-check send-lf"
        | "tcp-check send-binary"
        | "tcp-check send-binary-lf"
        | "tcp-check connect"
        | "tcp-check comment" => {
            let (step, comment) =
                crate::keyword::check_rules::parse_tcp_check(directive, &name[10..])?;
            if !proxy.tcp_check_own {
                // The first rule of a section replaces the inherited ones.
                proxy.tcp_check_own = true;
                proxy.tcp_check_rules.clear();
            }
            proxy
                .tcp_check_rules
                .push(crate::ast::check_rule::CheckRule {
                    step,
                    comment,
                    span: directive.span(),
                });
        }
        "http-check disable-on-404" => {
            if let Some(extra) = directive.args().get(1) {
                return Err(Diagnostic::error(
                    extra.span,
                    format!(
                        "unexpected word '{}' after 'http-check disable-on-404'",
                        extra.text
                    ),
                ));
            }
            proxy.http_check_disable_on_404 = true;
        }
        // HAProxy's option flag, inherited on its own (not with the rules).
        "http-check send-state" => {
            if let Some(extra) = directive.args().get(1) {
                return Err(Diagnostic::error(
                    extra.span,
                    format!(
                        "unexpected word '{}' after 'http-check send-state'",
                        extra.text
                    ),
                ));
            }
            proxy.http_check_send_state = true;
        }
        _ if name.starts_with("timeout ") => parse_timeout(directive, &name[8..], proxy)?,
        _ if name.starts_with("stats ") => {
            crate::keyword::proxy_stats::apply(directive, &name[6..], proxy)?
        }
        _ => {
            return Err(Diagnostic::error(
                kw.span.to(words
                    .get(1)
                    .filter(|_| name.contains(' '))
                    .map(|w| w.span)
                    .unwrap_or(kw.span)),
                format!("'{name}' is not supported by switchyard yet"),
            )
            .with_help("remove it, or run this configuration with HAProxy"));
        }
    }
    Ok(())
}

fn parse_mode(directive: &RawDirective) -> Result<Mode, Diagnostic> {
    let w = directive
        .args()
        .first()
        .ok_or_else(|| missing(directive, "'http' or 'tcp'"))?;
    no_extra(directive, 1)?;
    match w.text.as_str() {
        "http" => Ok(Mode::Http),
        "tcp" => Ok(Mode::Tcp),
        "forwardfor" => Err(Diagnostic::error(w.span, "unknown proxy mode 'forwardfor'")
            .with_help("the modes are 'http' and 'tcp'; to add X-Forwarded-For, write 'mode http' and 'option forwardfor'")),
        "health" => Err(Diagnostic::error(w.span, "unknown proxy mode 'health' (removed from HAProxy 2.4)")
            .with_help("use 'monitor-uri' in an HTTP frontend instead")),
        "log" => Err(Diagnostic::error(w.span, "proxy mode 'log' is not supported by switchyard yet")),
        other => Err(Diagnostic::error(w.span, format!("unknown proxy mode '{other}'")).with_help("the modes are 'http' and 'tcp'")),
    }
}

fn parse_acl(directive: &RawDirective) -> Result<AclDef, Diagnostic> {
    let args = directive.args();
    let name = args
        .first()
        .ok_or_else(|| missing(directive, "a name, a fetch and patterns"))?;
    if name.text.is_empty()
        || !name
            .text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    {
        return Err(
            Diagnostic::error(name.span, format!("invalid ACL name '{}'", name.text))
                .with_help("ACL names use letters, digits, '-', '_', '.' and ':'"),
        );
    }
    if args.len() < 2 {
        return Err(missing(directive, "a fetch after the ACL name"));
    }
    Ok(AclDef {
        name: name.clone(),
        expr: AclExpr::parse(&args[1..])?,
    })
}

fn parse_use_backend(directive: &RawDirective) -> Result<UseBackend, Diagnostic> {
    let (target_words, condition) = split_condition(directive.args())?;
    let target = match target_words {
        [t] => t,
        [] => return Err(missing(directive, "a backend name")),
        [_, extra, ..] => {
            return Err(Diagnostic::error(
                extra.span,
                format!("unexpected word '{}' after the backend name", extra.text),
            )
            .with_help("a condition starts with 'if' or 'unless'"))
        }
    };
    let target = if target.text.contains('%') {
        BackendTarget::Dynamic(LogFormat::parse(target)?)
    } else {
        BackendTarget::Named(target.clone())
    };
    Ok(UseBackend {
        target,
        condition,
        span: directive.span(),
    })
}

fn parse_balance(directive: &RawDirective) -> Result<BalanceAlgorithm, Diagnostic> {
    let args = directive.args();
    let w = args
        .first()
        .ok_or_else(|| missing(directive, "an algorithm"))?;
    let rest = &args[1..];
    let none_after = |n: usize| match rest.get(n) {
        Some(x) => Err(Diagnostic::error(
            x.span,
            format!("unexpected word '{}' after 'balance {}'", x.text, w.text),
        )),
        None => Ok(()),
    };
    let algo = match w.text.as_str() {
        "roundrobin" => BalanceAlgorithm::RoundRobin,
        "static-rr" => BalanceAlgorithm::StaticRr,
        "leastconn" => BalanceAlgorithm::LeastConn,
        "first" => BalanceAlgorithm::First,
        "source" => BalanceAlgorithm::Source,
        "uri" => {
            let (mut whole, mut len, mut depth, mut path_only) = (false, None, None, false);
            let mut i = 0;
            while i < rest.len() {
                match rest[i].text.as_str() {
                    "whole" => whole = true,
                    "path-only" => path_only = true,
                    "len" | "depth" => {
                        let v = rest.get(i + 1).ok_or_else(|| Diagnostic::error(rest[i].span, format!("'{}' expects a number (missing argument)", rest[i].text)))?;
                        let n = Some(parse_uint(v, &rest[i].text, u32::MAX as u64)?);
                        if rest[i].text == "len" { len = n } else { depth = n }
                        i += 1;
                    }
                    _ => return Err(Diagnostic::error(rest[i].span, format!("unknown 'balance uri' option '{}'", rest[i].text))
                        .with_help("the options are whole, len N, depth N and path-only")),
                }
                i += 1;
            }
            BalanceAlgorithm::Uri { whole, len, depth, path_only }
        }
        "url_param" => {
            let name = rest.first().ok_or_else(|| missing(directive, "a parameter name after 'url_param'"))?;
            if let Some(x) = rest.get(1) {
                return Err(Diagnostic::error(x.span, format!("'balance url_param' option '{}' is not supported by switchyard yet", x.text)));
            }
            BalanceAlgorithm::UrlParam { name: name.text.clone() }
        }
        t if t.starts_with("hdr(") && t.ends_with(')') && t.len() > 5 => {
            let use_domain_only = match rest {
                [] => false,
                [x] if x.is("use_domain_only") => true,
                [x, ..] => return Err(Diagnostic::error(x.span, format!("unknown 'balance hdr' option '{}'", x.text))
                    .with_help("the option is 'use_domain_only'")),
            };
            BalanceAlgorithm::Hdr { name: t[4..t.len() - 1].to_owned(), use_domain_only }
        }
        t if t == "random" || (t.starts_with("random(") && t.ends_with(')')) => {
            none_after(0)?;
            let draws = if t == "random" { 2 } else {
                t[7..t.len() - 1].parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    Diagnostic::error(w.span, format!("invalid draw count in '{t}'")).with_help("write random or random(N) with N ≥ 1")
                })?
            };
            BalanceAlgorithm::Random { draws }
        }
        t if t.starts_with("rdp-cookie") || t == "hash" || t.starts_with("url_param(") => {
            return Err(Diagnostic::error(w.span, format!("balance algorithm '{t}' is not supported by switchyard yet")))
        }
        other => return Err(Diagnostic::error(w.span, format!("unknown balance algorithm '{other}'")).with_help(
            "the algorithms are roundrobin, static-rr, leastconn, first, source, uri, url_param NAME, hdr(NAME) and random",
        )),
    };
    if !matches!(
        algo,
        BalanceAlgorithm::Uri { .. }
            | BalanceAlgorithm::UrlParam { .. }
            | BalanceAlgorithm::Hdr { .. }
    ) {
        none_after(0)?;
    }
    Ok(algo)
}

fn parse_hash_type(directive: &RawDirective) -> Result<HashType, Diagnostic> {
    let args = directive.args();
    let method = args
        .first()
        .ok_or_else(|| missing(directive, "'map-based' or 'consistent'"))?;
    let mut ht = HashType {
        method: match method.text.as_str() {
            "map-based" => HashMethod::MapBased,
            "consistent" => HashMethod::Consistent,
            _ => {
                return Err(Diagnostic::error(
                    method.span,
                    format!("unknown hash method '{}'", method.text),
                )
                .with_help("use map-based or consistent"))
            }
        },
        ..HashType::default()
    };
    for (i, w) in args[1..].iter().enumerate() {
        match (i, w.text.as_str()) {
            (0, "sdbm") => ht.function = HashFunction::Sdbm,
            (0, "djb2") => ht.function = HashFunction::Djb2,
            (0, "wt6") => ht.function = HashFunction::Wt6,
            (0, "crc32") => ht.function = HashFunction::Crc32,
            (_, "avalanche") => ht.avalanche = true,
            _ => {
                return Err(Diagnostic::error(
                    w.span,
                    format!("unknown hash-type argument '{}'", w.text),
                )
                .with_help(
                    "write 'hash-type map-based|consistent [sdbm|djb2|wt6|crc32] [avalanche]'",
                ))
            }
        }
    }
    Ok(ht)
}

fn parse_cookie(directive: &RawDirective) -> Result<CookieSettings, Diagnostic> {
    let args = directive.args();
    let name = args
        .first()
        .ok_or_else(|| missing(directive, "a cookie name and a mode"))?;
    let mut c = CookieSettings {
        name: name.text.clone(),
        mode: CookieMode::Insert,
        indirect: false,
        nocache: false,
        postonly: false,
        preserve: false,
        httponly: false,
        secure: false,
        domains: Vec::new(),
        maxidle: None,
        maxlife: None,
        attrs: Vec::new(),
        span: directive.span(),
    };
    let mut mode_seen = None::<&Word>;
    let mut i = 1;
    while i < args.len() {
        let w = &args[i];
        let value = || {
            args.get(i + 1).ok_or_else(|| {
                Diagnostic::error(
                    w.span,
                    format!(
                        "cookie option '{}' expects a value (missing argument)",
                        w.text
                    ),
                )
            })
        };
        let mut set_mode = |m: CookieMode| -> Result<(), Diagnostic> {
            if let Some(prev) = mode_seen {
                return Err(Diagnostic::error(
                    w.span,
                    format!("cookie mode '{}' conflicts with '{}'", w.text, prev.text),
                )
                .with_help("choose one of insert, rewrite and prefix"));
            }
            mode_seen = Some(w);
            c.mode = m;
            Ok(())
        };
        match w.text.as_str() {
            "insert" => set_mode(CookieMode::Insert)?,
            "rewrite" => set_mode(CookieMode::Rewrite)?,
            "prefix" => set_mode(CookieMode::Prefix)?,
            "indirect" => c.indirect = true,
            "nocache" => c.nocache = true,
            "postonly" => c.postonly = true,
            "preserve" => c.preserve = true,
            "httponly" => c.httponly = true,
            "secure" => c.secure = true,
            "domain" => {
                c.domains.push(value()?.text.clone());
                i += 1;
            }
            "attr" => {
                c.attrs.push(value()?.text.clone());
                i += 1;
            }
            "maxidle" => {
                c.maxidle = Some(parse_time(value()?)?);
                i += 1;
            }
            "maxlife" => {
                c.maxlife = Some(parse_time(value()?)?);
                i += 1;
            }
            "dynamic" => {
                return Err(Diagnostic::error(
                    w.span,
                    "cookie option 'dynamic' is not supported by switchyard yet",
                ))
            }
            other => {
                let known = [
                    "insert", "rewrite", "prefix", "indirect", "nocache", "postonly", "preserve",
                    "httponly", "secure", "domain", "attr", "maxidle", "maxlife",
                ];
                let diag = Diagnostic::error(w.span, format!("unknown cookie option '{other}'"));
                return Err(match crate::suggest::did_you_mean(other, &known) {
                    Some(s) => diag.with_help(format!("did you mean '{s}'?")),
                    None => diag.with_help(format!("the options are: {}", known.join(", "))),
                });
            }
        }
        i += 1;
    }
    if c.preserve && c.mode != CookieMode::Insert && !c.indirect {
        return Err(Diagnostic::error(
            directive.keyword().span,
            "cookie 'preserve' requires at least 'insert' or 'indirect'",
        )
        .with_help("add 'insert' or 'indirect', or remove 'preserve'"));
    }
    Ok(c)
}

const RETRY_ON: &[&str] = &[
    "none",
    "conn-failure",
    "empty-response",
    "junk-response",
    "response-timeout",
    "0rtt-rejected",
    "all-retryable-errors",
];
const RETRY_STATUSES: &[&str] = &[
    "401", "403", "404", "408", "425", "500", "501", "502", "503", "504",
];

fn parse_retry_on(directive: &RawDirective) -> Result<Vec<String>, Diagnostic> {
    let args = directive.args();
    if args.is_empty() {
        return Err(missing(directive, "at least one event"));
    }
    args.iter()
        .map(|w| {
            if RETRY_ON.contains(&w.text.as_str()) || RETRY_STATUSES.contains(&w.text.as_str()) {
                Ok(w.text.clone())
            } else {
                Err(
                    Diagnostic::error(w.span, format!("unknown retry-on event '{}'", w.text))
                        .with_help(format!(
                            "the events are {} and the status codes {}",
                            RETRY_ON.join(", "),
                            RETRY_STATUSES.join(" ")
                        )),
                )
            }
        })
        .collect()
}

const ERRORFILE_CODES: &[u16] = &[
    200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504,
];

/// A status code `errorfile` and `errorfiles` accept.
pub(crate) fn errorfile_code(code: &Word) -> Result<u16, Diagnostic> {
    let status = parse_uint(code, "status code", 999)? as u16;
    if !ERRORFILE_CODES.contains(&status) {
        return Err(Diagnostic::error(code.span, format!("invalid status code '{}' for 'errorfile'", code.text))
            .with_help("the codes are 200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503 and 504"));
    }
    Ok(status)
}

/// `errorfile CODE FILE`, in a proxy or an `http-errors` section.
pub(crate) fn parse_errorfile(directive: &RawDirective) -> Result<ErrorFile, Diagnostic> {
    let args = directive.args();
    let (code, path) = match args {
        [c, p] => (c, p),
        [_] | [] => return Err(missing(directive, "a status code and a file")),
        [_, _, extra, ..] => {
            return Err(Diagnostic::error(
                extra.span,
                format!("unexpected word '{}' after 'errorfile'", extra.text),
            ))
        }
    };
    let status = errorfile_code(code)?;
    Ok(ErrorFile {
        status,
        path: path.clone(),
    })
}

fn parse_log(directive: &RawDirective, proxy: &mut Proxy) -> Result<(), Diagnostic> {
    let args = directive.args();
    match args.first() {
        Some(w) if w.is("global") => {
            no_extra(directive, 1)?;
            proxy.logs.global = Some(directive.span());
        }
        _ => {
            let target = LogTarget::parse(directive.keyword(), args)?;
            proxy.logs.targets.push(target);
        }
    }
    Ok(())
}

fn parse_timeout(
    directive: &RawDirective,
    which: &str,
    proxy: &mut Proxy,
) -> Result<(), Diagnostic> {
    let args = directive.args();
    let value = args
        .get(1)
        .ok_or_else(|| missing(directive, "a kind and a time"))?;
    no_extra(directive, 2)?;
    let t = Some(Spanned::new(parse_time(value)?, directive.span()));
    let slot = match which {
        "connect" => &mut proxy.timeouts.connect,
        "client" => &mut proxy.timeouts.client,
        "server" => &mut proxy.timeouts.server,
        "http-request" => &mut proxy.timeouts.http_request,
        "http-keep-alive" => &mut proxy.timeouts.http_keep_alive,
        "queue" => &mut proxy.timeouts.queue,
        "tunnel" => &mut proxy.timeouts.tunnel,
        "check" => &mut proxy.timeouts.check,
        "client-fin" => &mut proxy.timeouts.client_fin,
        "server-fin" => &mut proxy.timeouts.server_fin,
        "tarpit" => &mut proxy.timeouts.tarpit,
        other => {
            return Err(Diagnostic::error(
                args[0].span,
                format!("unknown timeout '{other}'"),
            ))
        }
    };
    *slot = t;
    Ok(())
}

/// The first check directive of a section replaces what it inherited:
/// HAProxy takes the defaults' check rules as a whole or not at all, and
/// a section with rules of its own keeps only `option httpchk` as a flag
/// (its request back to `OPTIONS / HTTP/1.0`). `httpchk` says whether the
/// directive is `option httpchk`, which sets the request itself.
pub(crate) fn own_http_check_rules(proxy: &mut Proxy, httpchk: bool) {
    if proxy.http_check_own {
        return;
    }
    proxy.http_check_own = true;
    proxy.http_check_rules.clear();
    if !httpchk {
        if let Some(request) = &mut proxy.httpchk {
            *request = HttpCheckRequest::bare(request.span);
        }
    }
}

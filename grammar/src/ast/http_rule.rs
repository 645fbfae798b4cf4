//! `http-request`, `http-response` and legacy `redirect` rules: an action
//! and an optional condition, kept in the order they were written.

use crate::ast::condition::{split_condition, Condition};
use crate::ast::log_format::LogFormat;
use crate::ast::value::parse_uint;
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::word::Word;

/// What a `redirect` builds its location from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `location URL`: the target as written.
    Location,
    /// `prefix P`: the target is P followed by the request's path.
    Prefix,
    /// `scheme S`: the request's URL with its scheme replaced.
    Scheme,
}

/// A `redirect` line or `http-request redirect` action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// How the location is built from `target`.
    pub kind: RedirectKind,
    /// The location, prefix or scheme, with `%` expansions.
    pub target: LogFormat,
    /// 301, 302 (the default), 303, 307 or 308.
    pub code: u16,
    /// `drop-query`: the query string is left out of the location.
    pub drop_query: bool,
    /// `append-slash`: a `/` is added to a path that does not end with one.
    pub append_slash: bool,
    /// `set-cookie NAME[=VALUE]`: a cookie the redirect sets, as written.
    pub set_cookie: Option<String>,
    /// `clear-cookie NAME[=]`: a cookie the redirect clears (`Max-Age=0`).
    pub clear_cookie: Option<String>,
    /// `ignore-empty`: no redirect (the rule does nothing) when the target
    /// comes out empty.
    pub ignore_empty: bool,
}

/// The body of a `return` or a `deny` with a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnBody {
    /// No body: the head alone.
    None,
    /// `string TEXT`: the text as written.
    String(String),
    /// `lf-string FMT`: the text with `%` expansions done per request.
    LfString(LogFormat),
    /// `file PATH`: the file's content, read at start-up.
    File(Word),
    /// `lf-file PATH`: the file's content with `%` expansions done per request.
    LfFile(Word),
    /// `errorfile PATH`: a complete HTTP response read from the file.
    Errorfile(Word),
    /// `errorfiles NAME`: the section's file for the status (resolved once
    /// every section is read into `Errorfile` or `DefaultErrorfiles`).
    Errorfiles(Word),
    /// `default-errorfiles`: the proxy's error page for the status.
    DefaultErrorfiles,
}

/// What a `return` (or a `deny` with a response) sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnSpec {
    /// The status code (`status N`; 200 for `return`, 403 for `deny`).
    pub status: u16,
    /// `content-type T`, required with a body other than an errorfile.
    pub content_type: Option<String>,
    /// The body.
    pub body: ReturnBody,
    /// `hdr NAME FMT` lines, in order.
    pub headers: Vec<(String, LogFormat)>,
}

/// What an `http-request` or `http-response` rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpAction {
    /// `allow`: stops the rules of this list; the message goes on.
    Allow,
    /// `deny [deny_status N]` or `deny status N [content-type T] [string S…]`.
    Deny(ReturnSpec),
    /// `reject`: the connection is closed, nothing answered.
    Reject,
    /// `return`: the gateway answers itself.
    Return(ReturnSpec),
    /// `redirect`: answers with a redirect.
    Redirect(Redirect),
    /// `set-header NAME FMT`: replaces every field of the name.
    SetHeader {
        /// The header's name.
        name: String,
        /// The new value, expanded per message.
        value: LogFormat,
    },
    /// `add-header NAME FMT`: appends a field.
    AddHeader {
        /// The header's name.
        name: String,
        /// The value, expanded per message.
        value: LogFormat,
    },
    /// `del-header NAME [-m str|beg|end|sub|reg]`.
    DelHeader {
        /// The header's name (or pattern, with `-m`).
        name: String,
        /// How `name` is matched: `-m str` (the default), `beg`, `end`, `sub`, `reg`.
        method: Option<Word>,
    },
    /// `replace-header NAME REGEX FMT`: rewrites whole field values that match.
    ReplaceHeader {
        /// The header's name.
        name: String,
        /// The regex each whole value is matched against.
        regex: Word,
        /// The replacement, with `\1` back-references and `%` expansions.
        replacement: LogFormat,
    },
    /// `replace-value NAME REGEX FMT`: rewrites each comma-separated value that
    /// matches.
    ReplaceValue {
        /// The header's name.
        name: String,
        /// The regex each value is matched against.
        regex: Word,
        /// The replacement, with `\1` back-references and `%` expansions.
        replacement: LogFormat,
    },
    /// `set-path FMT`: replaces the path, keeping the query string.
    SetPath(LogFormat),
    /// `replace-path REGEX FMT`: rewrites the path (without the query string).
    ReplacePath {
        /// The regex the path is matched against.
        regex: Word,
        /// The replacement, with `\1` back-references and `%` expansions.
        replacement: LogFormat,
    },
    /// `set-pathq FMT`: the path and the query string together.
    SetPathq(LogFormat),
    /// `replace-pathq REGEX FMT`: on the path and the query string.
    ReplacePathq {
        /// The regex the path and query are matched against.
        regex: Word,
        /// The replacement, with `\1` back-references and `%` expansions.
        replacement: LogFormat,
    },
    /// `replace-uri REGEX FMT`: on the target as received (with the scheme
    /// and authority of an absolute-form one).
    ReplaceUri {
        /// The regex the target is matched against.
        regex: Word,
        /// The replacement, with `\1` back-references and `%` expansions.
        replacement: LogFormat,
    },
    /// `set-query FMT`: replaces the query string (without `?`).
    SetQuery(LogFormat),
    /// `set-uri FMT`: replaces the whole request target.
    SetUri(LogFormat),
    /// `set-method FMT`: replaces the request method.
    SetMethod(LogFormat),
    /// `set-status CODE [reason TEXT]` (responses): replaces the status.
    SetStatus {
        /// The new status code.
        status: u16,
        /// `reason TEXT`: the new reason phrase; `None`: the code's usual one.
        reason: Option<String>,
    },
    /// `auth [realm R]`: answers 401 with a Basic challenge.
    Auth {
        /// The realm of the challenge; `None`: the name of the proxy the rule is
        /// in.
        realm: Option<String>,
    },
    /// `use-service prometheus-exporter`.
    UseService(Word),
    /// `set-var(NAME[,COND…]) EXPR` or `set-var-fmt(NAME[,COND…]) FMT`.
    SetVar(crate::ast::var::SetVar),
    /// `unset-var(NAME)`.
    UnsetVar(crate::ast::var::VarName),
    /// `capture SAMPLE len N` (a new request slot of the frontend,
    /// numbered once the line is read) or `capture SAMPLE id N`.
    Capture {
        /// What is captured, as text.
        sample: crate::ast::sample::SampleExpr,
        /// The slot it is stored in.
        slot: crate::ast::capture::CaptureTarget,
    },
}

/// Where a rule applies: to requests or to responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `http-request` rules.
    Request,
    /// `http-response` rules.
    Response,
    /// `http-after-response` rules: on every response, the gateway's own
    /// included.
    AfterResponse,
}

/// One `http-request`, `http-response` or `redirect` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRule {
    /// What it does.
    pub action: HttpAction,
    /// When it applies; `None`: always.
    pub condition: Option<Condition>,
    /// The whole directive, keyword included.
    pub span: Span,
}

const REQUEST_ACTIONS: &[&str] = &[
    "set-var",
    "set-var-fmt",
    "unset-var",
    "allow",
    "deny",
    "reject",
    "return",
    "redirect",
    "set-header",
    "add-header",
    "del-header",
    "replace-header",
    "replace-value",
    "set-path",
    "replace-path",
    "set-pathq",
    "replace-pathq",
    "replace-uri",
    "set-query",
    "set-uri",
    "set-method",
    "auth",
    "use-service",
    "capture",
];
const RESPONSE_ACTIONS: &[&str] = &[
    "set-var",
    "set-var-fmt",
    "unset-var",
    "allow",
    "deny",
    "return",
    "redirect",
    "set-header",
    "add-header",
    "del-header",
    "replace-header",
    "replace-value",
    "set-status",
    "capture",
];

const AFTER_RESPONSE_ACTIONS: &[&str] = &[
    "allow",
    "set-header",
    "add-header",
    "del-header",
    "set-status",
    "set-var",
    "set-var-fmt",
    "unset-var",
];

/// HAProxy 2.6 actions that Switchyard does not implement yet.
const KNOWN_UNSUPPORTED: &[&str] = &[
    "add-acl",
    "add-map",
    "cache-store",
    "cache-use",
    "del-acl",
    "del-map",
    "disable-l7-retry",
    "do-resolve",
    "early-hint",
    "lua",
    "normalize-uri",
    "sc-inc-gpc",
    "sc-inc-gpc0",
    "sc-inc-gpc1",
    "sc-set-gpt",
    "sc-set-gpt0",
    "send-spoe-group",
    "set-dst",
    "set-dst-port",
    "set-log-level",
    "set-map",
    "set-mark",
    "set-nice",
    "set-priority-class",
    "set-priority-offset",
    "set-src",
    "set-src-port",
    "set-timeout",
    "set-tos",
    "silent-drop",
    "strict-mode",
    "tarpit",
    "track-sc0",
    "track-sc1",
    "track-sc2",
    "wait-for-body",
    "wait-for-handshake",
    "set-bandwidth-limit",
];

impl HttpRule {
    /// Parses the words after `http-request`/`http-response` (`keyword`).
    pub fn parse(
        keyword: &Word,
        words: &[Word],
        direction: Direction,
    ) -> Result<HttpRule, Diagnostic> {
        let (action_words, condition) = split_condition(words)?;
        let Some((name, args)) = action_words.split_first() else {
            return Err(Diagnostic::error(
                keyword.span,
                format!("'{}' expects an action (missing argument)", keyword.text),
            )
            .with_help("e.g. 'http-request deny if is_blocked'"));
        };
        let allowed = match direction {
            Direction::Request => REQUEST_ACTIONS,
            Direction::Response => RESPONSE_ACTIONS,
            Direction::AfterResponse => AFTER_RESPONSE_ACTIONS,
        };
        let family = crate::ast::var::var_action_family(&name.text).unwrap_or(&name.text);
        if !allowed.contains(&family) {
            return Err(unknown_action(keyword, name, allowed));
        }
        let action = if name.is("capture") {
            crate::ast::capture::parse_action(name, args, direction == Direction::Response)?
        } else {
            parse_action(name, args)?
        };
        let end = words.last().map(|w| w.span).unwrap_or(name.span);
        Ok(HttpRule {
            action,
            condition,
            span: keyword.span.to(end),
        })
    }

    /// Parses a legacy `redirect …` directive (the words after `redirect`).
    pub fn parse_legacy_redirect(keyword: &Word, words: &[Word]) -> Result<HttpRule, Diagnostic> {
        let (action_words, condition) = split_condition(words)?;
        let redirect = parse_redirect(keyword, action_words)?;
        let end = words.last().map(|w| w.span).unwrap_or(keyword.span);
        Ok(HttpRule {
            action: HttpAction::Redirect(redirect),
            condition,
            span: keyword.span.to(end),
        })
    }
}

/// The name an action is known by: `set-var(txn.x)` is `set-var`,
/// `sc-inc-gpc(0,1)` `sc-inc-gpc`, a Lua action `lua.NAME` `lua`.
fn action_family(name: &str) -> &str {
    if name.starts_with("lua.") {
        return "lua";
    }
    name.split_once('(').map_or(name, |(base, _)| base)
}

fn unknown_action(keyword: &Word, name: &Word, allowed: &[&str]) -> Diagnostic {
    if KNOWN_UNSUPPORTED.contains(&action_family(&name.text)) {
        return Diagnostic::error(
            name.span,
            format!(
                "'{} {}' is not supported by switchyard yet",
                keyword.text, name.text
            ),
        )
        .with_help(format!("the supported actions are: {}", allowed.join(", ")));
    }
    let mut diag = Diagnostic::error(
        name.span,
        format!("unknown {} action '{}'", keyword.text, name.text),
    );
    diag = match crate::suggest::did_you_mean(&name.text, allowed) {
        Some(s) => diag.with_help(format!("did you mean '{s}'?")),
        None => diag.with_help(format!("the supported actions are: {}", allowed.join(", "))),
    };
    diag
}

fn need<'a>(
    name: &Word,
    args: &'a [Word],
    count: usize,
    usage: &str,
) -> Result<&'a [Word], Diagnostic> {
    if args.len() < count {
        return Err(Diagnostic::error(
            name.span,
            format!("'{}' expects {usage} (missing argument)", name.text),
        ));
    }
    if args.len() > count {
        return Err(Diagnostic::error(
            args[count].span,
            format!(
                "unexpected word '{}' after '{}'",
                args[count].text, name.text
            ),
        )
        .with_help(format!(
            "'{}' takes {usage}; a condition starts with 'if' or 'unless'",
            name.text
        )));
    }
    Ok(args)
}

fn parse_action(name: &Word, args: &[Word]) -> Result<HttpAction, Diagnostic> {
    match crate::ast::var::var_action_family(&name.text) {
        Some("unset-var") => {
            return Ok(HttpAction::UnsetVar(crate::ast::var::parse_unset_var(
                name, args,
            )?))
        }
        Some(_) => {
            return Ok(HttpAction::SetVar(crate::ast::var::parse_set_var(
                name, args,
            )?))
        }
        None => {}
    }
    let header_value = |usage| -> Result<(String, LogFormat), Diagnostic> {
        let a = need(name, args, 2, usage)?;
        Ok((a[0].text.clone(), LogFormat::parse(&a[1])?))
    };
    Ok(match name.text.as_str() {
        "allow" => {
            need(name, args, 0, "no argument")?;
            HttpAction::Allow
        }
        "deny" => HttpAction::Deny(parse_return(name, args, 403, true)?),
        "reject" => {
            need(name, args, 0, "no argument")?;
            HttpAction::Reject
        }
        "return" => HttpAction::Return(parse_return(name, args, 200, false)?),
        "redirect" => HttpAction::Redirect(parse_redirect(name, args)?),
        "set-header" => {
            let (name, value) = header_value("a header name and a value")?;
            HttpAction::SetHeader { name, value }
        }
        "add-header" => {
            let (name, value) = header_value("a header name and a value")?;
            HttpAction::AddHeader { name, value }
        }
        "del-header" => {
            let method = match args {
                [_, m, v] if m.is("-m") => Some(v.clone()),
                _ => {
                    need(name, args, 1, "a header name and optionally '-m METHOD'")?;
                    None
                }
            };
            HttpAction::DelHeader {
                name: args[0].text.clone(),
                method,
            }
        }
        "replace-header" | "replace-value" => {
            let a = need(name, args, 3, "a header name, a regex and a replacement")?;
            let (header, regex, replacement) =
                (a[0].text.clone(), a[1].clone(), LogFormat::parse(&a[2])?);
            if name.text == "replace-header" {
                HttpAction::ReplaceHeader {
                    name: header,
                    regex,
                    replacement,
                }
            } else {
                HttpAction::ReplaceValue {
                    name: header,
                    regex,
                    replacement,
                }
            }
        }
        "set-path" => {
            HttpAction::SetPath(LogFormat::parse(&need(name, args, 1, "a path format")?[0])?)
        }
        "set-query" => HttpAction::SetQuery(LogFormat::parse(
            &need(name, args, 1, "a query format")?[0],
        )?),
        "set-uri" => {
            HttpAction::SetUri(LogFormat::parse(&need(name, args, 1, "a URI format")?[0])?)
        }
        "set-method" => HttpAction::SetMethod(LogFormat::parse(
            &need(name, args, 1, "a method format")?[0],
        )?),
        "set-pathq" => HttpAction::SetPathq(LogFormat::parse(
            &need(name, args, 1, "a path and query format")?[0],
        )?),
        "replace-path" | "replace-pathq" | "replace-uri" => {
            let a = need(name, args, 2, "a regex and a replacement")?;
            let (regex, replacement) = (a[0].clone(), LogFormat::parse(&a[1])?);
            match name.text.as_str() {
                "replace-path" => HttpAction::ReplacePath { regex, replacement },
                "replace-pathq" => HttpAction::ReplacePathq { regex, replacement },
                _ => HttpAction::ReplaceUri { regex, replacement },
            }
        }
        "set-status" => {
            let (code, reason) = match args {
                [code] => (code, None),
                [code, r, text] if r.is("reason") => (code, Some(text.text.clone())),
                _ => return Err(Diagnostic::error(name.span, "'set-status' expects a status code and optionally 'reason TEXT' (missing argument)")),
            };
            HttpAction::SetStatus {
                status: parse_status(code, 100, 999)?,
                reason,
            }
        }
        "auth" => match args {
            [] => HttpAction::Auth { realm: None },
            [r, realm] if r.is("realm") => HttpAction::Auth {
                realm: Some(realm.text.clone()),
            },
            _ => {
                return Err(Diagnostic::error(
                    args[0].span,
                    format!("unexpected word '{}' after 'auth'", args[0].text),
                )
                .with_help("write 'auth' or 'auth realm NAME'"))
            }
        },
        "use-service" => {
            let a = need(name, args, 1, "a service name")?;
            if a[0].text != "prometheus-exporter" {
                return Err(Diagnostic::error(
                    a[0].span,
                    format!("unknown service '{}'", a[0].text),
                )
                .with_help("switchyard provides the service 'prometheus-exporter'"));
            }
            HttpAction::UseService(a[0].clone())
        }
        other => unreachable!("action {other} is checked against the list before"),
    })
}

fn parse_status(word: &Word, min: u64, max: u64) -> Result<u16, Diagnostic> {
    let n = parse_uint(word, "status code", u64::MAX)?;
    if n < min || n > max {
        return Err(
            Diagnostic::error(word.span, format!("invalid status code '{}'", word.text))
                .with_help(format!("use a status code from {min} to {max}")),
        );
    }
    Ok(n as u16)
}

/// `deny`/`return` options: `[deny_status N] [status N] [content-type T]
/// [string S | lf-string F | file F | lf-file F | errorfile F] [hdr N F]…`.
pub(crate) fn parse_return(
    name: &Word,
    args: &[Word],
    default_status: u16,
    is_deny: bool,
) -> Result<ReturnSpec, Diagnostic> {
    let mut spec = ReturnSpec {
        status: default_status,
        content_type: None,
        body: ReturnBody::None,
        headers: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let key = &args[i];
        if key.is("default-errorfiles") {
            // No value: the next word is the next option.
            spec.body = ReturnBody::DefaultErrorfiles;
            i += 1;
            continue;
        }
        let value = args.get(i + 1).ok_or_else(|| {
            Diagnostic::error(
                key.span,
                format!("'{}' expects a value (missing argument)", key.text),
            )
        })?;
        match key.text.as_str() {
            "deny_status" if is_deny => spec.status = parse_status(value, 200, 599)?,
            "status" => spec.status = parse_status(value, 200, 599)?,
            "content-type" => spec.content_type = Some(value.text.clone()),
            "string" => spec.body = ReturnBody::String(value.text.clone()),
            "lf-string" => spec.body = ReturnBody::LfString(LogFormat::parse(value)?),
            "file" => spec.body = ReturnBody::File(value.clone()),
            "lf-file" => spec.body = ReturnBody::LfFile(value.clone()),
            "errorfile" => spec.body = ReturnBody::Errorfile(value.clone()),
            "errorfiles" => spec.body = ReturnBody::Errorfiles(value.clone()),
            "hdr" => {
                let fmt = args.get(i + 2).ok_or_else(|| {
                    Diagnostic::error(key.span, "'hdr' expects a name and a value (missing argument)")
                })?;
                spec.headers.push((value.text.clone(), LogFormat::parse(fmt)?));
                i += 1;
            }
            _ => {
                return Err(Diagnostic::error(key.span, format!("unknown '{}' option '{}'", name.text, key.text)).with_help(
                    "the options are status, content-type, string, lf-string, file, lf-file, errorfile, errorfiles, default-errorfiles and hdr",
                ))
            }
        }
        i += 2;
    }
    let has_body = !matches!(spec.body, ReturnBody::None);
    let file_response = matches!(
        spec.body,
        ReturnBody::Errorfile(_) | ReturnBody::Errorfiles(_) | ReturnBody::DefaultErrorfiles
    );
    if has_body && spec.content_type.is_none() && !file_response {
        return Err(Diagnostic::error(
            name.span,
            format!("'{}' with a body needs 'content-type'", name.text),
        )
        .with_help("add e.g. 'content-type text/plain' before the body"));
    }
    Ok(spec)
}

fn parse_redirect(name: &Word, args: &[Word]) -> Result<Redirect, Diagnostic> {
    // As HAProxy reads it: the type and its target, and the options, in
    // any order (`redirect code 301 location /x ignore-empty`).
    let kind_at = args
        .iter()
        .position(|w| ["location", "prefix", "scheme"].contains(&w.text.as_str()));
    let (kind_word, target) = match kind_at.map(|k| (&args[k], args.get(k + 1))) {
        Some((k, Some(t))) => (k, t),
        Some((k, None)) => {
            return Err(
                Diagnostic::error(k.span, format!("missing argument for '{}'", k.text)).with_help(
                    format!(
                        "write the target after it, e.g. 'redirect {} https'",
                        k.text
                    ),
                ),
            )
        }
        None if args.is_empty() => return Err(Diagnostic::error(
            name.span,
            "'redirect' expects 'location', 'prefix' or 'scheme' and a target (missing argument)",
        )
        .with_help("e.g. 'redirect scheme https code 301'")),
        None => {
            let first = &args[0];
            return Err(Diagnostic::error(
                first.span,
                format!("unknown redirect type '{}'", first.text),
            )
            .with_help("use 'location', 'prefix' or 'scheme' and a target"));
        }
    };
    let kind_at = kind_at.unwrap_or_default();
    let kind = match kind_word.text.as_str() {
        "location" => RedirectKind::Location,
        "prefix" => RedirectKind::Prefix,
        _ => RedirectKind::Scheme,
    };
    let mut r = Redirect {
        kind,
        target: LogFormat::parse(target)?,
        code: 302,
        drop_query: false,
        append_slash: false,
        set_cookie: None,
        clear_cookie: None,
        ignore_empty: false,
    };
    let mut i = 0;
    while i < args.len() {
        if i == kind_at {
            i += 2;
            continue;
        }
        let w = &args[i];
        let mut value = || {
            i += 1;
            args.get(i).ok_or_else(|| {
                Diagnostic::error(
                    w.span,
                    format!("'{}' expects a value (missing argument)", w.text),
                )
            })
        };
        match w.text.as_str() {
            "code" => {
                let v = value()?;
                let code = parse_uint(v, "redirect code", 999)? as u16;
                if ![301, 302, 303, 307, 308].contains(&code) {
                    return Err(Diagnostic::error(
                        v.span,
                        format!("invalid status code '{}' for a redirect", v.text),
                    )
                    .with_help("use 301, 302, 303, 307 or 308"));
                }
                r.code = code;
            }
            "drop-query" => r.drop_query = true,
            "append-slash" => r.append_slash = true,
            "ignore-empty" => r.ignore_empty = true,
            "set-cookie" => r.set_cookie = Some(value()?.text.clone()),
            "clear-cookie" => r.clear_cookie = Some(value()?.text.clone()),
            _ => {
                return Err(Diagnostic::error(
                    w.span,
                    format!("unknown redirect option '{}'", w.text),
                )
                .with_help(
                    "the options are code, drop-query, append-slash, ignore-empty, set-cookie and clear-cookie",
                ))
            }
        }
        i += 1;
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Environment;
    use crate::lexer::lex_line;
    use crate::span::FileId;

    fn rule(text: &str) -> Result<HttpRule, Diagnostic> {
        let w = lex_line(text, FileId(0), 1, &Environment::new()).unwrap();
        let dir = if w[0].text == "http-response" {
            Direction::Response
        } else {
            Direction::Request
        };
        if w[0].text == "redirect" {
            return HttpRule::parse_legacy_redirect(&w[0], &w[1..]);
        }
        HttpRule::parse(&w[0], &w[1..], dir)
    }

    #[test]
    fn parses_the_common_actions() {
        assert!(matches!(
            rule("http-request deny deny_status 429 if abuse")
                .unwrap()
                .action,
            HttpAction::Deny(ReturnSpec { status: 429, .. })
        ));
        let r = rule("http-request redirect scheme https code 301 unless { ssl_fc }").unwrap();
        assert!(matches!(
            &r.action,
            HttpAction::Redirect(Redirect {
                kind: RedirectKind::Scheme,
                code: 301,
                ..
            })
        ));
        assert!(r.condition.is_some());
        assert!(matches!(
            rule("http-request set-header X-Host %[req.hdr(host)]")
                .unwrap()
                .action,
            HttpAction::SetHeader { .. }
        ));
        assert!(matches!(
            rule("http-request return status 200 content-type text/plain string ok")
                .unwrap()
                .action,
            HttpAction::Return(_)
        ));
        assert!(matches!(
            rule("http-request auth realm Admins if !ok")
                .unwrap()
                .action,
            HttpAction::Auth { realm: Some(_) }
        ));
        assert!(matches!(
            rule("redirect prefix https://x.example code 308 drop-query")
                .unwrap()
                .action,
            HttpAction::Redirect(Redirect {
                drop_query: true,
                ..
            })
        ));
        assert!(matches!(
            rule("http-response del-header Server").unwrap().action,
            HttpAction::DelHeader { .. }
        ));
    }

    #[test]
    fn reject_takes_no_argument() {
        assert_eq!(
            rule("http-request reject if x").unwrap().action,
            HttpAction::Reject
        );
        assert!(rule("http-request reject now").is_err());
        assert!(rule("http-response reject").is_err(), "request side only");
    }

    #[test]
    fn actions_with_arguments_or_lua_names_are_not_supported_yet() {
        for text in ["http-request sc-inc-gpc(0,1)", "http-request lua.jwtverify"] {
            let e = rule(text).unwrap_err();
            assert!(
                e.message.contains("is not supported by switchyard yet"),
                "{text}: {}",
                e.message
            );
        }
        assert!(matches!(
            rule("http-request set-var(txn.x) src if TRUE")
                .unwrap()
                .action,
            HttpAction::SetVar(_)
        ));
        assert!(matches!(
            rule("http-response unset-var(res.x)").unwrap().action,
            HttpAction::UnsetVar(_)
        ));
        assert!(rule("http-request allow(x)").is_err());
        assert!(rule("http-request sett-var(txn.x) str(a)")
            .unwrap_err()
            .message
            .contains("unknown http-request action"));
    }

    #[test]
    fn rejects_bad_actions_clearly() {
        assert!(rule("http-request dney")
            .unwrap_err()
            .help
            .unwrap()
            .contains("deny"));
        assert!(rule("http-request tarpit")
            .unwrap_err()
            .message
            .contains("not supported by switchyard yet"));
        assert!(rule("http-request set-header X")
            .unwrap_err()
            .message
            .contains("missing argument"));
        assert!(rule("http-request deny deny_status 99")
            .unwrap_err()
            .message
            .contains("invalid status code"));
        assert!(rule("http-request redirect location /x code 200")
            .unwrap_err()
            .message
            .contains("invalid status code"));
        assert!(rule("http-request return status 200 string hi")
            .unwrap_err()
            .message
            .contains("content-type"));
        assert!(rule("http-response auth").is_err());
    }
}

//! Fixture requests for `switchyard test`: raw HTTP/1.1 requests as people
//! capture them, each preceded by `#` lines saying where it comes from and
//! what the configuration must decide. Several requests per file, separated
//! by a line `###`.
//!
//! ```text
//! # frontend web
//! # src 203.0.113.7
//! # expect backend api
//! # expect header X-App: gw
//! GET /api/users HTTP/1.1
//! Host: api.example.com
//! ```

use std::net::SocketAddr;

use switchyard_grammar::ast::proxy::{CookieMode, Proxy};
use switchyard_grammar::Config;

use crate::decision::{AnswerKind, Decision, Outcome};
use crate::request::{OwnedRequest, RequestFacts, TlsFacts};
use crate::RuleSet;

/// One expectation line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// `expect backend NAME`: the request goes to this backend.
    Backend(String),
    /// `expect server NAME`: the backend's balancing or persistence picks this
    /// server.
    Server(String),
    /// `expect status CODE`: the gateway answers with this status itself.
    Status(u16),
    /// `expect redirect URL`: a redirect to exactly this `Location`.
    Redirect(String),
    /// `expect header NAME: VALUE`: the answer carries this header, or, when
    /// forwarded, the rewritten request does (name lower-cased).
    Header(String, String),
}

/// One request of a fixture file.
#[derive(Debug, Clone)]
pub struct Case {
    /// 1-based line of the request line (or of the first `#` line).
    pub line: usize,
    /// `# frontend NAME`: the frontend the request arrives on (default: the
    /// first).
    pub frontend: Option<String>,
    /// The request, with the addresses and TLS facts its `#` lines set.
    pub request: OwnedRequest,
    /// What the configuration must decide, in file order.
    pub expects: Vec<Expect>,
}

/// A malformed fixture, with its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FixtureError {
    /// The line in the fixture file (1-based).
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> FixtureError {
    FixtureError {
        line,
        message: message.into(),
    }
}

/// Parses a fixture file.
pub fn parse(text: &str) -> Result<Vec<Case>, FixtureError> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut cases = Vec::new();
    let mut start = 0;
    while start < lines.len() {
        let end = (start..lines.len())
            .find(|&i| lines[i].trim() == "###")
            .unwrap_or(lines.len());
        if lines[start..end].iter().any(|l| !l.trim().is_empty()) {
            cases.push(parse_case(&lines[start..end], start + 1)?);
        }
        start = end + 1;
    }
    if cases.is_empty() {
        return Err(err(1, "no request in this file"));
    }
    Ok(cases)
}

fn parse_case(lines: &[&str], first_line: usize) -> Result<Case, FixtureError> {
    let mut request = OwnedRequest::get("/");
    request.src = "192.0.2.1:40000".parse().expect("literal");
    let mut frontend = None;
    let mut expects = Vec::new();
    let mut i = 0;
    // Leading blank lines and `#` lines.
    while i < lines.len() && (lines[i].trim().is_empty() || lines[i].trim_start().starts_with('#'))
    {
        let n = first_line + i;
        let line = lines[i].trim();
        i += 1;
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let rest = rest.trim();
        let (word, arg) = rest
            .split_once(char::is_whitespace)
            .map(|(w, a)| (w, a.trim()))
            .unwrap_or((rest, ""));
        match word {
            "expect" => expects.push(parse_expect(arg, n)?),
            "frontend" if !arg.is_empty() => frontend = Some(arg.to_owned()),
            "src" => request.src = parse_addr(arg, 40000, n)?,
            "dst" => request.dst = parse_addr(arg, 80, n)?,
            "tls" => {
                let mut tls = TlsFacts::default();
                for part in arg.split_whitespace() {
                    match part.split_once('=') {
                        Some(("sni", v)) => tls.sni = Some(v.to_owned()),
                        Some(("alpn", v)) => tls.alpn = Some(v.to_owned()),
                        Some(("version", v)) => tls.protocol = Some(v.to_owned()),
                        _ => return Err(err(n, format!("unknown tls setting '{part}': use sni=NAME, alpn=PROTO or version=TLSv1.3"))),
                    }
                }
                request.tls = Some(tls);
            }
            "frontend" => return Err(err(n, "'# frontend' needs a frontend name")),
            // Any other `#` line is a comment.
            _ => {}
        }
    }
    let Some(request_line) = lines.get(i) else {
        return Err(err(
            first_line + i.saturating_sub(1),
            "expected a request line such as 'GET / HTTP/1.1' after the '#' lines",
        ));
    };
    let n = first_line + i;
    let parts: Vec<&str> = request_line.split_whitespace().collect();
    let (method, target, version) = match parts.as_slice() {
        [m, t, v] => (*m, *t, *v),
        [m, t] => (*m, *t, "HTTP/1.1"),
        _ => {
            return Err(err(
                n,
                format!("'{request_line}' is not a request line: write METHOD TARGET HTTP/1.1"),
            ))
        }
    };
    if !method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
        return Err(err(n, format!("'{method}' is not an HTTP method")));
    }
    request.method = method.to_owned();
    request.target = target.to_owned();
    request.version = match version {
        "HTTP/1.0" => "1.0",
        "HTTP/1.1" => "1.1",
        "HTTP/2" | "HTTP/2.0" => "2.0",
        other => {
            return Err(err(
                n,
                format!("unknown HTTP version '{other}': use HTTP/1.0, HTTP/1.1 or HTTP/2"),
            ))
        }
    }
    .to_owned();
    i += 1;
    while i < lines.len() && !lines[i].is_empty() {
        let n = first_line + i;
        let (name, value) = lines[i].split_once(':').ok_or_else(|| {
            err(
                n,
                format!("'{}' is not a header line (NAME: value)", lines[i]),
            )
        })?;
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(err(n, format!("'{name}' is not a valid header name")));
        }
        request
            .headers
            .push((name.to_ascii_lowercase(), value.trim().to_owned()));
        i += 1;
    }
    if i < lines.len() {
        request.body = lines[i + 1..]
            .join("\n")
            .trim_end_matches('\n')
            .as_bytes()
            .to_vec();
    }
    Ok(Case {
        line: first_line,
        frontend,
        request,
        expects,
    })
}

fn parse_addr(text: &str, default_port: u16, line: usize) -> Result<SocketAddr, FixtureError> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, default_port))
        .map_err(|_| err(line, format!("'{text}' is not an IP address")))
}

fn parse_expect(arg: &str, line: usize) -> Result<Expect, FixtureError> {
    let (what, value) = arg
        .split_once(char::is_whitespace)
        .map(|(w, v)| (w, v.trim()))
        .unwrap_or((arg, ""));
    if value.is_empty() {
        return Err(err(line, format!("'# expect {what}' needs a value")));
    }
    Ok(match what {
        "backend" => Expect::Backend(value.to_owned()),
        "server" => Expect::Server(value.to_owned()),
        "status" => Expect::Status(
            value
                .parse()
                .ok()
                .filter(|s| (100..600).contains(s))
                .ok_or_else(|| err(line, format!("'{value}' is not an HTTP status")))?,
        ),
        "redirect" => Expect::Redirect(value.to_owned()),
        "header" => {
            let (name, v) = value
                .split_once(':')
                .ok_or_else(|| err(line, "write '# expect header NAME: value'"))?;
            Expect::Header(name.trim().to_ascii_lowercase(), v.trim().to_owned())
        }
        other => {
            return Err(err(
                line,
                format!(
                "unknown expectation '{other}': use backend, server, status, redirect or header"
            ),
            ))
        }
    })
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case's line in its fixture file.
    pub line: usize,
    /// One line for the text report: the request and what was decided.
    pub summary: String,
    /// (expected, got) for each unmet expectation.
    pub failures: Vec<(String, String)>,
    /// The rules' whole decision.
    pub decision: Decision,
    /// The frontend that decided.
    pub frontend: String,
    /// The server a forwarded request would reach, when one can be named
    /// without traffic (see [`fixture_server`]).
    pub server: Option<String>,
}

/// Runs one case through `rules`.
pub fn run_case(rules: &RuleSet, config: &Config, case: &Case) -> Result<CaseResult, String> {
    let frontend = match &case.frontend {
        Some(f) => f.clone(),
        None => rules
            .frontends()
            .next()
            .ok_or("the configuration has no frontend")?
            .to_owned(),
    };
    let decision = rules
        .decide(&frontend, &case.request)
        .ok_or_else(|| format!("no frontend named '{frontend}'"))?;
    let effective: &OwnedRequest = decision.rewritten.as_ref().unwrap_or(&case.request);
    let server = decision
        .backend()
        .and_then(|b| config.backend(b))
        .and_then(|b| fixture_server(b, effective, decision.persist));
    let mut failures = Vec::new();
    for expect in &case.expects {
        let (ok, expected, got) = match expect {
            Expect::Backend(b) => (
                decision.backend() == Some(b),
                format!("backend {b}"),
                describe(&decision),
            ),
            Expect::Server(s) => (
                server.as_deref() == Some(s),
                format!("server {s}"),
                server
                    .clone()
                    .map(|s| format!("server {s}"))
                    .unwrap_or_else(|| "no server".into()),
            ),
            Expect::Status(s) => (
                decision.status() == Some(*s),
                format!("status {s}"),
                describe(&decision),
            ),
            Expect::Redirect(url) => {
                let location = match &decision.outcome {
                    Outcome::Answer(a) if a.kind == AnswerKind::Redirect => a
                        .headers
                        .iter()
                        .find(|(n, _)| n == "location")
                        .map(|(_, v)| v.clone()),
                    _ => None,
                };
                (
                    location.as_deref() == Some(url),
                    format!("redirect {url}"),
                    location
                        .map(|l| format!("redirect {l}"))
                        .unwrap_or_else(|| describe(&decision)),
                )
            }
            Expect::Header(name, value) => {
                let values: Vec<String> = match &decision.outcome {
                    Outcome::Answer(a) => a
                        .headers
                        .iter()
                        .filter(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                        .collect(),
                    _ => {
                        let mut v = Vec::new();
                        effective.for_each_header(&mut |n, val| {
                            if n == name {
                                v.push(String::from_utf8_lossy(val).into_owned());
                            }
                        });
                        v
                    }
                };
                let got = if values.is_empty() {
                    format!("no header {name}")
                } else {
                    format!("header {name}: {}", values.join(", "))
                };
                (
                    values.iter().any(|v| v == value),
                    format!("header {name}: {value}"),
                    got,
                )
            }
        };
        if !ok {
            failures.push((expected, got));
        }
    }
    let summary = format!(
        "{} {} → {}",
        case.request.method,
        case.request.target,
        describe(&decision)
    );
    Ok(CaseResult {
        line: case.line,
        summary,
        failures,
        decision,
        frontend,
        server,
    })
}

/// `backend api`, `status 403`, `redirect 302 https://…`.
pub fn describe(decision: &Decision) -> String {
    match &decision.outcome {
        Outcome::Backend(b) => format!("backend {b}"),
        Outcome::Answer(a) if a.kind == AnswerKind::Redirect => {
            let location = a
                .headers
                .iter()
                .find(|(n, _)| n == "location")
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            format!("status {} (redirect {location})", a.status)
        }
        Outcome::Answer(a) => format!("status {}", a.status),
        Outcome::Service(s) => format!("service {s}"),
        Outcome::NoBackend => "status 503 (no backend)".into(),
    }
}

/// The server a fixture's request goes to: the one its persistence cookie
/// names, else the first active server — the one round robin starts with.
/// The gateway balances live traffic; fixtures need one answer.
/// `ignore-persist` (`persist`) makes the cookie count for nothing.
pub fn fixture_server(
    backend: &Proxy,
    req: &dyn RequestFacts,
    persist: Option<crate::decision::PersistOverride>,
) -> Option<String> {
    let cookie = backend
        .cookie
        .as_ref()
        .filter(|_| persist != Some(crate::decision::PersistOverride::Ignore));
    if let Some(cookie) = cookie {
        let mut named = None;
        crate::fetch::cookies(req, Some(&cookie.name), &mut |v| {
            let v: &str = &v;
            if named.is_none() {
                let value = match cookie.mode {
                    CookieMode::Prefix => v.split_once('~').map(|(p, _)| p).unwrap_or(""),
                    // `maxidle`/`maxlife` dates follow a '|'.
                    _ => v.split('|').next().unwrap_or(v),
                };
                named = backend
                    .servers
                    .iter()
                    .find(|s| backend.server_options(s).cookie.as_deref() == Some(value))
                    .map(|s| s.name.text.clone());
            }
        });
        if named.is_some() {
            return named;
        }
    }
    let usable = |backup: bool| {
        backend.servers.iter().find(|s| {
            let o = backend.server_options(s);
            o.backup.unwrap_or(false) == backup
                && !o.disabled.unwrap_or(false)
                && o.weight.unwrap_or(1) > 0
        })
    };
    usable(false)
        .or_else(|| usable(true))
        .map(|s| s.name.text.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_several_cases() {
        let text = "# a comment\n# frontend web\n# src 203.0.113.7\n# expect backend api\n# expect header X-App: gw\nGET /api HTTP/1.1\nHost: api.example.com\n\n###\n# expect status 403\nPOST /admin HTTP/1.0\nContent-Length: 3\n\nabc\n";
        let cases = parse(text).unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].frontend.as_deref(), Some("web"));
        assert_eq!(cases[0].request.src.ip().to_string(), "203.0.113.7");
        assert_eq!(
            cases[0].expects,
            [
                Expect::Backend("api".into()),
                Expect::Header("x-app".into(), "gw".into())
            ]
        );
        assert_eq!(cases[1].request.version, "1.0");
        assert_eq!(cases[1].request.body, b"abc");
        assert_eq!(cases[1].line, 10);
    }

    #[test]
    fn malformed_fixtures_say_where() {
        assert_eq!(
            parse("# expect backend\nGET / HTTP/1.1\n")
                .unwrap_err()
                .line,
            1
        );
        assert!(parse("# expect colour blue\nGET /\n")
            .unwrap_err()
            .message
            .contains("unknown expectation"));
        assert!(parse("GET\n").unwrap_err().message.contains("request line"));
        assert!(parse("GET / HTTP/9\n")
            .unwrap_err()
            .message
            .contains("version"));
        assert!(parse("GET / HTTP/1.1\nno colon here\n")
            .unwrap_err()
            .message
            .contains("header line"));
        assert!(parse("\n\n").is_err());
        assert!(parse("# src nowhere\nGET /\n")
            .unwrap_err()
            .message
            .contains("IP address"));
    }
}

//! Runs a compiled check sequence (`switchyard_rules::check`) against one
//! server, as HAProxy 2.6's `tcpcheck_main` does: each `connect` opens a new
//! connection (closing the last), each `send` writes a request, each
//! `expect` judges the answer to the last request; the first failing rule
//! ends the check with its status and message, and the last `expect` that
//! passes gives the check's status and `on-success` message.

use std::net::SocketAddr;
use std::sync::Mutex;

use switchyard_grammar::ast::check_rule::{CheckConnect, MatchMethod};
use switchyard_rules::check::{Action, CheckProgram, Expect, HeaderMatch, HttpSend, Matcher, Step};
use switchyard_rules::{RuleSet, StreamFacts};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{io_info, CheckPlan, Outcome};

fn outcome(ok: bool, reason: &str, info: Option<String>, code: Option<u16>) -> Outcome {
    (ok, reason.to_owned(), info, code)
}
use crate::upstream::server::Server;

/// A check connection, plain or TLS.
trait CheckStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> CheckStream for T {}

/// HAProxy's reason for a check status.
pub fn reason_of(status: &str) -> &'static str {
    match status {
        "L4OK" => "Layer4 check passed",
        "L6OK" => "Layer6 check passed",
        "L7OK" => "Layer7 check passed",
        "L4CON" => "Layer4 connection problem",
        "L6RSP" => "Layer6 invalid response",
        "L7STS" => "Layer7 wrong status",
        "L4TOUT" => "Layer4 timeout",
        "L6TOUT" => "Layer6 timeout",
        "L7TOUT" => "Layer7 timeout",
        _ => "Layer7 invalid response",
    }
}

/// One answer being read: its bytes, and where its head ends.
#[derive(Default)]
struct Answer {
    bytes: Vec<u8>,
    head_end: Option<usize>,
    closed: bool,
}

impl Answer {
    fn head(&self) -> &str {
        let end = self.head_end.unwrap_or(self.bytes.len());
        std::str::from_utf8(&self.bytes[..end]).unwrap_or("")
    }

    fn body(&self) -> &[u8] {
        self.head_end.map_or(&[][..], |end| &self.bytes[end + 4..])
    }

    fn content_length(&self) -> Option<usize> {
        self.head().lines().skip(1).find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
    }

    /// Whether `expect` can be judged: the head, and for a body match the
    /// body up to its length (at least `min-recv` bytes of it), the close,
    /// or 16 KiB (HAProxy's buffer).
    fn enough_for(&self, expect: &Expect) -> bool {
        if self.closed || self.bytes.len() >= 16 * 1024 {
            return true;
        }
        if self.head_end.is_none() {
            return false;
        }
        let body = self.body().len();
        let min = usize::try_from(expect.min_recv).unwrap_or(0);
        if !expect.matcher.needs_body() {
            return body >= min;
        }
        body >= min && self.content_length().is_some_and(|length| body >= length)
    }

    fn status(&self) -> Option<(u16, &str)> {
        let line = self.head().lines().next()?;
        let mut parts = line.splitn(3, ' ');
        parts.next()?;
        let code = parts.next()?.parse().ok()?;
        Some((code, parts.next().unwrap_or("")))
    }

    fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.head()
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim(), v.trim()))
    }
}

/// Runs `program` for `server`; `timeout_status` is kept current for the
/// caller, which applies the check's timeout.
pub async fn run(
    server: &Server,
    plan: &CheckPlan,
    rules: &RuleSet,
    program: &CheckProgram,
    state_header: Option<&str>,
    timeout_status: &Mutex<String>,
) -> Outcome {
    let mut stream: Option<Box<dyn CheckStream>> = None;
    // What the rules' log-format strings see during a check: the check
    // connection's addresses and the server.
    let mut facts = StreamFacts {
        src: SocketAddr::from(([0, 0, 0, 0], 0)),
        dst: server.addr,
        payload: &[],
        may_grow: false,
        server: Some((&server.name, server_id(server))),
    };
    let mut answer = Answer::default();
    let mut last: Option<(&Expect, u16)> = None;
    for Step { action, comment } in &program.steps {
        let failed = |status: &str, info: String, code: Option<u16>| {
            let info = match comment {
                Some(c) => format!("{info} comment: {c}"),
                None => info,
            };
            let info = (!info.is_empty()).then_some(info);
            outcome(false, reason_of(status), info, code)
        };
        match action {
            Action::Connect(connect) => {
                set(timeout_status, "L7TOUT");
                match open(server, plan, connect).await {
                    Ok((s, local, peer)) => {
                        stream = Some(s);
                        facts.src = local;
                        facts.dst = peer;
                    }
                    Err((status, info)) => return failed(status, info, None),
                }
            }
            Action::Send(send) => {
                let Some(s) = stream.as_mut() else {
                    return failed("L4CON", "no connection".into(), None);
                };
                let text = request_text(rules, send, &facts, state_header);
                if let Err(e) = s.write_all(text.as_bytes()).await {
                    return failed("L4CON", io_info(&e), None);
                }
                answer = Answer::default();
            }
            Action::Expect(expect) => {
                set(
                    timeout_status,
                    expect.tout_status.as_deref().unwrap_or("L7TOUT"),
                );
                let Some(s) = stream.as_mut() else {
                    return failed("L4CON", "no connection".into(), None);
                };
                if let Err(e) = read_enough(s, &mut answer, expect).await {
                    return failed("L4CON", io_info(&e), None);
                }
                let Some((code, phrase)) = answer.status() else {
                    let line = answer.head().lines().next().unwrap_or("");
                    return failed("L7RSP", line.chars().take(60).collect(), None);
                };
                let (matched, default_info) = judge(rules, expect, &answer, &facts, code, phrase);
                if matched == expect.negated {
                    let status =
                        expect
                            .error_status
                            .as_deref()
                            .unwrap_or(if expect.matcher.needs_body() {
                                "L7RSP"
                            } else {
                                "L7STS"
                            });
                    let info = match &expect.on_error {
                        Some(f) => rules.check_format(f, &facts),
                        None => default_info,
                    };
                    // A failed body match reports no code (HAProxy's L7RSP).
                    let code = (!expect.matcher.needs_body()).then_some(code);
                    return failed(status, info, code);
                }
                last = Some((expect, code));
            }
        }
    }
    match last {
        Some((expect, code)) => {
            let status = expect.ok_status.as_deref().unwrap_or("L7OK");
            let info = expect
                .on_success
                .as_ref()
                .map(|f| rules.check_format(f, &facts));
            outcome(true, reason_of(status), info, Some(code))
        }
        None => outcome(true, "Layer4 check passed", None, None),
    }
}

fn set(slot: &Mutex<String>, status: &str) {
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = status.to_owned();
}

fn server_id(server: &Server) -> u32 {
    server
        .options
        .id
        .map_or(server.index as u32 + 1, |id| id as u32)
}

/// Opens a `connect` rule's connection: its address and port, else the
/// check's (`addr`, `port`), else the server's; with `default`, the
/// server's check options (PROXY header, TLS).
async fn open(
    server: &Server,
    plan: &CheckPlan,
    connect: &CheckConnect,
) -> Result<(Box<dyn CheckStream>, SocketAddr, SocketAddr), (&'static str, String)> {
    let ip = connect.addr.or(server.check_ip).unwrap_or(server.addr.ip());
    let port = connect
        .port
        .or(connect.addr_port)
        .or(plan.port)
        .unwrap_or(server.addr.port());
    let addr = SocketAddr::new(ip, port);
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| ("L4CON", io_info(&e)))?;
    let (local, peer) = (
        stream.local_addr().map_err(|e| ("L4CON", io_info(&e)))?,
        addr,
    );
    let header = if connect.send_proxy {
        let options = switchyard_grammar::ast::server::ServerOptions {
            send_proxy: Some(true),
            ..Default::default()
        };
        switchyard::wire::proxy_protocol::header_for(&options, local, peer)
    } else if connect.default {
        switchyard::wire::proxy_protocol::check_header(&plan.proxy_protocol, local, peer)
    } else {
        None
    };
    if let Some(header) = header {
        stream
            .write_all(&header)
            .await
            .map_err(|e| ("L4CON", io_info(&e)))?;
    }
    match (&server.check_tls, connect.default) {
        (Some(tls), true) => {
            let tls = tls
                .connect(stream, addr, None)
                .await
                .map_err(|e| ("L6RSP", e.to_string()))?;
            Ok((Box::new(tls), local, peer))
        }
        _ => Ok((Box::new(stream), local, peer)),
    }
}

/// The request as HAProxy 2.6 writes it: the state header first (with
/// `send-state`), header names in lower case, `content-length` with a
/// body, `connection: close` in HTTP/1.1 unless the request has its own.
fn request_text(
    rules: &RuleSet,
    send: &HttpSend,
    facts: &StreamFacts<'_>,
    state_header: Option<&str>,
) -> String {
    let uri = rules.check_text(&send.uri, facts);
    // An empty URI (a log-format that gave nothing) is `/`.
    let uri = if uri.is_empty() { "/".to_owned() } else { uri };
    let mut text = format!("{} {uri} {}\r\n", send.method, send.version);
    if let Some(value) = state_header {
        text.push_str(&format!(
            "{}: {value}\r\n",
            crate::upstream::send_state::NAME
        ));
    }
    let mut has_connection = false;
    for (name, value) in &send.headers {
        has_connection |= name.eq_ignore_ascii_case("connection");
        let value = rules.check_text(value, facts);
        text.push_str(&format!("{}: {value}\r\n", name.to_ascii_lowercase()));
    }
    let body = send.body.as_ref().map(|b| rules.check_text(b, facts));
    if let Some(body) = &body {
        text.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    if send.version != "HTTP/1.0" && !has_connection {
        text.push_str("connection: close\r\n");
    }
    text.push_str("\r\n");
    if let Some(body) = &body {
        text.push_str(body);
    }
    text
}

/// [`request_text`] for a check of nothing in particular (tests).
#[cfg(test)]
pub(super) fn request_text_for_test(rules: &RuleSet, send: &HttpSend) -> String {
    let facts = StreamFacts {
        src: SocketAddr::from(([127, 0, 0, 1], 1)),
        dst: SocketAddr::from(([127, 0, 0, 1], 2)),
        payload: &[],
        may_grow: false,
        server: Some(("s", 1)),
    };
    request_text(rules, send, &facts, None)
}

async fn read_enough(
    stream: &mut Box<dyn CheckStream>,
    answer: &mut Answer,
    expect: &Expect,
) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    while !answer.enough_for(expect) {
        match stream.read(&mut buf).await {
            Ok(0) => answer.closed = true,
            Ok(n) => answer.bytes.extend_from_slice(&buf[..n]),
            // A TLS server closing without close_notify: the end all the same.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => answer.closed = true,
            Err(e) => return Err(e),
        }
        if answer.head_end.is_none() {
            answer.head_end = answer.bytes.windows(4).position(|w| w == b"\r\n\r\n");
        }
    }
    Ok(())
}

/// Whether `expect` matches the answer, and HAProxy's message if that is
/// a failure.
fn judge(
    rules: &RuleSet,
    expect: &Expect,
    answer: &Answer,
    facts: &StreamFacts<'_>,
    code: u16,
    phrase: &str,
) -> (bool, String) {
    let body = String::from_utf8_lossy(answer.body());
    let body_message = || {
        if expect.negated {
            "HTTP check matched unwanted content".to_owned()
        } else {
            "HTTP content check did not match".to_owned()
        }
    };
    match &expect.matcher {
        Matcher::Status(ranges) => (
            ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&code)),
            phrase.to_owned(),
        ),
        Matcher::RStatus(re) => (re.is_match(&code.to_string()), phrase.to_owned()),
        Matcher::Body(text) => (body.contains(text.as_str()), body_message()),
        Matcher::RBody(re) => (re.is_match(&body), body_message()),
        Matcher::BodyFormat(fmt) => {
            let text = rules.check_format(fmt, facts);
            if text.is_empty() {
                return (
                    expect.negated,
                    "log-format string evaluated to an empty string".into(),
                );
            }
            (body.contains(text.as_str()), body_message())
        }
        Matcher::Header { full, name, value } => {
            let name = Pattern::of(rules, name, facts);
            let value = value.as_ref().map(|v| Pattern::of(rules, v, facts));
            let matched = answer.headers().any(|(n, v)| {
                if !name.matches(&n.to_ascii_lowercase(), true) {
                    return false;
                }
                match &value {
                    None => true,
                    Some(value) if *full => value.matches(v, false),
                    Some(value) => v.split(',').any(|item| value.matches(item.trim(), false)),
                }
            });
            (matched, phrase.to_owned())
        }
    }
}

/// A header pattern with its log-format rendered for this check.
enum Pattern<'a> {
    Text(MatchMethod, String),
    Regex(&'a regex::Regex),
}

impl<'a> Pattern<'a> {
    fn of(rules: &RuleSet, m: &'a HeaderMatch, facts: &StreamFacts<'_>) -> Pattern<'a> {
        match m {
            HeaderMatch::Text(method, text) => {
                Pattern::Text(*method, rules.check_text(text, facts))
            }
            HeaderMatch::Regex(re) => Pattern::Regex(re),
        }
    }

    /// `lower`: `text` is a header name in lower case, matched without case.
    fn matches(&self, text: &str, lower: bool) -> bool {
        match self {
            Pattern::Regex(re) => re.is_match(text),
            Pattern::Text(method, pattern) => {
                let pattern = if lower {
                    pattern.to_ascii_lowercase()
                } else {
                    pattern.clone()
                };
                match method {
                    MatchMethod::Str | MatchMethod::Reg => text == pattern,
                    MatchMethod::Beg => text.starts_with(&pattern),
                    MatchMethod::End => text.ends_with(&pattern),
                    MatchMethod::Sub => text.contains(&pattern),
                }
            }
        }
    }
}

//! Runs a compiled check sequence (`switchyard_rules::check`) against one
//! server, as HAProxy 2.6's `tcpcheck_main` does: each `connect` opens a new
//! connection (closing the last), each `send` writes a request, each
//! `expect` judges the answer to the last request; the first failing rule
//! ends the check with its status and message, and the last `expect` that
//! passes gives the check's status and `on-success` message.

use std::net::SocketAddr;
use std::sync::Mutex;

use switchyard_grammar::ast::check_rule::{CheckConnect, MatchMethod};
use switchyard_rules::check::{
    Action, CheckProgram, Expect, HeaderMatch, HttpSend, Matcher, ProgramKind, Send, Step,
};
use switchyard_rules::{RuleSet, StreamFacts};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{io_info, raw, CheckPlan, Outcome};

fn outcome(ok: bool, reason: &str, info: Option<String>, code: Option<u16>) -> Outcome {
    (ok, reason.to_owned(), info, code)
}

/// A raw check's code as HAProxy logs it: shown (0 when the answer gave
/// none) with the statuses that carry layer 5-7 data, not with others.
fn raw_code(status: &str, code: Option<u16>) -> Option<u16> {
    matches!(status, "L7OK" | "L7OKC" | "L7STS").then(|| code.unwrap_or(0))
}
use crate::upstream::server::Server;

/// A check connection, plain or TLS.
trait CheckStream: AsyncRead + AsyncWrite + Unpin + std::marker::Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + std::marker::Send> CheckStream for T {}

/// HAProxy's reason for a check status.
pub fn reason_of(status: &str) -> &'static str {
    match status {
        "L4OK" => "Layer4 check passed",
        "L6OK" => "Layer6 check passed",
        "L7OK" => "Layer7 check passed",
        "L7OKC" => "Layer7 check conditionally passed",
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

/// Where a running check is, for the caller that applies the check's
/// timeout: the status a timeout now gives, and its information.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub status: String,
    pub info: Option<String>,
}

/// Runs `program` for `server`; `progress` is kept current for the
/// caller, which applies the check's timeout.
pub async fn run(
    server: &Server,
    plan: &CheckPlan,
    rules: &RuleSet,
    program: &CheckProgram,
    state_header: Option<&str>,
    progress: &Mutex<Progress>,
) -> Outcome {
    let mut stream: Option<Box<dyn CheckStream>> = None;
    let mut tls_done = false;
    // What the rules' log-format strings see during a check: the check
    // connection's addresses and the server.
    let mut facts = StreamFacts {
        src: SocketAddr::from(([0, 0, 0, 0], 0)),
        dst: server.addr(),
        payload: &[],
        may_grow: false,
        server: Some((&server.name, server_id(server))),
    };
    let raw = program.kind != ProgramKind::Http;
    let plain_tcp = program.kind == ProgramKind::Tcp;
    let mut answer = Answer::default();
    // A send empties the answer; the first expect after it reads.
    let mut must_read = true;
    let mut last: Option<&Step> = None;
    let mut last_code: Option<u16> = None;
    let mut pass_info: Option<String> = None;
    let steps = &program.steps;
    for (at, step) in steps.iter().enumerate() {
        let Step {
            action, comment, ..
        } = step;
        let step_info = || {
            if plain_tcp {
                raw::step_info(step)
            } else {
                String::new()
            }
        };
        let failed = |status: &str, info: String, code: Option<u16>| {
            let info = match comment {
                Some(c) if !raw => format!("{info} comment: {c}"),
                _ => info,
            };
            let info = (!info.is_empty()).then_some(info);
            outcome(false, reason_of(status), info, code)
        };
        last = Some(step);
        match action {
            Action::Connect(connect) => {
                let timeout = if raw { "L4TOUT" } else { "L7TOUT" };
                set(progress, timeout, plain_tcp.then(|| raw::step_info(step)));
                match open(server, plan, connect, progress, raw).await {
                    Ok((s, local, peer, tls)) => {
                        stream = Some(s);
                        tls_done = tls;
                        facts.src = local;
                        facts.dst = peer;
                        answer = Answer::default();
                        must_read = true;
                    }
                    Err((status, info)) => {
                        let info = format!("{info}{}", step_info());
                        return outcome(false, reason_of(status), Some(info), None);
                    }
                }
            }
            Action::Send(send) => {
                set(progress, "L7TOUT", plain_tcp.then(|| raw::step_info(step)));
                let Some(s) = stream.as_mut() else {
                    return failed("L4CON", "no connection".into(), None);
                };
                let bytes = match send {
                    Send::Http(send) => {
                        request_text(rules, send, &facts, state_header).into_bytes()
                    }
                    Send::Bytes(bytes) => bytes.clone(),
                    Send::Format { fmt, binary } => {
                        let text = rules.check_format(fmt, &facts);
                        if *binary {
                            match switchyard_grammar::ast::check_rule::decode_hex(&text) {
                                Some(bytes) => bytes,
                                None => {
                                    let info = format!("tcp-check send : failed to build log-format string at step {}", step.id);
                                    return outcome(false, reason_of("L7RSP"), Some(info), None);
                                }
                            }
                        } else {
                            text.into_bytes()
                        }
                    }
                    Send::SslClientHello => {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs() as u32);
                        switchyard_rules::check::protocol::ssl_client_hello(now)
                    }
                };
                if let Err(e) = s.write_all(&bytes).await {
                    return failed("L4CON", io_info(&e), None);
                }
                answer = Answer::default();
                must_read = true;
            }
            Action::Expect(expect) if raw => {
                let tout = expect.tout_status.as_deref().unwrap_or("L7TOUT");
                set(progress, tout, plain_tcp.then(|| raw::step_info(step)));
                let Some(s) = stream.as_mut() else {
                    return failed("L4CON", "no connection".into(), None);
                };
                if must_read {
                    if let Err(e) = read_some(s, &mut answer).await {
                        return failed("L4CON", io_info(&e), None);
                    }
                    must_read = false;
                    if answer.bytes.is_empty() {
                        let mut info = format!("TCPCHK got an empty response at step {}", step.id);
                        if let Some(c) = comment {
                            info.push_str(&format!(" comment: '{c}'"));
                        }
                        let status = expect.error_status.as_deref().unwrap_or("L7RSP");
                        return outcome(false, reason_of(status), Some(info), None);
                    }
                }
                let is_last = steps[at + 1..].is_empty();
                loop {
                    let eval = raw::judge(
                        rules,
                        program.kind,
                        step,
                        expect,
                        &answer.bytes,
                        answer.closed,
                        is_last,
                        &facts,
                    );
                    match eval {
                        raw::Eval::Wait => {
                            if let Err(e) = read_some(s, &mut answer).await {
                                return failed("L4CON", io_info(&e), None);
                            }
                        }
                        raw::Eval::Pass { info } => {
                            if info.is_some() {
                                pass_info = info;
                            }
                            last_code = raw::answer_code(expect, &answer.bytes);
                            break;
                        }
                        raw::Eval::Fail { status, info, code } => {
                            let code = raw_code(&status, code);
                            return outcome(false, reason_of(&status), info, code);
                        }
                    }
                }
            }
            Action::Expect(expect) => {
                set(
                    progress,
                    expect.tout_status.as_deref().unwrap_or("L7TOUT"),
                    None,
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
                if plan.disable_on_404 && code == 404 && server.is_up() {
                    // A 404 from a server still up drains it (HAProxy's
                    // `disable-on-404`): the rule is skipped.
                    last_code = Some(code);
                    continue;
                }
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
                        Some(m) => rules.check_message(m, answer.body(), &facts),
                        None => default_info,
                    };
                    // A failed body match reports no code (HAProxy's L7RSP).
                    let code = (!expect.matcher.needs_body()).then_some(code);
                    return failed(status, info, code);
                }
                last_code = Some(code);
            }
        }
    }
    let Some(step) = last else {
        return outcome(true, "Layer4 check passed", None, None);
    };
    match &step.action {
        Action::Expect(expect) => {
            if !raw && plan.disable_on_404 && last_code == Some(404) && server.is_up() {
                return outcome(true, reason_of("L7OKC"), None, last_code);
            }
            let status = expect.ok_status.as_deref().unwrap_or("L7OK");
            let info = match (&expect.on_success, pass_info) {
                (Some(m), _) => Some(rules.check_message(m, &answer.bytes, &facts)),
                (None, Some(info)) => Some(info),
                (None, None) => plain_tcp.then(|| "(tcp-check)".to_owned()),
            };
            let code = if raw {
                raw_code(status, last_code)
            } else {
                last_code
            };
            outcome(true, reason_of(status), info, code)
        }
        Action::Connect(_) => {
            let status = if tls_done { "L6OK" } else { "L4OK" };
            let info = (step.id != 0).then(|| "(tcp-check)".to_owned());
            outcome(true, reason_of(status), info, None)
        }
        Action::Send(_) => outcome(true, reason_of("L7OK"), Some("(tcp-check)".into()), Some(0)),
    }
}

fn set(slot: &Mutex<Progress>, status: &str, info: Option<String>) {
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Progress {
        status: status.to_owned(),
        info,
    };
}

fn server_id(server: &Server) -> u32 {
    server
        .options
        .id
        .map_or(server.index as u32 + 1, |id| id as u32)
}

/// Opens a `connect` rule's connection: its address and port, else the
/// check's (`addr`, `port`), else the server's; with `default`, the
/// server's check options (PROXY header, TLS); with `ssl`, TLS with the
/// rule's `sni` and `alpn`. Says whether the connection is TLS.
async fn open(
    server: &Server,
    plan: &CheckPlan,
    connect: &CheckConnect,
    progress: &Mutex<Progress>,
    raw: bool,
) -> Result<(Box<dyn CheckStream>, SocketAddr, SocketAddr, bool), (&'static str, String)> {
    let ip = connect
        .addr
        .or(server.check_ip)
        .unwrap_or(server.addr().ip());
    let port = connect
        .port
        .or(connect.addr_port)
        .or(plan.port)
        .unwrap_or(server.addr().port());
    let addr = SocketAddr::new(ip, port);
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| ("L4CON", io_info(&e)))?;
    let (local, peer) = (
        stream.local_addr().map_err(|e| ("L4CON", io_info(&e)))?,
        addr,
    );
    if connect.linger {
        // `linger`: close with a FIN, not a reset.
        let _ = socket2::SockRef::from(&stream).set_linger(None);
    }
    let mut stream = stream;
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
    let tls = if connect.ssl {
        match &plan.rule_tls {
            Some(Ok(tls)) => Some(tls.clone()),
            Some(Err(e)) => return Err(("L6RSP", e.clone())),
            None => None,
        }
    } else if connect.default {
        server.check_tls.clone()
    } else {
        None
    };
    let Some(tls) = tls else {
        return Ok((Box::new(stream), local, peer, false));
    };
    if raw {
        set(progress, "L6TOUT", None);
    }
    let tls = match &connect.alpn {
        Some(alpn) => std::sync::Arc::new(tls.with_alpn(alpn)),
        None => tls,
    };
    // The default connection sends `check-sni` unless the rule names one.
    let sni = connect.sni.as_deref().or(connect
        .default
        .then_some(server.options.check_sni.as_deref())
        .flatten());
    let tls = tls
        .connect(stream, addr, sni)
        .await
        .map_err(|e| ("L6RSP", e.to_string()))?;
    Ok((Box::new(tls), local, peer, true))
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

/// Reads what comes next (once), noting the close.
async fn read_some(stream: &mut Box<dyn CheckStream>, answer: &mut Answer) -> std::io::Result<()> {
    if answer.closed || answer.bytes.len() >= raw::BUFFER {
        return Ok(());
    }
    let mut buf = [0u8; 4096];
    match stream.read(&mut buf).await {
        Ok(0) => answer.closed = true,
        Ok(n) => answer.bytes.extend_from_slice(&buf[..n]),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => answer.closed = true,
        // A reset after data: judge what came (HAProxy reports the error
        // only without data).
        Err(e) if !answer.bytes.is_empty() => {
            let _ = e;
            answer.closed = true
        }
        Err(e) => return Err(e),
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
        // Raw-byte matchers: the grammar gives them to tcp-check only.
        Matcher::Bytes(_) | Matcher::RHex(_) | Matcher::BytesFormat(_) | Matcher::Custom(_) => {
            (false, phrase.to_owned())
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

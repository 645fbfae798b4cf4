//! Health checks: a TCP connect (`check`) or an HTTP request (`option
//! httpchk`, `http-check expect`) every `inter`, `fastinter` while a
//! transition is under way, `downinter` while DOWN. When a server goes UP
//! or DOWN follows HAProxy's health counter (`health.rs`): it starts UP but
//! falls at its first failed check, then needs `rise` successes to come
//! back and, once confirmed, `fall` failures to go; each transition is
//! logged in HAProxy's words.
//! With `check-ssl` (or `ssl` and no check `port`/`addr`), the check runs
//! over TLS: a bare TLS check passes at the end of the handshake (Layer6).

pub mod agent;

use std::sync::Arc;
use std::time::{Duration, Instant};

use regex::Regex;
use switchyard_grammar::ast::proxy::{HttpCheckExpect, HttpCheckRequest};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::events::Cause;
use super::health::{Health, Transition};
use super::server::Server;
use super::Backend;

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub ok: bool,
    /// HAProxy's reason: "Layer4 check passed", "Layer4 connection problem",
    /// "Layer7 check passed", "Layer7 wrong status", "Layer4 timeout"…
    pub reason: String,
    pub info: Option<String>,
    pub code: Option<u16>,
    pub duration: Duration,
}

/// What to check and how often.
#[derive(Debug, Clone)]
pub struct CheckPlan {
    pub inter: Duration,
    pub fastinter: Duration,
    pub downinter: Duration,
    pub fall: u64,
    pub rise: u64,
    pub timeout: Duration,
    pub port: Option<u16>,
    pub http: Option<HttpCheckRequest>,
    pub expect: Option<HttpCheckExpect>,
    /// `expect rstatus|rstring`'s pattern, compiled once (`-c` refuses an
    /// invalid one).
    pub expect_regex: Option<Regex>,
    /// `http-check send-state`: the node name the state header gives.
    pub send_state: Option<String>,
    /// The server's options, for the PROXY header its checks start with
    /// (`send-proxy`, `send-proxy-v2`).
    pub proxy_protocol: switchyard_grammar::ast::server::ServerOptions,
}

impl CheckPlan {
    pub fn for_server(
        backend: &switchyard_grammar::ast::proxy::Proxy,
        server: &Server,
    ) -> CheckPlan {
        let o = &server.options;
        let inter = o.inter.unwrap_or(Duration::from_secs(2));
        CheckPlan {
            inter,
            fastinter: o.fastinter.unwrap_or(inter),
            downinter: o.downinter.unwrap_or(inter),
            fall: o.fall.unwrap_or(3),
            rise: o.rise.unwrap_or(2),
            timeout: check_timeout(backend, inter),
            port: o.check_port,
            http: backend
                .httpchk
                .as_ref()
                .map(|request| match &backend.http_check_send {
                    Some(send) => request.with(send),
                    None => request.clone(),
                }),
            expect: backend.http_check_expect.clone(),
            expect_regex: backend
                .http_check_expect
                .as_ref()
                .filter(|e| e.kind.starts_with('r'))
                .and_then(|e| Regex::new(&e.pattern.text).ok()),
            send_state: backend.http_check_send_state.then(String::new),
            proxy_protocol: o.clone(),
        }
    }
}

/// How long one check may take: `timeout check` if set, else the check's
/// interval (HAProxy's rule, for health and agent checks alike).
pub fn check_timeout(backend: &switchyard_grammar::ast::proxy::Proxy, inter: Duration) -> Duration {
    backend
        .timeouts
        .check
        .as_ref()
        .map(|t| t.value)
        .unwrap_or(inter)
}

/// Runs checks for `server` until the task is dropped.
pub async fn run(backend: Arc<Backend>, server: Arc<Server>, plan: CheckPlan, spread: Duration) {
    tokio::time::sleep(spread).await;
    let (rise, fall) = (plan.rise as u32, plan.fall as u32);
    loop {
        if !server.checks_enabled() || server.in_maintenance() {
            // `disable health`, or maintenance (where HAProxy pauses the
            // checks too): no checks until it ends.
            tokio::time::sleep(plan.inter).await;
            continue;
        }
        // The counter lives on the server, where the runtime API may have
        // changed it (`set server … health`, leaving maintenance).
        let mut health = Health::resume(rise, fall, server.check_health());
        health.align(server.is_up());
        let before = (server.check_status(), health.value());
        let result = match (&plan.send_state, &plan.http) {
            (Some(node), Some(request)) => {
                // The state header is the request's first field, as HAProxy's.
                let value = super::send_state::value(&backend, &server, &health, node);
                let mut request = request.clone();
                request
                    .headers
                    .insert(0, (super::send_state::NAME.to_owned(), value));
                let plan = CheckPlan {
                    http: Some(request),
                    ..plan.clone()
                };
                check_once(&server, &plan).await
            }
            _ => check_once(&server, &plan).await,
        };
        let status = status_code(&result.reason);
        server.set_check_status(status);
        let transition = if result.ok {
            health.passed()
        } else {
            if health.value() > 0 {
                // HAProxy counts the failures of a server not yet down.
                server
                    .check_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            health.failed()
        };
        server.set_check_health(health.value());
        let changed = before != (Some(status), health.value());
        backend.report_check(&server, &result, &health, changed);
        match transition {
            // An agent's `down` holds the server down until its `up`.
            Some(Transition::Up) if server.agent_says_up() => {
                backend.server_up(&server, Cause::Check(&result))
            }
            Some(Transition::Down) => backend.server_down(&server, Cause::Check(&result)),
            _ => {}
        }
        tokio::time::sleep(health.interval(plan.inter, plan.fastinter, plan.downinter)).await;
    }
}

/// HAProxy's short check status for a reason (`L4OK`, `L4CON`, `L7STS`…).
fn status_code(reason: &str) -> &'static str {
    match reason {
        "Layer4 check passed" => "L4OK",
        "Layer4 connection problem" => "L4CON",
        "Layer4 timeout" => "L4TOUT",
        "Layer7 check passed" => "L7OK",
        "Layer7 wrong status" => "L7STS",
        "Layer7 timeout" => "L7TOUT",
        "Layer6 check passed" => "L6OK",
        "Layer6 timeout" => "L6TOUT",
        "Layer6 invalid response" => "L6RSP",
        _ => "L7RSP",
    }
}

/// One check of `server`.
pub async fn check_once(server: &Server, plan: &CheckPlan) -> CheckResult {
    let start = Instant::now();
    let addr = std::net::SocketAddr::new(
        server.check_ip.unwrap_or(server.addr.ip()),
        plan.port.unwrap_or(server.addr.port()),
    );
    let handshaken = std::sync::atomic::AtomicBool::new(false);
    let outcome = tokio::time::timeout(plan.timeout, async {
        let mut stream = match TcpStream::connect(addr).await {
            Ok(s) => s,
            Err(e) => {
                return (
                    false,
                    "Layer4 connection problem".to_owned(),
                    Some(io_info(&e)),
                    None,
                )
            }
        };
        let header = match (stream.local_addr(), stream.peer_addr()) {
            (Ok(local), Ok(peer)) => {
                switchyard::wire::proxy_protocol::check_header(&plan.proxy_protocol, local, peer)
            }
            _ => None,
        };
        if let Some(header) = &header {
            if let Err(e) = stream.write_all(header).await {
                return (
                    false,
                    "Layer4 connection problem".to_owned(),
                    Some(io_info(&e)),
                    None,
                );
            }
        }
        // `check-ssl` (or `ssl` checked on the traffic port): the check
        // runs inside TLS, and a TLS check without HTTP is a Layer6 one.
        // The server's `sni` is for traffic only (HAProxy has `check-sni`
        // for checks), so none is sent.
        if let Some(tls) = &server.check_tls {
            handshaken.store(true, std::sync::atomic::Ordering::Relaxed);
            let mut stream = match tls.connect(stream, addr, None).await {
                Ok(s) => s,
                Err(e) => {
                    return (
                        false,
                        "Layer6 invalid response".to_owned(),
                        Some(e.to_string()),
                        None,
                    )
                }
            };
            let Some(request) = &plan.http else {
                return (true, "Layer6 check passed".to_owned(), None, None);
            };
            return http_check(&mut stream, request, plan).await;
        }
        let Some(request) = &plan.http else {
            return (true, "Layer4 check passed".to_owned(), None, None);
        };
        http_check(&mut stream, request, plan).await
    })
    .await;
    let duration = start.elapsed();
    match outcome {
        Ok((ok, reason, info, code)) => CheckResult {
            ok,
            reason,
            info,
            code,
            duration,
        },
        Err(_) => {
            let reason = if plan.http.is_some() {
                "Layer7 timeout"
            } else if handshaken.load(std::sync::atomic::Ordering::Relaxed) {
                "Layer6 timeout"
            } else {
                "Layer4 timeout"
            };
            CheckResult {
                ok: false,
                reason: reason.into(),
                info: None,
                code: None,
                duration,
            }
        }
    }
}

fn io_info(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "Connection refused".into(),
        std::io::ErrorKind::ConnectionReset => "Connection reset by peer".into(),
        _ => e.to_string(),
    }
}

/// Whether `response` holds all a check looks at: the head, and with
/// `needs_body` the `content-length` bytes after it (else, the close).
fn answer_complete(response: &[u8], needs_body: bool) -> bool {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    if !needs_body {
        return true;
    }
    let head = String::from_utf8_lossy(&response[..end]);
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())
            .flatten()
    });
    length.is_some_and(|length| response.len() >= end + 4 + length)
}

/// The check request as HAProxy 2.6 writes it: header names in lower case,
/// `content-length` with a body, `connection: close` in HTTP/1.1.
fn check_request_text(request: &HttpCheckRequest) -> String {
    let mut text = format!("{} {} {}\r\n", request.method, request.uri, request.version);
    for (name, value) in &request.headers {
        text.push_str(&format!("{}: {value}\r\n", name.to_ascii_lowercase()));
    }
    if let Some(body) = &request.body {
        text.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    // HTTP/1.1 checks close after the answer, unless the request names its
    // own `connection` (a WebSocket-style upgrade check, say).
    let has_connection = request
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("connection"));
    if request.version != "HTTP/1.0" && !has_connection {
        text.push_str("connection: close\r\n");
    }
    text.push_str("\r\n");
    if let Some(body) = &request.body {
        text.push_str(body);
    }
    text
}

async fn http_check<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: &HttpCheckRequest,
    plan: &CheckPlan,
) -> (bool, String, Option<String>, Option<u16>) {
    let expect = plan.expect.as_ref();
    let text = check_request_text(request);
    if let Err(e) = stream.write_all(text.as_bytes()).await {
        return (
            false,
            "Layer4 connection problem".into(),
            Some(io_info(&e)),
            None,
        );
    }
    let needs_body = expect.is_some_and(|e| !e.kind.contains("status"));
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    // Read what the expectation needs: the head for a status (a 101 or a
    // kept-alive answer must not wait for a close), else the body up to its
    // length, the close, or 16 KiB.
    while response.len() < 16 * 1024 && !answer_complete(&response, needs_body) {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            // A TLS server closing without close_notify: the end all the same.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => {
                return (
                    false,
                    "Layer4 connection problem".into(),
                    Some(io_info(&e)),
                    None,
                )
            }
        }
    }
    let text = String::from_utf8_lossy(&response);
    let status_line = text.lines().next().unwrap_or_default();
    let Some(code) = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
    else {
        return (
            false,
            "Layer7 invalid response".into(),
            Some(status_line.chars().take(60).collect()),
            None,
        );
    };
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let reason_phrase = || status_line.splitn(3, ' ').nth(2).unwrap_or("").to_owned();
    let wrong_status = || {
        (
            false,
            "Layer7 wrong status".to_owned(),
            Some(reason_phrase()),
            Some(code),
        )
    };
    let Some(e) = expect else {
        return if (200..400).contains(&code) {
            (true, "Layer7 check passed".into(), None, Some(code))
        } else {
            wrong_status()
        };
    };
    let pattern = e.pattern.text.as_str();
    let on_status = e.kind.contains("status");
    let matched = match e.kind.as_str() {
        "status" => pattern
            .split(',')
            .any(|p| p.trim().parse::<u16>().ok() == Some(code)),
        "rstatus" => plan
            .expect_regex
            .as_ref()
            .is_some_and(|r| r.is_match(&code.to_string())),
        "string" => body.contains(pattern),
        _ => plan.expect_regex.as_ref().is_some_and(|r| r.is_match(body)),
    };
    match (matched != e.negated, on_status) {
        (true, _) => (true, "Layer7 check passed".into(), None, Some(code)),
        (false, true) => wrong_status(),
        // HAProxy's texts for a body that fails `expect [!] string|rstring`
        // (an L7RSP status, which carries no code).
        (false, false) => (
            false,
            "Layer7 invalid response".into(),
            Some(if e.negated {
                "HTTP check matched unwanted content".into()
            } else {
                "HTTP content check did not match".into()
            }),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::balance::testing::servers;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn tls_check_passes_at_the_end_of_the_handshake() {
        let cert = rcgen::generate_simple_self_signed(vec!["check.test".to_owned()]).unwrap();
        let key = rustls_pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(crate::net::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (s, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move { acceptor.accept(s).await });
            }
        });
        let s = servers(&[&format!("a 127.0.0.1:{port} ssl verify none")]);
        let r = check_once(&s[0], &plan(false)).await;
        assert!(r.ok && r.reason == "Layer6 check passed", "{r:?}");
        assert_eq!(status_code(&r.reason), "L6OK");
        // `port` moves the check elsewhere: plain TCP there, as in HAProxy.
        let s = servers(&[&format!("a 127.0.0.1:{port} ssl verify none port {port}")]);
        let r = check_once(&s[0], &plan(false)).await;
        assert!(r.ok && r.reason == "Layer4 check passed", "{r:?}");
    }

    fn plan(http: bool) -> CheckPlan {
        CheckPlan {
            inter: Duration::from_millis(50),
            fastinter: Duration::from_millis(50),
            downinter: Duration::from_millis(50),
            fall: 2,
            rise: 2,
            timeout: Duration::from_secs(2),
            port: None,
            http: http.then(|| HttpCheckRequest {
                method: "GET".into(),
                uri: "/health".into(),
                version: "HTTP/1.0".into(),
                headers: Vec::new(),
                body: None,
                span: Default::default(),
            }),
            expect: None,
            expect_regex: None,
            send_state: None,
            proxy_protocol: Default::default(),
        }
    }

    #[tokio::test]
    async fn send_proxy_servers_get_a_header_before_the_check() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut got = Vec::new();
                let mut buf = [0u8; 1024];
                while !got.ends_with(b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = seen_tx.send(got);
                let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await;
            }
        });
        let s = servers(&[&format!("a 127.0.0.1:{port} send-proxy")]);
        let mut p = plan(true);
        p.proxy_protocol = s[0].options.clone();
        let result = check_once(&s[0], &p).await;
        assert!(result.ok, "{result:?}");
        let seen = String::from_utf8(seen_rx.recv().await.unwrap()).unwrap();
        let (header, request) = seen.split_once("\r\n").unwrap();
        let prefix = "PROXY TCP4 127.0.0.1 127.0.0.1 ";
        assert!(header.starts_with(prefix), "{seen}");
        assert!(header.ends_with(&format!(" {port}")), "{seen}");
        assert!(request.starts_with("GET /health HTTP/1.0\r\n"), "{seen}");
    }

    #[tokio::test]
    async fn layer4_and_layer7_results() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.0 503 Service Unavailable\r\n\r\nbusy")
                    .await;
            }
        });
        let s = servers(&[&format!("a 127.0.0.1:{port}")]);
        let l4 = check_once(&s[0], &plan(false)).await;
        assert!(l4.ok && l4.reason == "Layer4 check passed", "{l4:?}");
        let l7 = check_once(&s[0], &plan(true)).await;
        assert!(
            !l7.ok && l7.reason == "Layer7 wrong status" && l7.code == Some(503),
            "{l7:?}"
        );
        // check-ssl against a plain server: the handshake fails (Layer6).
        let s = servers(&[&format!("a 127.0.0.1:{port} check-ssl verify none")]);
        let l6 = check_once(&s[0], &plan(false)).await;
        assert!(!l6.ok && l6.reason == "Layer6 invalid response", "{l6:?}");
        let closed = servers(&["b 127.0.0.1:1"]);
        let refused = check_once(&closed[0], &plan(false)).await;
        assert_eq!(
            (refused.ok, refused.info.as_deref()),
            (false, Some("Connection refused"))
        );
    }

    #[test]
    fn check_requests_are_written_as_haproxy_writes_them() {
        let mut request = plan(true).http.unwrap();
        assert_eq!(check_request_text(&request), "GET /health HTTP/1.0\r\n\r\n");
        let send = switchyard_grammar::ast::proxy::HttpCheckSend {
            method: Some("HEAD".into()),
            version: Some("HTTP/1.1".into()),
            headers: vec![("Host".into(), "www.test".into())],
            body: Some("hello".into()),
            ..Default::default()
        };
        request = request.with(&send);
        // Bytes captured from HAProxy 2.6 for the same configuration.
        assert_eq!(
            check_request_text(&request),
            "HEAD /health HTTP/1.1\r\nhost: www.test\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello"
        );
    }

    /// checks/http-check-send.vtc's WebSocket-style check: the request's
    /// own `connection` is the only one, and a `101` that keeps the
    /// connection open passes `expect status 101` without waiting for a close.
    #[tokio::test]
    async fn an_upgrade_check_passes_on_its_101() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !got.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            let _ = seen_tx.send(String::from_utf8(got).unwrap());
            s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: raw-proto\r\n\r\n")
                .await
                .unwrap();
            // Held open, as an upgraded connection is.
            tokio::time::sleep(Duration::from_secs(10)).await;
        });
        let s = servers(&[&format!("a 127.0.0.1:{port}")]);
        let mut p = plan(true);
        let send = switchyard_grammar::ast::proxy::HttpCheckSend {
            version: Some("HTTP/1.1".into()),
            headers: vec![
                ("connection".into(), "upgrade".into()),
                ("upgrade".into(), "raw-proto".into()),
            ],
            ..Default::default()
        };
        p.http = p.http.map(|r| r.with(&send));
        p.expect = Some(HttpCheckExpect {
            negated: false,
            kind: "status".into(),
            pattern: switchyard_grammar::Word::new("101", Default::default()),
            span: Default::default(),
        });
        let result = check_once(&s[0], &p).await;
        assert!(result.ok && result.code == Some(101), "{result:?}");
        assert!(result.duration < Duration::from_secs(1), "{result:?}");
        let seen = seen_rx.recv().await.unwrap();
        assert_eq!(
            seen,
            "GET /health HTTP/1.1\r\nconnection: upgrade\r\nupgrade: raw-proto\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn addr_sends_checks_to_another_address() {
        let listener = TcpListener::bind("127.0.0.2:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                drop(s);
            }
        });
        // The server's own address refuses; its check address accepts.
        let s = servers(&[&format!("a 127.0.0.1:1 addr 127.0.0.2 port {port}")]);
        assert_eq!(s[0].check_ip, Some("127.0.0.2".parse().unwrap()));
        let mut p = plan(false);
        p.port = s[0].options.check_port;
        assert!(check_once(&s[0], &p).await.ok);
    }
}

//! Health checks: a TCP connect (`check`), an HTTP request (`option
//! httpchk`, `http-check expect`), `tcp-check` rules (`option tcp-check`)
//! or a protocol's exchange (`option redis-check`, `mysql-check`,
//! `pgsql-check`, `smtpchk`, `ldap-check`, `ssl-hello-chk`), one engine
//! running the compiled sequence of each (`sequence.rs`, `raw.rs`), every
//! `inter`, `fastinter` while a
//! transition is under way, `downinter` while DOWN. When a server goes UP
//! or DOWN follows HAProxy's health counter (`health.rs`): it starts UP but
//! falls at its first failed check, then needs `rise` successes to come
//! back and, once confirmed, `fall` failures to go; each transition is
//! logged in HAProxy's words.
//! With `check-ssl` (or `ssl` and no check `port`/`addr`), the check runs
//! over TLS: a bare TLS check passes at the end of the handshake (Layer6).

pub mod agent;
pub mod raw;
pub mod result;
pub mod schedule;
pub mod sequence;

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_rules::check::CheckProgram;
use switchyard_rules::RuleSet;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

pub use result::CheckResult;

use super::events::Cause;
use super::health::{Health, Transition};
use super::server::Server;
use super::Backend;

/// A check sequence and the rules that render its log-formats.
#[derive(Debug, Clone)]
pub struct Checks {
    pub rules: Arc<RuleSet>,
    pub program: CheckProgram,
}

/// How a check ended: passed, HAProxy's reason, its information, the
/// HTTP status.
pub type Outcome = (bool, String, Option<String>, Option<u16>);

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
    /// `option httpchk`, `option tcp-check` or a protocol check: the
    /// backend's compiled check sequence.
    pub checks: Option<Checks>,
    /// `http-check disable-on-404`.
    pub disable_on_404: bool,
    /// The TLS of `connect ssl` rules (the server's TLS settings), or why
    /// they cannot be built.
    pub rule_tls: Option<Result<Arc<crate::net::tls::upstream::ServerTls>, String>>,
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
        rules: &Arc<RuleSet>,
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
            checks: rules.checks(&backend.name).map(|program| Checks {
                rules: rules.clone(),
                program: program.clone(),
            }),
            disable_on_404: backend.http_check_disable_on_404,
            rule_tls: rules
                .checks(&backend.name)
                .filter(|p| p.steps.iter().any(|s| matches!(&s.action, switchyard_rules::check::Action::Connect(c) if c.ssl)))
                .map(|_| {
                    crate::net::tls::upstream::ServerTls::build(o)
                        .map(Arc::new)
                        .map_err(|e| e.to_string())
                }),
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
pub async fn run(
    backend: Arc<Backend>,
    server: Arc<Server>,
    plan: CheckPlan,
    schedule: schedule::CheckSchedule,
) {
    tokio::time::sleep(schedule.first).await;
    let (rise, fall) = (plan.rise as u32, plan.fall as u32);
    // Whether a conditional pass (`disable-on-404`) drained the server.
    let mut drained = false;
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
        // The state header, first in every HTTP check request, as HAProxy's.
        let state_header = plan
            .send_state
            .as_ref()
            .filter(|_| {
                plan.checks
                    .as_ref()
                    .is_some_and(|c| c.program.kind == switchyard_rules::check::ProgramKind::Http)
            })
            .map(|node| super::send_state::value(&backend, &server, &health, node));
        let result = check_once(&server, &plan, state_header.as_deref()).await;
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
        let conditional = status == "L7OKC";
        match transition {
            // An agent's `down` holds the server down until its `up`.
            Some(Transition::Up) if server.agent_says_up() => {
                backend.server_up(&server, Cause::Check(&result))
            }
            Some(Transition::Down) => backend.server_down(&server, Cause::Check(&result)),
            // HAProxy's `disable-on-404`: a 404 from a server up drains it
            // (NOLB), a full pass brings it back.
            _ if conditional && server.is_up() && !server.is_stopping() => {
                drained = true;
                backend.server_stopping(&server, Cause::Check(&result));
            }
            _ if drained && result.ok && !conditional && server.is_stopping() => {
                drained = false;
                backend.server_up(&server, Cause::Check(&result));
            }
            _ => {}
        }
        let interval = health.interval(plan.inter, plan.fastinter, plan.downinter);
        let next = tokio::time::Instant::now() + schedule.next(interval);
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            (info, on_error) = server.observer.errors() => {
                on_observed_errors(&backend, &server, &plan, info, on_error, result.duration);
                // Every `on-error` mode brings the next check to `fastinter`.
                let sooner = tokio::time::Instant::now() + plan.fastinter;
                tokio::time::sleep_until(next.min(sooner)).await;
            }
        }
    }
}

/// `error-limit` errors in a row in live traffic (`observe`): `on-error`
/// as HAProxy's `__health_adjust` applies it. `fail-check` is a failed
/// check ("Health analyze"), `sudden-death` first leaves the server one
/// failure from DOWN, `mark-down` takes it DOWN, `fastinter` only hastens
/// the next check.
fn on_observed_errors(
    backend: &Backend,
    server: &Server,
    plan: &CheckPlan,
    info: String,
    on_error: switchyard_grammar::ast::server::OnError,
    last_duration: Duration,
) {
    use switchyard_grammar::ast::server::OnError;
    let (rise, fall) = (plan.rise as u32, plan.fall as u32);
    let mut health = Health::resume(rise, fall, server.check_health());
    health.align(server.is_up());
    match on_error {
        OnError::Fastinter => return,
        OnError::SuddenDeath if health.value() > rise => {
            health = Health::resume(rise, fall, rise + 1);
        }
        OnError::MarkDown => health = Health::resume(rise, fall, rise),
        _ => {}
    }
    let result = CheckResult {
        ok: false,
        reason: "Health analyze".into(),
        info: Some(info),
        code: None,
        duration: last_duration,
    };
    server.set_check_status("HANA");
    if health.value() > 0 {
        server
            .check_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let transition = health.failed();
    server.set_check_health(health.value());
    backend.report_check(server, &result, &health, true);
    if transition == Some(Transition::Down) {
        backend.server_down(server, Cause::Check(&result));
    }
}

/// HAProxy's short check status for a reason (`L4OK`, `L4CON`, `L7STS`…).
fn status_code(reason: &str) -> &'static str {
    match reason {
        "Layer4 check passed" => "L4OK",
        "Layer4 connection problem" => "L4CON",
        "Layer4 timeout" => "L4TOUT",
        "Layer7 check passed" => "L7OK",
        "Layer7 check conditionally passed" => "L7OKC",
        "Layer7 wrong status" => "L7STS",
        "Layer7 timeout" => "L7TOUT",
        "Layer6 check passed" => "L6OK",
        "Layer6 timeout" => "L6TOUT",
        "Layer6 invalid response" => "L6RSP",
        "Health analyze" => "HANA",
        _ => "L7RSP",
    }
}

/// One check of `server`: the HTTP sequence with `option httpchk`, else a
/// TCP connect (in TLS with `check-ssl`).
pub async fn check_once(
    server: &Server,
    plan: &CheckPlan,
    state_header: Option<&str>,
) -> CheckResult {
    let start = Instant::now();
    let (outcome, timeout_reason, timeout_info) = match &plan.checks {
        Some(checks) => {
            let progress = std::sync::Mutex::new(sequence::Progress {
                status: "L7TOUT".to_owned(),
                info: None,
            });
            let run = sequence::run(
                server,
                plan,
                &checks.rules,
                &checks.program,
                state_header,
                &progress,
            );
            let outcome = tokio::time::timeout(plan.timeout, run).await.ok();
            let progress = progress.into_inner().unwrap_or_else(|e| e.into_inner());
            (
                outcome,
                sequence::reason_of(&progress.status),
                progress.info,
            )
        }
        None => {
            let handshaken = std::sync::atomic::AtomicBool::new(false);
            let outcome = tokio::time::timeout(plan.timeout, layer4(server, plan, &handshaken))
                .await
                .ok();
            let reason = if handshaken.load(std::sync::atomic::Ordering::Relaxed) {
                "Layer6 timeout"
            } else {
                "Layer4 timeout"
            };
            (outcome, reason, None)
        }
    };
    let duration = start.elapsed();
    match outcome {
        Some((ok, reason, info, code)) => CheckResult {
            ok,
            reason,
            info,
            code,
            duration,
        },
        None => CheckResult {
            ok: false,
            reason: timeout_reason.into(),
            info: timeout_info,
            code: None,
            duration,
        },
    }
}

/// A check without HTTP: the connection (with the server's PROXY header),
/// and the TLS handshake with `check-ssl`.
async fn layer4(
    server: &Server,
    plan: &CheckPlan,
    handshaken: &std::sync::atomic::AtomicBool,
) -> Outcome {
    let addr = std::net::SocketAddr::new(
        server.check_ip.unwrap_or(server.addr().ip()),
        plan.port.unwrap_or(server.addr().port()),
    );
    let problem = |e: &std::io::Error| {
        (
            false,
            "Layer4 connection problem".to_owned(),
            Some(io_info(e)),
            None,
        )
    };
    let mut stream = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => return problem(&e),
    };
    let header = match (stream.local_addr(), stream.peer_addr()) {
        (Ok(local), Ok(peer)) => {
            switchyard::wire::proxy_protocol::check_header(&plan.proxy_protocol, local, peer)
        }
        _ => None,
    };
    if let Some(header) = &header {
        if let Err(e) = stream.write_all(header).await {
            return problem(&e);
        }
    }
    // `check-ssl` (or `ssl` checked on the traffic port): a TLS check
    // without HTTP is a Layer6 one. The server's `sni` is for traffic only:
    // checks send `check-sni`'s name, or none.
    if let Some(tls) = &server.check_tls {
        handshaken.store(true, std::sync::atomic::Ordering::Relaxed);
        let sni = server.options.check_sni.as_deref();
        return match tls.connect(stream, addr, sni).await {
            Ok(_) => (true, "Layer6 check passed".to_owned(), None, None),
            Err(e) => (
                false,
                "Layer6 invalid response".to_owned(),
                Some(e.to_string()),
                None,
            ),
        };
    }
    (true, "Layer4 check passed".to_owned(), None, None)
}

fn io_info(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "Connection refused".into(),
        std::io::ErrorKind::ConnectionReset => "Connection reset by peer".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::balance::testing::servers;
    use tokio::io::AsyncReadExt;
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
        let r = check_once(&s[0], &plan(false), None).await;
        assert!(r.ok && r.reason == "Layer6 check passed", "{r:?}");
        assert_eq!(status_code(&r.reason), "L6OK");
        // `port` moves the check elsewhere: plain TCP there, as in HAProxy.
        let s = servers(&[&format!("a 127.0.0.1:{port} ssl verify none port {port}")]);
        let r = check_once(&s[0], &plan(false), None).await;
        assert!(r.ok && r.reason == "Layer4 check passed", "{r:?}");
    }

    struct NoFiles;
    impl switchyard_grammar::FileAccess for NoFiles {
        fn read(&self, _: &str) -> std::io::Result<Vec<u8>> {
            Err(std::io::ErrorKind::NotFound.into())
        }
    }

    /// A plan whose HTTP checks are `option httpchk GET /health` and `rules`.
    fn http_plan(rules: &str) -> CheckPlan {
        program_plan(&format!("    option httpchk GET /health\n{rules}"))
    }

    /// A plan whose checks are backend `b`'s with these `lines`.
    fn program_plan(lines: &str) -> CheckPlan {
        let text = format!("backend b\n{lines}    server a 127.0.0.1:1\n");
        let loaded = switchyard_grammar::load(
            &[("t.cfg".into(), text)],
            switchyard_grammar::Environment::new(),
            &NoFiles,
        );
        let set = Arc::new(RuleSet::compile(&loaded.config, &NoFiles).unwrap());
        let mut p = plan(false);
        p.checks = set.checks("b").cloned().map(|program| Checks {
            rules: set.clone(),
            program,
        });
        p
    }

    /// The request of the plan's first `send`, as written on the wire.
    fn first_request(p: &CheckPlan) -> String {
        let http = p.checks.as_ref().unwrap();
        let send = http
            .program
            .steps
            .iter()
            .find_map(|s| match &s.action {
                switchyard_rules::check::Action::Send(switchyard_rules::check::Send::Http(
                    send,
                )) => Some(send),
                _ => None,
            })
            .unwrap();
        sequence::request_text_for_test(&http.rules, send)
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
            checks: http.then(|| http_plan("").checks.unwrap()),
            disable_on_404: false,
            rule_tls: None,
            send_state: None,
            proxy_protocol: Default::default(),
        }
    }

    /// `tcp-check connect ssl sni S alpn A`: a TLS connection offering the
    /// rule's name and protocols; a sequence ending on it is Layer6.
    #[tokio::test]
    async fn a_connect_rule_with_ssl_offers_its_sni_and_alpn() {
        let cert = rcgen::generate_simple_self_signed(vec!["check.test".to_owned()]).unwrap();
        let key = rustls_pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
        let mut config = rustls::ServerConfig::builder_with_provider(crate::net::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let (s, _) = listener.accept().await.unwrap();
                let (acceptor, seen) = (acceptor.clone(), seen_tx.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(s).await {
                        let (_, conn) = tls.get_ref();
                        let _ = seen.send((
                            conn.server_name().map(str::to_owned),
                            conn.alpn_protocol().map(<[u8]>::to_vec),
                        ));
                    }
                });
            }
        });
        let s = servers(&[&format!("a 127.0.0.1:{port} verify none")]);
        let mut p = program_plan(
            "    option tcp-check\n    tcp-check connect ssl sni check.test alpn h2,http/1.1\n",
        );
        p.rule_tls = Some(
            crate::net::tls::upstream::ServerTls::build(&s[0].options)
                .map(Arc::new)
                .map_err(|e| e.to_string()),
        );
        let r = check_once(&s[0], &p, None).await;
        assert!(r.ok && r.reason == "Layer6 check passed", "{r:?}");
        assert_eq!(r.info.as_deref(), Some("(tcp-check)"));
        assert_eq!(
            seen_rx.recv().await.unwrap(),
            (Some("check.test".to_owned()), Some(b"h2".to_vec()))
        );
        // Without `ssl` the same server fails the TLS-less exchange only
        // when something is expected: a bare connect passes at Layer4.
        let p = program_plan("    option tcp-check\n");
        let r = check_once(&s[0], &p, None).await;
        assert!(
            r.ok && r.reason == "Layer4 check passed" && r.info.is_none(),
            "{r:?}"
        );
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
        let result = check_once(&s[0], &p, None).await;
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
        let l4 = check_once(&s[0], &plan(false), None).await;
        assert!(l4.ok && l4.reason == "Layer4 check passed", "{l4:?}");
        let l7 = check_once(&s[0], &plan(true), None).await;
        assert!(
            !l7.ok && l7.reason == "Layer7 wrong status" && l7.code == Some(503),
            "{l7:?}"
        );
        // check-ssl against a plain server: the handshake fails (Layer6).
        let s = servers(&[&format!("a 127.0.0.1:{port} check-ssl verify none")]);
        let l6 = check_once(&s[0], &plan(false), None).await;
        assert!(!l6.ok && l6.reason == "Layer6 invalid response", "{l6:?}");
        let closed = servers(&["b 127.0.0.1:1"]);
        let refused = check_once(&closed[0], &plan(false), None).await;
        assert_eq!(
            (refused.ok, refused.info.as_deref()),
            (false, Some("Connection refused"))
        );
    }

    #[test]
    fn check_requests_are_written_as_haproxy_writes_them() {
        assert_eq!(first_request(&plan(true)), "GET /health HTTP/1.0\r\n\r\n");
        // Bytes captured from HAProxy 2.6 for the same configuration.
        assert_eq!(
            first_request(&http_plan(
                "    http-check send meth HEAD ver HTTP/1.1 hdr Host www.test body hello\n"
            )),
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
        let p = http_plan(
            "    http-check send ver HTTP/1.1 hdr connection upgrade hdr upgrade raw-proto\n    http-check expect status 101\n",
        );
        let result = check_once(&s[0], &p, None).await;
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
        assert!(check_once(&s[0], &p, None).await.ok);
    }
}

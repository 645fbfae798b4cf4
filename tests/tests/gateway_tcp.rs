//! `mode tcp` end to end: the real binary between real TCP clients and
//! real loopback origins (plain and TLS), with `tcp-request` rules, content
//! inspection (SNI routing without terminating TLS), the PROXY protocol in
//! both directions, health checks and idle timeouts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::runtime_api::stat_field;
use switchyard_e2e::syslog::SyslogReceiver;
use switchyard_e2e::tcp_origin::{Greeting, TcpOrigin};
use switchyard_e2e::wait_until;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const DEFAULTS: &str =
    "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";

/// Starts the gateway; `Gateway::start` probes the port with a connection
/// of its own, which is a session too: it must end before the test counts.
async fn start(config: &str, port: u16) -> Gateway {
    let gw = Gateway::start(config, addr(port));
    wait_until(
        "the start-up probe's session ends",
        Duration::from_secs(10),
        || !holds_connection(port),
    )
    .await;
    gw
}

/// Whether a connection accepted on `port` is still open on the
/// gateway's side (`/proc/net/tcp`: a socket whose local address is the
/// listener's, in any state but LISTEN, TIME_WAIT or CLOSE: a socket in
/// TIME_WAIT is one the gateway closed first, and lingers there for a
/// minute after the session has ended).
fn holds_connection(port: u16) -> bool {
    let local = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .any(|f| f.len() > 3 && f[1] == local && !matches!(f[3], "0A" | "06" | "07"))
}

/// Whether `order` follows a round-robin cycle of `cycle`, from anywhere.
fn is_rotation(order: &str, cycle: &str) -> bool {
    cycle.repeat(order.len() / cycle.len() + 2).contains(order)
}

/// Sends `payload` without half-closing (an HTTP server answers then) and
/// reads until the gateway closes.
async fn exchange_open(port: u16, payload: &[u8]) -> String {
    let mut s = TcpStream::connect(addr(port)).await.unwrap();
    s.write_all(payload).await.unwrap();
    read_until_closed(&mut s).await
}

/// Everything read until the gateway closes (or resets) the connection;
/// a connection still open after 5 s fails the test, so that an answer
/// that never comes is not taken for a close.
async fn read_until_closed(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(
        read.is_ok(),
        "the gateway neither closed nor answered within 5 s (read {:?})",
        String::from_utf8_lossy(&out)
    );
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends `payload` (and half-closes after it when `half_close`) and
/// checks that the gateway closes the connection without a byte; how long
/// that took.
async fn refused(port: u16, payload: &[u8], half_close: bool) -> Duration {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr(port)).await.unwrap();
    s.write_all(payload).await.unwrap();
    if half_close {
        s.shutdown().await.unwrap();
    }
    assert_eq!(
        read_until_closed(&mut s).await,
        "",
        "a refusal sends nothing"
    );
    started.elapsed()
}

fn addr(port: u16) -> SocketAddr {
    format!("127.0.0.1:{port}").parse().unwrap()
}

/// Connects, sends `payload`, half-closes, and reads everything back.
async fn exchange(port: u16, payload: &[u8]) -> String {
    let mut s = TcpStream::connect(addr(port)).await.unwrap();
    s.write_all(payload).await.unwrap();
    s.shutdown().await.unwrap();
    read_until_closed(&mut s).await
}

/// The first line an origin greets with, through the gateway.
async fn greeting(port: u16) -> String {
    exchange(port, b"").await.trim_end().to_owned()
}

#[tokio::test]
async fn roundrobin_over_tcp_origins_with_tcplog() {
    let origins = [
        TcpOrigin::start("a", Greeting::Name).await,
        TcpOrigin::start("b", Greeting::Name).await,
        TcpOrigin::start("c", Greeting::Name).await,
    ];
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let log_port = receiver.local_addr().unwrap().port();
    let port = free_port();
    let config = format!(
        "global\n    log 127.0.0.1:{log_port} local0 info\n{DEFAULTS}    log global\n    option tcplog\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n\
         backend be\n    balance roundrobin\n    server a {}\n    server b {}\n    server c {}\n",
        origins[0].addr, origins[1].addr, origins[2].addr
    );
    let _gw = start(&config, port).await;
    let mut order = String::new();
    for _ in 0..6 {
        order.push_str(&greeting(port).await);
    }
    assert_eq!(order.len(), 6);
    assert!(is_rotation(&order, "abc"), "{order}");
    // The payload reached the origin, after the greeting went out.
    let next = &order[..1];
    assert_eq!(exchange(port, b"hello").await, format!("{next}\n"));
    let to = origins.iter().find(|o| o.name == next).unwrap();
    wait_until(
        "the origin receives the payload",
        Duration::from_secs(5),
        || to.received().iter().any(|r| r == b"hello"),
    )
    .await;
    let mut lines = Vec::new();
    let mut buf = [0u8; 2048];
    while lines.len() < 7 {
        let n = receiver.recv(&mut buf).unwrap();
        lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    // HAProxy's tcplog: "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts ...".
    let last = lines
        .iter()
        .find(|l| l.contains(" fe be/a ") && l.contains(" 2 -- "))
        .cloned();
    assert!(last.is_some(), "{lines:#?}");
    assert!(lines.iter().all(|l| l.starts_with("<134>")), "{lines:#?}");
}

#[tokio::test]
async fn l7_hash_balancing_falls_back_to_roundrobin_in_tcp_mode() {
    let a = TcpOrigin::start("a", Greeting::Name).await;
    let b = TcpOrigin::start("b", Greeting::Name).await;
    let port = free_port();
    let config = format!(
        "{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    balance uri\n    server a {}\n    server b {}\n",
        a.addr, b.addr
    );
    let _gw = start(&config, port).await;
    let mut order = String::new();
    for _ in 0..4 {
        order.push_str(&greeting(port).await);
    }
    assert!(is_rotation(&order, "ab"), "{order}");
}

/// TCP checks alone (no `retries`, no `redispatch`): a stopped server is
/// DOWN after exactly `fall` = 2 refused connections, said in HAProxy's
/// words (captured from haproxy 2.6.12), and takes no connection; UP
/// again after `rise` = 1 good check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_alone_take_a_stopped_server_out_and_back() {
    let a = TcpOrigin::start("a", Greeting::Name).await;
    let b = TcpOrigin::start("b", Greeting::Name).await;
    let receiver = SyslogReceiver::start();
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("api.sock");
    let config = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}    retries 0\nfrontend fe\n    bind 127.0.0.1:{port}\n    default_backend l\nbackend l\n    log 127.0.0.1:{} daemon\n    \
         server a {} check inter 100 fall 2 rise 1\n    server b {} check inter 100 fall 2 rise 1\n",
        socket.display(),
        receiver.port,
        a.addr,
        b.addr
    );
    let _gw = start(&config, port).await;
    let both = greeting(port).await + &greeting(port).await;
    assert!(both == "ab" || both == "ba", "{both}");
    let a_addr = a.stop();
    assert_eq!(
        receiver.next_event(),
        (1, "Server l/a is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: Nms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.".into())
    );
    let column = |name: &str| stat_field(&socket, "l", "a", name);
    // `chkfail`: the 2 failures of `fall`, not one more or less.
    assert_eq!(
        (
            column("status").as_str(),
            column("check_status").as_str(),
            column("chkfail").as_str()
        ),
        ("DOWN", "L4CON", "2")
    );
    // With no retries, a connection sent to a would fail: none is.
    for _ in 0..4 {
        assert_eq!(greeting(port).await, "b", "a DOWN server takes nothing");
    }
    let a = TcpOrigin::start_on("a", Greeting::Name, a_addr).await;
    assert_eq!(
        receiver.next_event(),
        (5, "Server l/a is UP, reason: Layer4 check passed, check duration: Nms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.".into())
    );
    let mut seen = String::new();
    for _ in 0..4 {
        seen.push_str(&greeting(port).await);
    }
    assert!(seen.contains('a') && seen.contains('b'), "{seen}");
    drop(a);
}

#[tokio::test]
async fn connection_rules_reject_by_source_address() {
    let o = TcpOrigin::start("o", Greeting::Name).await;
    let port = free_port();
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    tcp-request connection reject if {{ src 127.0.0.2 }}\n    default_backend be\nbackend be\n    server o {}\n",
        o.addr
    );
    let _gw = start(&config, port).await;
    assert_eq!(greeting(port).await, "o");
    let before = o.received().len();
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut s = socket.connect(addr(port)).await.unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(
        read.is_ok(),
        "the gateway closes a rejected connection at once"
    );
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(
        o.received().len(),
        before,
        "the origin never saw the rejected client"
    );
}

#[tokio::test]
async fn send_proxy_v1_and_v2_reach_the_origin() {
    let v1 = TcpOrigin::start("v1", Greeting::Name).await;
    let v2 = TcpOrigin::start("v2", Greeting::Name).await;
    let (p1, p2) = (free_port(), free_port());
    let config = format!(
        "{DEFAULTS}listen one\n    bind 127.0.0.1:{p1}\n    server s {} send-proxy\n\
         listen two\n    bind 127.0.0.1:{p2}\n    server s {} send-proxy-v2\n",
        v1.addr, v2.addr
    );
    let _gw = start(&config, p1).await;
    let mut s = TcpStream::connect(addr(p1)).await.unwrap();
    let client_port = s.local_addr().unwrap().port();
    s.write_all(b"ping").await.unwrap();
    s.shutdown().await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    assert_eq!(out, b"v1\n");
    let pinged = |o: &TcpOrigin| o.received().iter().any(|r| r.ends_with(b"ping"));
    wait_until("v1 receives the payload", Duration::from_secs(5), || {
        pinged(&v1)
    })
    .await;
    let expected = format!("PROXY TCP4 127.0.0.1 127.0.0.1 {client_port} {p1}\r\nping");
    let got = v1.received().into_iter().find(|r| r.ends_with(b"ping"));
    assert_eq!(String::from_utf8_lossy(&got.unwrap()), expected);

    let mut s = TcpStream::connect(addr(p2)).await.unwrap();
    let client_port = s.local_addr().unwrap().port();
    s.write_all(b"ping").await.unwrap();
    s.shutdown().await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    wait_until("v2 receives the payload", Duration::from_secs(5), || {
        pinged(&v2)
    })
    .await;
    let got = &v2
        .received()
        .into_iter()
        .find(|r| r.ends_with(b"ping"))
        .unwrap();
    let mut expected = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    expected.extend([127, 0, 0, 1, 127, 0, 0, 1]);
    expected.extend(client_port.to_be_bytes());
    expected.extend(p2.to_be_bytes());
    expected.extend(b"ping");
    assert_eq!(got, &expected);
}

#[tokio::test]
async fn accept_proxy_gives_the_header_address_to_forwardfor() {
    let o = Origin::start("o").await;
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 2s\n    timeout server 10s\n\
         frontend fe\n    bind 127.0.0.1:{port} accept-proxy\n    option forwardfor\n    \
         acl from_doc src 203.0.113.0/24\n    http-request deny if !from_doc\n    default_backend be\n\
         backend be\n    server o {}\n",
        o.addr
    );
    let _gw = start(&config, port).await;
    let request = "GET /p HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let v1 = format!("PROXY TCP4 203.0.113.7 127.0.0.1 5555 {port}\r\n{request}");
    let answer = exchange_open(port, v1.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let mut v2 = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    v2.extend([203, 0, 113, 8, 127, 0, 0, 1]);
    v2.extend(5556u16.to_be_bytes());
    v2.extend(port.to_be_bytes());
    v2.extend(request.as_bytes());
    let answer = exchange_open(port, &v2).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let seen = o.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header_values("x-forwarded-for"), ["203.0.113.7"]);
    assert_eq!(seen[1].header_values("x-forwarded-for"), ["203.0.113.8"]);
    // Without a header, or with a malformed one: closed, nothing forwarded.
    // (at once: not after a timeout)
    let t = refused(port, request.as_bytes(), false).await;
    assert!(t < Duration::from_secs(1), "closed after {t:?}");
    let bad = format!("PROXY TCP4 203.0.113.7 127.0.0.1 99999 {port}\r\n{request}");
    let t = refused(port, bad.as_bytes(), false).await;
    assert!(t < Duration::from_secs(1), "closed after {t:?}");
    assert_eq!(o.seen().len(), 2, "nothing forwarded");
    // A client that sends nothing is dropped after the client timeout.
    let started = Instant::now();
    let mut silent = TcpStream::connect(addr(port)).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(6), silent.read_to_end(&mut out)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(o.seen().len(), 2);
}

#[tokio::test]
async fn send_proxy_in_http_mode_opens_private_server_connections() {
    let o = TcpOrigin::start("o", Greeting::Http).await;
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
         listen l\n    bind 127.0.0.1:{port}\n    server o {} send-proxy\n",
        o.addr
    );
    let _gw = start(&config, port).await;
    // Two clients, two requests each on one keep-alive connection.
    let mut clients = Vec::new();
    for _ in 0..2 {
        clients.push(TcpStream::connect(addr(port)).await.unwrap());
    }
    for round in 0..2 {
        for c in clients.iter_mut() {
            let me = c.local_addr().unwrap().port();
            let req = format!("GET /{round} HTTP/1.1\r\nHost: x\r\nX-Client: {me}\r\n\r\n");
            c.write_all(req.as_bytes()).await.unwrap();
            let mut buf = [0u8; 512];
            let n = c.read(&mut buf).await.unwrap();
            assert!(
                buf[..n].starts_with(b"HTTP/1.1 200"),
                "{:?}",
                String::from_utf8_lossy(&buf[..n])
            );
        }
    }
    let received = o.received();
    let requests: usize = received
        .iter()
        .map(|r| {
            String::from_utf8_lossy(r)
                .to_ascii_lowercase()
                .matches("x-client: ")
                .count()
        })
        .sum();
    assert_eq!(requests, 4);
    // Every server connection starts with a header naming one client, and
    // carries that client's requests only.
    for conn in received {
        let text = String::from_utf8_lossy(&conn).into_owned();
        let first = text.lines().next().unwrap_or_default().to_owned();
        assert!(
            first.starts_with("PROXY TCP4 127.0.0.1 127.0.0.1 "),
            "{text}"
        );
        let client_port = first.split(' ').nth(4).unwrap().to_owned();
        for line in text
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("x-client:"))
        {
            assert!(line.ends_with(&client_port), "{text}");
        }
    }
}

#[tokio::test]
async fn idle_tunnels_close_after_client_server_or_tunnel_timeout() {
    let o = TcpOrigin::start("o", Greeting::Name).await;
    let (short, tunnel) = (free_port(), free_port());
    let config = format!(
        "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 300ms\n    timeout server 5s\n\
         listen short\n    bind 127.0.0.1:{short}\n    server o {}\n\
         listen long\n    bind 127.0.0.1:{tunnel}\n    timeout tunnel 3s\n    server o {}\n",
        o.addr, o.addr
    );
    let _gw = start(&config, short).await;
    let closed_after = |port: u16| async move {
        let mut s = TcpStream::connect(addr(port)).await.unwrap();
        let started = Instant::now();
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
            .await
            .expect("the gateway closes idle tunnels")
            .ok();
        assert_eq!(out, b"o\n");
        started.elapsed()
    };
    // The windows are wide apart (300 ms against 3 s), so that a loaded
    // machine's late timers cannot make one timeout pass for the other.
    let t = closed_after(short).await;
    assert!(
        t >= Duration::from_millis(280) && t < Duration::from_millis(2500),
        "{t:?}"
    );
    let t = closed_after(tunnel).await;
    assert!(
        t >= Duration::from_millis(2950) && t < Duration::from_millis(6000),
        "{t:?}"
    );
    // Traffic keeps a tunnel open past the client timeout.
    let mut s = TcpStream::connect(addr(short)).await.unwrap();
    let mut greeting = [0u8; 2];
    s.read_exact(&mut greeting).await.unwrap();
    // Pauses of a fifth of the timeout: a loaded machine's late timers
    // cannot stretch one to the limit.
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        s.write_all(b"x").await.unwrap();
    }
    // The tunnel is still open: the origin gets all twelve bytes, on one
    // connection that has not ended.
    let xs = |o: &TcpOrigin| -> usize {
        o.received()
            .iter()
            .map(|r| r.iter().filter(|b| **b == b'x').count())
            .sum()
    };
    wait_until(
        "the origin receives the twelve bytes",
        Duration::from_secs(5),
        || xs(&o) >= 12,
    )
    .await;
    assert_eq!(
        xs(&o),
        12,
        "720 ms of steady traffic through a 300 ms client timeout"
    );
}

/// A TLS origin answering its name, with a certificate for `host`.
async fn tls_origin(name: &'static str, host: &str) -> (SocketAddr, Vec<u8>) {
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let cert = rcgen::generate_simple_self_signed(vec![host.to_owned()]).unwrap();
    let der = cert.cert.der().to_vec();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()));
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![CertificateDer::from(der.clone())], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    let _ = tls.write_all(format!("{name}\n").as_bytes()).await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    (addr, der)
}

#[tokio::test]
async fn sni_passthrough_to_two_tls_origins() {
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    let (a, a_cert) = tls_origin("a", "a.example").await;
    let (b, b_cert) = tls_origin("b", "b.example").await;
    let port = free_port();
    let config = format!(
        "{DEFAULTS}frontend tls\n    bind 127.0.0.1:{port}\n    tcp-request inspect-delay 5s\n    \
         tcp-request content accept if {{ req.ssl_hello_type 1 }}\n    tcp-request content reject\n    \
         use_backend a if {{ req.ssl_sni -i a.example }}\n    use_backend b if {{ req_ssl_sni -i b.example }}\n\
         backend a\n    server a {a}\nbackend b\n    server b {b}\n"
    );
    let _gw = start(&config, port).await;
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(a_cert)).unwrap();
    roots.add(CertificateDer::from(b_cert)).unwrap();
    let client = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    for (host, want) in [
        ("a.example", "a\n"),
        ("b.example", "b\n"),
        ("A.EXAMPLE", "a\n"),
    ] {
        let tcp = TcpStream::connect(addr(port)).await.unwrap();
        let name = ServerName::try_from(host.to_ascii_lowercase()).unwrap();
        let mut tls = connector
            .connect(name, tcp)
            .await
            .expect("handshake through the gateway");
        let mut out = String::new();
        let _ = tls.read_to_string(&mut out).await;
        assert_eq!(out, want, "{host}");
    }
    // Not TLS: the catch-all content rule rejects it once it is clear.
    let t = refused(port, b"GET / HTTP/1.1\r\n\r\n", true).await;
    assert!(t < Duration::from_secs(4), "closed after {t:?}");
}

#[tokio::test]
async fn connection_rules_in_http_mode_see_the_real_address_not_the_proxy_header() {
    let o = Origin::start("o").await;
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 2s\n    timeout server 10s\n\
         frontend fe\n    bind 127.0.0.1:{port} accept-proxy\n    option forwardfor\n    \
         tcp-request connection reject if {{ src 127.0.0.2 }}\n    default_backend be\n\
         backend be\n    server o {}\n",
        o.addr
    );
    let _gw = start(&config, port).await;
    let request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    // From 127.0.0.1, with a header naming 127.0.0.2: served.
    let named = format!("PROXY TCP4 127.0.0.2 127.0.0.1 5555 {port}\r\n{request}");
    let answer = exchange_open(port, named.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(o.seen()[0].header_values("x-forwarded-for"), ["127.0.0.2"]);
    // From 127.0.0.2, whatever the header says: refused at accept.
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut s = socket.connect(addr(port)).await.unwrap();
    let hidden = format!("PROXY TCP4 203.0.113.7 127.0.0.1 5555 {port}\r\n{request}");
    let _ = s.write_all(hidden.as_bytes()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    assert_eq!(o.seen().len(), 1);
}

#[tokio::test]
async fn backend_content_rules_run_after_the_frontend_chose() {
    let o = TcpOrigin::start("o", Greeting::Name).await;
    let port = free_port();
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n\
         backend be\n    tcp-request inspect-delay 2s\n    \
         tcp-request content reject if {{ req.payload(0,3) -m str BAD }}\n    server o {}\n",
        o.addr
    );
    let _gw = start(&config, port).await;
    let before = o.received().len();
    // Rejected as soon as the payload matches, not at the 2 s inspect-delay.
    let t = refused(port, b"BAD request", true).await;
    assert!(t < Duration::from_secs(1), "closed after {t:?}");
    assert_eq!(o.received().len(), before, "refused before connecting");
    assert_eq!(exchange(port, b"GOOD").await, "o\n");
    wait_until("the origin receives GOOD", Duration::from_secs(5), || {
        o.received().iter().any(|r| r == b"GOOD")
    })
    .await;
}

#[tokio::test]
async fn the_stats_csv_counts_tcp_sessions() {
    let a = TcpOrigin::start("a", Greeting::Name).await;
    let b = TcpOrigin::start("b", Greeting::Name).await;
    let (port, stats) = (free_port(), free_port());
    let config = format!(
        "{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    server a {}\n    server b {}\n\
         listen stats\n    mode http\n    bind 127.0.0.1:{stats}\n    stats enable\n    stats uri /s\n",
        a.addr, b.addr
    );
    let _gw = start(&config, port).await;
    for _ in 0..4 {
        greeting(port).await;
    }
    let csv = switchyard_e2e::client::get(
        &switchyard_e2e::client::client(),
        &format!("http://127.0.0.1:{stats}/s;csv"),
        &[],
    )
    .await
    .unwrap()
    .body;
    let mut lines = csv.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let col = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let row = |sv: &str| rows.iter().find(|r| r[0] == "l" && r[1] == sv).unwrap();
    let fe = row("FRONTEND");
    assert_eq!(fe[col("mode")], "tcp");
    // Four sessions, and the start-up probe of the test harness.
    assert_eq!(fe[col("stot")], "5");
    assert_eq!(fe[col("scur")], "0");
    let picks: u64 = ["a", "b"]
        .iter()
        .map(|s| row(s)[col("lbtot")].parse::<u64>().unwrap())
        .sum();
    assert_eq!(picks, 5);
    assert_eq!(row("BACKEND")[col("mode")], "tcp");
}

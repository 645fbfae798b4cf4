//! The HTTP gateway end to end: the real binary between a real client and
//! real origins on loopback; assertions on what the client got and on what
//! the origin saw.

use std::time::Duration;

use switchyard_e2e::client::{client, client_without_keepalive, get};
use switchyard_e2e::faulty_origin::{Fault, FaultyOrigin};
use switchyard_e2e::gateway::{closed_address, free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::runtime_api::{command, stat_field};
use switchyard_e2e::syslog::SyslogReceiver;

/// `nbthread 1` runs the gateway on a single-threaded runtime (the
/// benchmark's setting); the other tests use the multi-threaded one.
const ONE_THREAD: &str = "global\n    nbthread 1\n";

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";

fn url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

fn start(config: &str, port: u16) -> Gateway {
    Gateway::start(config, format!("127.0.0.1:{port}").parse().unwrap())
}

#[tokio::test]
async fn routes_by_host_and_path_and_forwards_as_haproxy_does() {
    let (shop, api) = (Origin::start("shop").await, Origin::start("api").await);
    let port = free_port();
    let config = format!(
        "{ONE_THREAD}{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    option forwardfor\n    acl api path_beg /api\n    acl shop hdr(host) -i shop.test\n    use_backend api if api\n    use_backend shop if shop\n\
         backend shop\n    server s {}\nbackend api\n    server a {}\n",
        shop.addr, api.addr
    );
    let _gw = start(&config, port);
    let c = client();
    let r = get(
        &c,
        &url(port, "/"),
        &[
            ("Host", "SHOP.test"),
            ("X-Forwarded-For", "203.0.113.9"),
            ("Connection", "keep-alive, X-Secret"),
            ("X-Secret", "1"),
        ],
    )
    .await
    .unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "shop\n"));
    let r = get(&c, &url(port, "/api/users?id=1"), &[("Host", "shop.test")])
        .await
        .unwrap();
    assert_eq!(r.body, "api\n");
    let r = get(&c, &url(port, "/"), &[("Host", "other.test")])
        .await
        .unwrap();
    assert_eq!(
        r.status, 503,
        "no use_backend matched and no default_backend"
    );
    assert!(r
        .body
        .contains("No server is available to handle this request."));

    let seen = &shop.seen()[0];
    assert_eq!(
        seen.header_values("host"),
        ["SHOP.test"],
        "Host is preserved"
    );
    assert_eq!(
        seen.header_values("x-forwarded-for"),
        ["203.0.113.9", "127.0.0.1"],
        "the client's XFF is kept, ours appended"
    );
    assert!(
        seen.header_values("x-secret").is_empty(),
        "fields named by Connection are hop-by-hop"
    );
    assert_eq!(api.seen()[0].uri, "/api/users?id=1");
}

#[tokio::test]
async fn forwardfor_variants() {
    let o = Origin::start("o").await;
    let port = free_port();
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend b\n\
         backend b\n    option forwardfor header X-Client if-none\n    server s {}\n",
        o.addr
    );
    let _gw = start(&config, port);
    let c = client();
    get(&c, &url(port, "/"), &[]).await.unwrap();
    get(&c, &url(port, "/"), &[("X-Client", "198.51.100.1")])
        .await
        .unwrap();
    let seen = o.seen();
    assert_eq!(seen[0].header_values("x-client"), ["127.0.0.1"]);
    assert_eq!(
        seen[1].header_values("x-client"),
        ["198.51.100.1"],
        "if-none keeps the client's header alone"
    );
    assert!(seen[0].header_values("x-forwarded-for").is_empty());

    let port2 = free_port();
    let config = format!("{DEFAULTS}listen l\n    bind 127.0.0.1:{port2}\n    option forwardfor except 127.0.0.0/8\n    server s {}\n", o.addr);
    let _gw2 = start(&config, port2);
    get(&c, &url(port2, "/"), &[]).await.unwrap();
    assert!(
        o.seen()[2].header_values("x-forwarded-for").is_empty(),
        "loopback clients are excepted"
    );
}

#[tokio::test]
async fn cookie_insert_indirect_keeps_sessions_and_hides_the_cookie() {
    let (a, b) = (Origin::start("a").await, Origin::start("b").await);
    let port = free_port();
    let config = format!(
        "{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    cookie SRV insert indirect nocache httponly\n    server a {} cookie ca\n    server b {} cookie cb\n",
        a.addr, b.addr
    );
    let _gw = start(&config, port);
    let c = client_without_keepalive();
    let first = get(&c, &url(port, "/"), &[]).await.unwrap();
    let set_cookie = first.header("set-cookie").unwrap().to_owned();
    assert!(
        set_cookie.starts_with("SRV=c")
            && set_cookie.contains("path=/")
            && set_cookie.contains("HttpOnly"),
        "{set_cookie}"
    );
    // A plain 200 (no validator, no freshness) is not cacheable: HAProxy
    // adds no `Cache-Control` for `nocache` (see `h1_wire.rs` for one that is).
    assert_eq!(first.header("cache-control"), None);
    let value = set_cookie.split(';').next().unwrap().to_owned();
    let served_by = first.body.clone();
    for _ in 0..6 {
        let r = get(
            &c,
            &url(port, "/"),
            &[("Cookie", &format!("theme=dark; {value}"))],
        )
        .await
        .unwrap();
        assert_eq!(r.body, served_by, "the session stays on one server");
        assert!(
            r.header("set-cookie").is_none(),
            "the client already has the right cookie"
        );
    }
    for seen in a.seen().iter().chain(b.seen().iter()) {
        for cookie in seen.header_values("cookie") {
            assert!(
                !cookie.contains("SRV="),
                "indirect: servers never see the persistence cookie ({cookie})"
            );
        }
    }
    // A cookie naming an unknown server is balanced and set anew.
    let r = get(&c, &url(port, "/"), &[("Cookie", "SRV=zz")])
        .await
        .unwrap();
    assert!(r.header("set-cookie").unwrap().starts_with("SRV=c"));
    // Values never reveal addresses.
    assert!(!set_cookie.contains("127.0.0.1"));
}

#[tokio::test]
async fn cookie_dates_and_persist_overrides() {
    let (a, b) = (Origin::start("a").await, Origin::start("b").await);
    let port = free_port();
    // b is in maintenance: only force-persist reaches it.
    let config = format!(
        "{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    cookie SRV insert indirect maxidle 30m maxlife 8h\n    ignore-persist if {{ path_beg /static }}\n    force-persist if {{ hdr(x-admin) -m found }}\n    server a {} cookie ca\n    server b {} cookie cb disabled\n",
        a.addr, b.addr
    );
    let _gw = start(&config, port);
    let c = client_without_keepalive();
    // maxidle/maxlife: the value carries HAProxy's last-seen and first-seen dates.
    let first = get(&c, &url(port, "/"), &[]).await.unwrap();
    let set = first.header("set-cookie").unwrap().to_owned();
    let value = set.split(';').next().unwrap().to_owned();
    let parts: Vec<&str> = value.trim_start_matches("SRV=").split('|').collect();
    assert_eq!(parts.len(), 3, "{set}");
    assert_eq!(parts[0], "ca");
    assert!(parts[1..].iter().all(|d| d.len() == 5), "{set}");
    // The same cookie within seconds: kept, nothing sent again.
    let again = get(&c, &url(port, "/"), &[("Cookie", &value)])
        .await
        .unwrap();
    assert_eq!(again.body, "a\n");
    assert!(again.header("set-cookie").is_none());
    // A cookie idle since 1970 is worth nothing: balanced and set anew.
    let stale = get(&c, &url(port, "/"), &[("Cookie", "SRV=ca|AAAAB|AAAAB")])
        .await
        .unwrap();
    assert!(stale.header("set-cookie").unwrap().starts_with("SRV=ca|"));
    // ignore-persist: no cookie is set, and with indirect none reaches the server.
    let r = get(&c, &url(port, "/static/logo.png"), &[("Cookie", "SRV=cb")])
        .await
        .unwrap();
    assert_eq!(r.body, "a\n", "b is in maintenance");
    assert!(r.header("set-cookie").is_none());
    // force-persist: the cookie's server even in maintenance.
    let r = get(
        &c,
        &url(port, "/"),
        &[("Cookie", "SRV=cb"), ("X-Admin", "1")],
    )
    .await
    .unwrap();
    assert_eq!(r.body, "b\n");
    let r = get(&c, &url(port, "/"), &[("Cookie", "SRV=cb")])
        .await
        .unwrap();
    assert_eq!(r.body, "a\n", "without force-persist b stays out");
    assert!(a
        .seen()
        .iter()
        .chain(b.seen().iter())
        .all(|s| s.header_values("cookie").is_empty()));
}

#[tokio::test]
async fn cookie_prefix_and_rewrite() {
    let (a, b) = (Origin::start("a").await, Origin::start("b").await);
    let port = free_port();
    let config = format!(
        "{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    cookie JSESSIONID prefix\n    server a {} cookie pa\n    server b {} cookie pb\n",
        a.addr, b.addr
    );
    let _gw = start(&config, port);
    let c = client_without_keepalive();
    let r = get(
        &c,
        &url(port, "/login?set-cookie=JSESSIONID=xyz;%20Path=/"),
        &[],
    )
    .await
    .unwrap();
    let sc = r.header("set-cookie").unwrap().to_owned();
    assert!(
        sc.starts_with("JSESSIONID=p") && sc.contains("~xyz"),
        "{sc}"
    );
    let value = sc.split(';').next().unwrap().to_owned();
    let r2 = get(&c, &url(port, "/next"), &[("Cookie", &value)])
        .await
        .unwrap();
    assert_eq!(r2.body, r.body);
    let origin = if r.body == "a\n" { &a } else { &b };
    let last = origin.seen().last().unwrap().clone();
    assert_eq!(
        last.header_values("cookie"),
        ["JSESSIONID=xyz"],
        "the prefix is stripped before the server"
    );

    let port2 = free_port();
    let config = format!("{DEFAULTS}listen l\n    bind 127.0.0.1:{port2}\n    cookie SRV rewrite\n    server a {} cookie ra\n", a.addr);
    let _gw2 = start(&config, port2);
    let r = get(&c, &url(port2, "/?set-cookie=SRV=anything"), &[])
        .await
        .unwrap();
    assert_eq!(r.header("set-cookie"), Some("SRV=ra"));
}

#[tokio::test]
async fn weighted_round_robin_and_hashing() {
    let (a, b) = (Origin::start("a").await, Origin::start("b").await);
    let port = free_port();
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    use_backend h if {{ path_beg /h }}\n    default_backend rr\n\
         backend rr\n    balance roundrobin\n    server a {} weight 3\n    server b {} weight 1\n\
         backend h\n    balance source\n    server a {}\n    server b {}\n",
        a.addr, b.addr, a.addr, b.addr
    );
    let _gw = start(&config, port);
    let c = client();
    let mut order = String::new();
    for _ in 0..8 {
        order.push_str(get(&c, &url(port, "/"), &[]).await.unwrap().body.trim());
    }
    assert_eq!(order, "aaabaaab", "HAProxy's order for weights 3 and 1");
    let first = get(&c, &url(port, "/h"), &[]).await.unwrap().body;
    for _ in 0..5 {
        assert_eq!(
            get(&c, &url(port, "/h"), &[]).await.unwrap().body,
            first,
            "balance source: one client, one server"
        );
    }
}

/// A health endpoint whose answer the test switches: `HTTP/1.1 200 OK`
/// with the body `healthy` or `sick`, one answer per connection.
struct HealthEndpoint {
    addr: std::net::SocketAddr,
    healthy: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl HealthEndpoint {
    async fn start() -> HealthEndpoint {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let healthy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = healthy.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let body = if flag.load(std::sync::atomic::Ordering::SeqCst) {
                    "healthy"
                } else {
                    "sick"
                };
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        HealthEndpoint {
            addr,
            healthy,
            task,
        }
    }

    fn set_healthy(&self, healthy: bool) {
        self.healthy
            .store(healthy, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for HealthEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Checks alone (no `retries`, no `redispatch` to route around a dead
/// server) take a server out after exactly `fall` failed `http-check
/// expect`s and back after exactly `rise` passed ones, with HAProxy's log
/// lines and levels (captured from haproxy 2.6.12 for the same
/// configuration) and its states on the runtime API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_checks_take_a_server_out_after_fall_failures_and_back_after_rise() {
    let endpoint = HealthEndpoint::start().await;
    let receiver = SyslogReceiver::start();
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("api.sock");
    let config = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend l\nbackend l\n    retries 0\n    option log-health-checks\n    log 127.0.0.1:{} daemon\n    option httpchk GET /health\n    http-check expect string healthy\n    server a {} check inter 100ms fall 3 rise 2\n",
        socket.display(),
        receiver.port,
        endpoint.addr
    );
    let _gw = start(&config, port);
    let state = |column: usize| {
        command(&socket, "show servers state l")
            .lines()
            .find(|l| l.split(' ').nth(3) == Some("a"))
            .and_then(|l| l.split(' ').nth(column).map(str::to_owned))
            .unwrap()
    };
    let check_status = || stat_field(&socket, "l", "a", "check_status");
    let check = |result: &str, why: &str, status: &str| {
        (
            5,
            format!("Health check for server l/a {result}, reason: {why}, check duration: Nms, status: {status}."),
        )
    };
    let passed = "Layer7 check passed, code: 200";
    let failed = "Layer7 invalid response, info: \"HTTP content check did not match\"";

    // Started UP at `rise`: the first pass fills the counter.
    assert_eq!(receiver.next_event(), check("succeeded", passed, "3/3 UP"));
    endpoint.set_healthy(false);
    // Exactly `fall` = 3 failures, the third taking it DOWN.
    assert_eq!(receiver.next_event(), check("failed", failed, "2/3 UP"));
    assert_eq!(receiver.next_event(), check("failed", failed, "1/3 UP"));
    assert_eq!(receiver.next_event(), check("failed", failed, "0/2 DOWN"));
    assert_eq!(
        receiver.next_event(),
        (1, "Server l/a is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.".into())
    );
    assert_eq!(
        receiver.next_event(),
        (0, "backend l has no server available!".into())
    );
    // op_state 0 (stopped), check_status 13 (L7RSP), health 0.
    assert_eq!(
        (state(5), state(10), state(12)),
        ("0".into(), "13".into(), "0".into())
    );
    assert_eq!(check_status(), "L7RSP");
    let c = client_without_keepalive();
    assert_eq!(get(&c, &url(port, "/"), &[]).await.unwrap().status, 503);

    endpoint.set_healthy(true);
    // Exactly `rise` = 2 passes bring it back.
    assert_eq!(
        receiver.next_event(),
        check("succeeded", passed, "1/2 DOWN")
    );
    assert_eq!(receiver.next_event(), check("succeeded", passed, "3/3 UP"));
    assert_eq!(
        receiver.next_event(),
        (5, "Server l/a is UP. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.".into())
    );
    assert_eq!(
        (state(5), state(10), state(12)),
        ("2".into(), "15".into(), "4".into())
    );
    assert_eq!(check_status(), "L7OK");
    let r = get(&c, &url(port, "/"), &[]).await.unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "healthy"));

    // Maintenance from the runtime API, and back: the checks start over.
    command(&socket, "disable server l/a");
    assert_eq!(
        receiver.next_event(),
        (1, "Server l/a is going DOWN for maintenance. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.".into())
    );
    assert_eq!(
        receiver.next_event(),
        (0, "backend l has no server available!".into())
    );
    command(&socket, "enable server l/a");
    assert_eq!(
        receiver.next_event(),
        (
            5,
            "Server l/a is UP/READY (leaving forced maintenance).".into()
        )
    );
    assert_eq!(receiver.next_event(), check("succeeded", passed, "3/3 UP"));
}

/// HAProxy starts a checked server UP "but will fall down at first
/// failure": one that has never answered is taken out by its first failed
/// check, not after `fall` of them (confirmed against haproxy 2.6 by
/// `scripts/haproxy-check-diff`, which also compares the intervals).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_failing_its_first_check_is_down_at_once() {
    let broken = FaultyOrigin::start(Fault::Garbage).await;
    let spare = Origin::start("spare").await;
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("api.sock");
    let config = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    option httpchk GET /health\n    server a {} check inter 400ms fall 5 rise 2\n    server k {} backup\n",
        socket.display(),
        broken.addr,
        spare.addr
    );
    let _gw = start(&config, port);
    let op_state = || {
        command(&socket, "show servers state l")
            .lines()
            .find(|l| l.split(' ').nth(3) == Some("a"))
            .and_then(|l| l.split(' ').nth(5).map(str::to_owned))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while op_state().as_deref() != Some("0") {
        assert!(std::time::Instant::now() < deadline, "a never went DOWN");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // DOWN now; the next check comes a whole `inter` later.
    assert!(
        broken.accepted() <= 2,
        "DOWN after {} checks; HAProxy takes one, the old count took fall = 5",
        broken.accepted()
    );
    let r = get(&client_without_keepalive(), &url(port, "/"), &[])
        .await
        .unwrap();
    assert_eq!(r.body, "spare\n", "the backup serves once a is DOWN");
}

#[tokio::test]
async fn failover_loses_no_request_under_load() {
    let a = Origin::start("a").await;
    let b = Origin::start("b").await;
    let port = free_port();
    let config = format!(
        "{ONE_THREAD}{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    retries 3\n    option redispatch\n    retry-on all-retryable-errors\n    server a {} check inter 100ms fall 2 rise 2\n    server b {} check inter 100ms fall 2 rise 2\n",
        a.addr, b.addr
    );
    let _gw = start(&config, port);
    let c = client_without_keepalive();
    let mut failures = 0;
    let mut b = Some(b);
    for i in 0..300 {
        if i == 100 {
            // Stop one origin in the middle of the load.
            b.take().map(Origin::stop);
        }
        match get(&c, &url(port, "/"), &[]).await {
            Ok(r) if r.status == 200 => {}
            other => {
                failures += 1;
                eprintln!("request {i}: {other:?}");
            }
        }
    }
    assert_eq!(failures, 0);
    assert!(a.request_count() >= 150);
}

#[tokio::test]
async fn backups_serve_only_when_every_active_server_is_down() {
    let (a, bk) = (Origin::start("active").await, Origin::start("backup").await);
    let port = free_port();
    let config = format!(
        "{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    option redispatch\n    server a {} check inter 100ms fall 2 rise 2\n    server k {} backup\n",
        a.addr, bk.addr
    );
    let _gw = start(&config, port);
    let c = client_without_keepalive();
    for _ in 0..4 {
        assert_eq!(
            get(&c, &url(port, "/"), &[]).await.unwrap().body,
            "active\n"
        );
    }
    a.stop();
    // `fall 2` checks 100 ms apart take it DOWN; polled, as a loaded
    // machine may run them late.
    switchyard_e2e::wait_until_async(
        "the backup serves once the active server is DOWN",
        Duration::from_secs(10),
        || async {
            get(&c, &url(port, "/"), &[])
                .await
                .is_ok_and(|r| r.body == "backup\n")
        },
    )
    .await;
    for _ in 0..4 {
        assert_eq!(
            get(&c, &url(port, "/"), &[]).await.unwrap().body,
            "backup\n"
        );
    }
}

#[tokio::test]
async fn maxconn_queues_and_times_out_with_503() {
    let o = Origin::start("slow").await;
    let port = free_port();
    let config = format!(
        "{DEFAULTS}    timeout queue 300ms\nlisten l\n    bind 127.0.0.1:{port}\n    server s {} maxconn 1\n",
        o.addr
    );
    let _gw = start(&config, port);
    let c = client_without_keepalive();
    let slow = tokio::spawn({
        let c = c.clone();
        async move {
            get(&c, &url(port, "/?sleep=1500"), &[])
                .await
                .unwrap()
                .status
        }
    });
    // The slow request holds the one slot before the next one comes.
    switchyard_e2e::wait_until(
        "the slow request at the origin",
        Duration::from_secs(10),
        || o.request_count() == 1,
    )
    .await;
    let queued = get(&c, &url(port, "/"), &[]).await.unwrap();
    assert_eq!(queued.status, 503, "the queue timed out");
    assert_eq!(slow.await.unwrap(), 200);
    // With the slot free, requests pass again.
    assert_eq!(get(&c, &url(port, "/"), &[]).await.unwrap().status, 200);
}

#[tokio::test]
async fn keep_alive_connections_to_servers_are_reused() {
    let o = Origin::start("o").await;
    let port = free_port();
    let _gw = start(
        &format!(
            "{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    server s {}\n",
            o.addr
        ),
        port,
    );
    let c = client();
    for _ in 0..30 {
        assert_eq!(get(&c, &url(port, "/"), &[]).await.unwrap().status, 200);
    }
    assert_eq!(o.request_count(), 30);
    assert!(
        o.connections() <= 3,
        "30 requests over {} server connections",
        o.connections()
    );
}

#[tokio::test]
async fn large_uploads_stream_through_with_bounded_memory() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const SIZE: usize = 1 << 30;
    let o = Origin::start("o").await;
    let port = free_port();
    let gw = start(
        &format!(
            "{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    server s {}\n",
            o.addr
        ),
        port,
    );
    // 1 GiB written from one reused 1 MiB chunk: the test holds no more.
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: {SIZE}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..SIZE / chunk.len() {
        stream.write_all(&chunk).await.unwrap();
    }
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(o.seen()[0].body_len, SIZE);
    let status = std::fs::read_to_string(format!("/proc/{}/status", gw.pid())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap();
    assert!(
        peak_kb < 64 * 1024,
        "a 1 GiB upload must not be buffered: peak RSS {peak_kb} kB"
    );
}

#[tokio::test]
async fn errorfile_replaces_the_builtin_page() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("503.http");
    std::fs::write(
        &page,
        "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nback soon\n",
    )
    .unwrap();
    let port = free_port();
    let config = format!("{DEFAULTS}    errorfile 503 {}\nlisten l\n    bind 127.0.0.1:{port}\n    server s 127.0.0.1:1\n", page.display());
    let _gw = start(&config, port);
    let r = get(&client(), &url(port, "/"), &[]).await.unwrap();
    assert_eq!(
        (r.status, r.body.as_str(), r.header("content-type")),
        (503, "back soon\n", Some("text/plain"))
    );
}

#[tokio::test]
async fn httplog_lines_reach_a_real_syslog_receiver() {
    let o = Origin::start("o").await;
    let receiver = SyslogReceiver::start();
    let log_port = receiver.port;
    let port = free_port();
    let config = format!(
        "global\n    log 127.0.0.1:{log_port} local2 info\n{DEFAULTS}    log global\n    option httplog\nfrontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server s1 {}\n",
        o.addr
    );
    let _gw = start(&config, port);
    let r = get(&client(), &url(port, "/hello?x=1"), &[]).await.unwrap();
    assert_eq!(r.status, 200);
    let line = receiver.next_line();
    // <150> = local2.info; then HAProxy's httplog fields.
    assert!(line.starts_with("<150>"), "{line}");
    assert!(line.contains(" haproxy["), "{line}");
    assert!(line.contains(" fe be/s1 "), "{line}");
    // Tq/Tw/Tc/Tr/Ta: every timer measured (HAProxy writes -1 for one
    // that was not).
    let timers = line
        .split(" fe be/s1 ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_default();
    let timers: Vec<&str> = timers.split('/').collect();
    assert_eq!(timers.len(), 5, "{line}");
    assert!(
        timers.iter().all(|t| t.parse::<u64>().is_ok()),
        "timers: {line}"
    );
    // `%B` as HAProxy counts it (`log::htx_size`): the start line
    // (20 + `HTTP/1.1`, `200`, `OK`), the origin's fields (`content-length:
    // 2`, `x-served-by: o`, a 29-byte `date`), the end of the head, the
    // body `o\n`.
    assert!(
        line.contains(" 200 96 - - ---- "),
        "status, bytes, cookies, termination: {line}"
    );
    assert!(line.ends_with("\"GET /hello?x=1 HTTP/1.1\""), "{line}");
}

#[tokio::test]
async fn httplog_termination_states_and_log_separate_errors_levels_are_haproxys() {
    let o = Origin::start("o").await;
    let receiver = SyslogReceiver::start();
    let log_port = receiver.port;
    let port = free_port();
    let closed = closed_address();
    // The same states and levels HAProxy 2.6.12 logs for these requests
    // (compared by hand, docs/gateway.md): with `log-separate-errors`, a
    // line that tells of trouble goes at `err` (<147> = local2.err) instead
    // of `info` (<150>); the proxy's own answers (`LR`) are no trouble.
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 500ms\n\
         log 127.0.0.1:{log_port} local2 info\n    option httplog\n    option log-separate-errors\n\
         frontend fe\n    bind 127.0.0.1:{port}\n\
         http-request deny if {{ path_beg /deny }}\n\
         http-request redirect location /elsewhere if {{ path_beg /redirect }}\n\
         use_backend down if {{ path_beg /down }}\n\
         use_backend be if {{ path_beg /ok }} or {{ path_beg /slow }}\n\
         backend be\n    server s1 {}\nbackend down\n    retries 0\n    server s1 {closed}\n",
        o.addr
    );
    let _gw = start(&config, port);
    for (path, status, state, level) in [
        ("/ok", 200, "----", "<150>"),
        ("/deny", 403, "PR--", "<147>"),
        ("/redirect", 302, "LR--", "<150>"),
        ("/down", 503, "SC--", "<147>"),
        ("/nobackend", 503, "SC--", "<147>"),
        ("/slow?sleep=2000", 504, "sH--", "<147>"),
    ] {
        let r = get(&client_without_keepalive(), &url(port, path), &[])
            .await
            .unwrap();
        assert_eq!(r.status, status, "{path}");
        let line = receiver.next_line();
        assert!(line.starts_with(level), "{path}: {line}");
        assert!(
            line.contains(&format!(" {status} ")) && line.contains(&format!(" {state} ")),
            "{path}: {line}"
        );
    }
}

#[tokio::test]
async fn h2c_clients_are_served_and_servers_see_http_1_1() {
    let o = Origin::start("o").await;
    let port = free_port();
    let _gw = start(
        &format!(
            "{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    server s {}\n",
            o.addr
        ),
        port,
    );
    let c = switchyard_e2e::client::client_h2c();
    let r = get(&c, &url(port, "/h2"), &[]).await.unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "o\n"));
    let seen = &o.seen()[0];
    assert_eq!(seen.uri, "/h2");
    assert_eq!(
        seen.header_values("host"),
        [format!("127.0.0.1:{port}")],
        "the :authority becomes Host"
    );
}

/// A gateway speaking HTTP/2 alone on its bind and toward `o`.
fn start_h2_both_ways(o: &Origin) -> (Gateway, u16) {
    let port = free_port();
    let config = format!(
        "{DEFAULTS}listen l\n    bind 127.0.0.1:{port} proto h2\n    server s {} proto h2\n",
        o.addr
    );
    (start(&config, port), port)
}

#[tokio::test]
async fn proto_h2_on_binds_and_toward_servers() {
    let o = Origin::start("o").await;
    let (_gw, port) = start_h2_both_ways(&o);
    let c = switchyard_e2e::client::client_h2c();
    for _ in 0..3 {
        let r = get(&c, &url(port, "/over/h2?x=1"), &[("X-Trace", "t1")])
            .await
            .unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "o\n"));
    }
    let seen = &o.seen()[0];
    // HTTP/2 to the server: the target carries :scheme and :authority.
    assert_eq!(seen.uri, format!("http://127.0.0.1:{port}/over/h2?x=1"));
    assert_eq!(seen.header_values("x-trace"), ["t1"]);
    assert_eq!(
        o.connections(),
        1,
        "one HTTP/2 connection carries every request"
    );
    // An HTTP/1.1 client is not served on an h2-only bind.
    let plain = get(&client_without_keepalive(), &url(port, "/"), &[]).await;
    assert!(plain.is_err(), "{plain:?}");
}

/// An HTTP/2 server connection takes the client's next request while a
/// body is still on its way (HAProxy multiplexes streams on it): it is
/// back in the pool from the response's head, not from its body's end,
/// which a client can overtake (the flake `proto_h2_on_binds_and_toward_servers`
/// had on a loaded machine: a second server connection).
#[tokio::test]
async fn an_http2_server_connection_is_shared_while_a_body_flows() {
    use http_body_util::BodyExt;
    let o = Origin::start("o").await;
    let (_gw, port) = start_h2_both_ways(&o);
    let c = switchyard_e2e::client::client_h2c();
    let slow = http::Request::get(url(port, "/?stall=1500"))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    // The head is here; the body stalls halfway at the origin.
    let slow = c.request(slow).await.unwrap();
    let r = get(&c, &url(port, "/next"), &[]).await.unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "o\n"));
    let body = slow.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"o\nend\n");
    assert_eq!(
        o.connections(),
        1,
        "the second stream went on the first stream's server connection"
    );
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_but_slow_servers_are_not_cut() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let o = Origin::start("o").await;
    let port = free_port();
    let config = format!("{DEFAULTS}    timeout http-keep-alive 300ms\nlisten l\n    bind 127.0.0.1:{port}\n    server s {}\n", o.addr);
    let _gw = start(&config, port);
    // A request slower than the keep-alive timeout is not idle time.
    let r = get(&client_without_keepalive(), &url(port, "/?sleep=1000"), &[])
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    // The whole response (it may come in more than one read): the body is
    // the origin's name.
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 4096];
    while !(seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.ends_with(b"\r\n\r\no\n")) {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "closed before the response ended: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200"));
    // Then nothing: the gateway closes the connection after about 300 ms.
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "an idle keep-alive connection is closed: {closed:?}"
    );
}

/// Everything the gateway sends on a fresh connection after writing `data`,
/// and how long it took to close.
async fn raw_exchange(port: u16, data: &[u8]) -> (String, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(data).await.unwrap();
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(8), stream.read_to_end(&mut seen))
        .await
        .expect("the gateway closes the connection")
        .unwrap();
    (
        String::from_utf8_lossy(&seen).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn bad_and_slow_requests_get_haproxys_400_and_408_pages() {
    let o = Origin::start("o").await;
    let port = free_port();
    let config = format!("{DEFAULTS}    timeout http-request 1s\nlisten l\n    bind 127.0.0.1:{port}\n    server s {}\n", o.addr);
    let _gw = start(&config, port);
    let bad_request = "HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n";
    for garbage in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    ] {
        let (seen, _) = raw_exchange(port, garbage).await;
        assert_eq!(seen, bad_request);
    }
    // A head larger than HAProxy's buffer is a bad request too.
    let mut big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 20_000));
    big.extend_from_slice(b"\r\n\r\n");
    assert_eq!(raw_exchange(port, &big).await.0, bad_request);
    // An incomplete head, or none at all, gets a 408 after `timeout http-request`.
    for slow in [&b"GET / HTTP/1.1\r\nHost: x\r\n"[..], b""] {
        let (seen, took) = raw_exchange(port, slow).await;
        assert!(
            seen.starts_with("HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\n"),
            "{seen}"
        );
        assert!(seen.ends_with("<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n"));
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(4),
            "{took:?}"
        );
    }
    assert_eq!(o.request_count(), 0, "nothing reached the origin");
}

#[tokio::test]
async fn http_ignore_probes_closes_an_empty_connection_without_the_408_page() {
    let o = Origin::start("o").await;
    let port = free_port();
    let config = format!("{DEFAULTS}    timeout http-request 1s\nlisten l\n    bind 127.0.0.1:{port}\n    option http-ignore-probes\n    server s {}\n", o.addr);
    let _gw = start(&config, port);
    // A browser's pre-connect that never sends anything: closed silently
    // at `timeout http-request`, as HAProxy 2.6 does.
    let (seen, took) = raw_exchange(port, b"").await;
    assert_eq!(seen, "");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    // Part of a request: still HAProxy's 408 page.
    let (seen, _) = raw_exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n").await;
    assert!(
        seen.starts_with("HTTP/1.1 408 Request Time-out\r\n"),
        "{seen}"
    );
}

#[tokio::test]
async fn a_server_silent_in_the_middle_of_its_body_is_cut_after_timeout_server() {
    use tokio::io::AsyncReadExt;
    let o = Origin::start("o").await;
    let port = free_port();
    let config = format!("defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 1s\nlisten l\n    bind 127.0.0.1:{port}\n    server s {}\n", o.addr);
    let _gw = start(&config, port);
    // A pause shorter than the timeout passes.
    let r = get(&client_without_keepalive(), &url(port, "/?stall=300"), &[])
        .await
        .unwrap();
    assert_eq!(r.body, "o\nend\n");
    // A longer one: the client gets the first part, then the connection ends.
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut stream,
        b"GET /?stall=4000 HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(8), stream.read_to_end(&mut seen))
        .await
        .expect("the gateway ends the connection");
    let seen = String::from_utf8_lossy(&seen);
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(seen.contains("o\n") && !seen.contains("end"), "{seen}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn the_tutorials_stats_page_with_its_password_and_csv() {
    let o = Origin::start("web1").await;
    let (port, stats_port) = (free_port(), free_port());
    let config = format!(
        "{DEFAULTS}listen stats\n    mode http\n    bind 127.0.0.1:{stats_port}\n    stats enable\n    stats uri /haproxy-status\n    stats auth test:test\n    stats refresh 10s\n\
         frontend web\n    bind 127.0.0.1:{port}\n    default_backend rs\nbackend rs\n    server web1 {} check inter 100ms\n    server web2 127.0.0.1:1 check inter 100ms backup\n",
        o.addr
    );
    let _gw = start(&config, port);
    let c = client();
    for _ in 0..3 {
        assert_eq!(get(&c, &url(port, "/"), &[]).await.unwrap().status, 200);
    }
    let auth = [("Authorization", "Basic dGVzdDp0ZXN0")]; // test:test
                                                          // The checks have run: web1 passed one, web2 failed its three (`fall`).
    switchyard_e2e::wait_until_async(
        "web1 checked L4OK and web2 DOWN on the stats CSV",
        Duration::from_secs(10),
        || async {
            let csv = get(&c, &url(stats_port, "/haproxy-status;csv"), &auth)
                .await
                .map(|r| r.body)
                .unwrap_or_default();
            csv.lines()
                .any(|l| l.starts_with("rs,web1,") && l.contains(",L4OK,"))
                && csv
                    .lines()
                    .any(|l| l.starts_with("rs,web2,") && l.contains(",DOWN,"))
        },
    )
    .await;
    let denied = get(&c, &url(stats_port, "/haproxy-status"), &[])
        .await
        .unwrap();
    assert_eq!(denied.status, 401);
    assert_eq!(
        denied.header("www-authenticate"),
        Some("Basic realm=\"HAProxy Statistics\"")
    );
    let wrong = get(
        &c,
        &url(stats_port, "/haproxy-status"),
        &[("Authorization", "Basic dGVzdDp3cm9uZw==")],
    )
    .await
    .unwrap();
    assert_eq!(wrong.status, 401);
    let html = get(&c, &url(stats_port, "/haproxy-status"), &auth)
        .await
        .unwrap();
    assert_eq!(html.status, 200);
    assert!(
        html.body
            .contains("<meta http-equiv=\"refresh\" content=\"10\">"),
        "{}",
        html.body
    );
    assert!(
        html.body.contains("web1") && html.body.contains("class=\"up\""),
        "{}",
        html.body
    );
    let csv = get(&c, &url(stats_port, "/haproxy-status;csv"), &auth)
        .await
        .unwrap();
    let mut lines = csv.body.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,"), "{header}");
    let columns = header
        .trim_start_matches("# ")
        .trim_end_matches(',')
        .split(',')
        .count();
    let rows: Vec<Vec<&str>> = lines
        .map(|l| l.strip_suffix(',').unwrap_or(l).split(',').collect())
        .collect();
    assert!(
        rows.iter().all(|r| r.len() == columns),
        "every row has every column"
    );
    let col = |name: &str| {
        header
            .trim_start_matches("# ")
            .split(',')
            .position(|c| c == name)
            .unwrap()
    };
    let web1 = rows
        .iter()
        .find(|r| r[0] == "rs" && r[1] == "web1")
        .unwrap();
    assert_eq!(
        (
            web1[col("status")],
            web1[col("stot")],
            web1[col("check_status")]
        ),
        ("UP", "3", "L4OK")
    );
    let web2 = rows.iter().find(|r| r[1] == "web2").unwrap();
    assert_eq!((web2[col("status")], web2[col("bck")]), ("DOWN", "1"));
    let fe = rows
        .iter()
        .find(|r| r[0] == "web" && r[1] == "FRONTEND")
        .unwrap();
    assert_eq!((fe[col("stot")], fe[col("hrsp_2xx")]), ("3", "3"));
}

/// httplog lines against those haproxy 2.6.12 sent for the same exchanges
/// (`fixtures/httplog/`): the cookie letters of `%tsc` (`--NI` no cookie
/// then inserted, `--II` invalid then inserted, `--VN` valid), the
/// counters and queues, `%B` (HAProxy's count: see `log::htx_size`), every
/// field but the ones that vary from run to run (client port, dates,
/// timers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn httplog_lines_match_haproxys_for_cookie_persistence() {
    let fixture = std::fs::read_to_string(
        switchyard_e2e::workspace_root()
            .join("fixtures/httplog/cookie-insert-indirect.haproxy-2.6.12.log"),
    )
    .unwrap();
    let expected: Vec<String> = fixture
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(switchyard_e2e::syslog::comparable_httplog)
        .collect();
    // The origin of the capture: `content-length: 2`, `ok`.
    let origin = switchyard_e2e::held_origin::HeldOrigin::start().await;
    let receiver = SyslogReceiver::start();
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("api.sock");
    let config = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    option httplog\n    log 127.0.0.1:{} local0\n    default_backend be\n\
         backend be\n    cookie SRVID insert indirect nocache\n    server s1 {} cookie one\n",
        socket.display(),
        receiver.port,
        origin.addr
    );
    let _gw = start(&config, port);
    let c = client_without_keepalive();
    for (path, cookie) in [
        ("/a", None),
        ("/b", Some("SRVID=bogus")),
        ("/c", Some("SRVID=one")),
    ] {
        // HAProxy's lines were captured one client at a time, each gone
        // before the next came (%ac/%fc 1/1): wait until the gateway has
        // seen the previous client's close, which it learns on its own
        // schedule.
        switchyard_e2e::wait_until(
            "the previous client connection closed",
            Duration::from_secs(10),
            || {
                command(&socket, "show info")
                    .lines()
                    .any(|l| l.trim() == "CurrConns: 0")
            },
        )
        .await;
        let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
        assert_eq!(
            get(&c, &url(port, path), &headers).await.unwrap().status,
            200
        );
        let line = receiver.next_line();
        let want = &expected[["/a", "/b", "/c"].iter().position(|p| *p == path).unwrap()];
        assert_eq!(
            &switchyard_e2e::syslog::comparable_httplog(&line),
            want,
            "{line}"
        );
    }
}

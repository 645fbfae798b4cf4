//! Server options and failover reactions end to end (issue #24): the real
//! binary, loopback origins, the runtime API, and what the origins saw.
//! Each test fails without the option's effect.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchyard_e2e::client::{client_without_keepalive, get};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::runtime_api::{command, stat_field};
use switchyard_e2e::syslog::SyslogReceiver;

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";

/// A name no resolver answers (RFC 6761 reserves `.invalid`).
const NOWHERE: &str = "nowhere.invalid";

/// A gateway on `port` with a stats socket in `dir`, `backend` written
/// after it; waits until the socket answers.
async fn start(dir: &std::path::Path, port: u16, backend: &str) -> Gateway {
    let config = format!(
        "global\n    stats socket {}/admin.sock level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n{backend}",
        dir.display()
    );
    let gw = Gateway::start(&config, SocketAddr::from(([127, 0, 0, 1], port)));
    let socket = dir.join("admin.sock");
    switchyard_e2e::wait_until("the stats socket is open", Duration::from_secs(10), || {
        std::os::unix::net::UnixStream::connect(&socket).is_ok()
    })
    .await;
    gw
}

/// `switchyard -db -f CONFIG` expected to refuse to start: what it printed.
fn refused_start(config: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("refused.cfg");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(switchyard_e2e::switchyard_binary())
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("switchyard starts");
    let status = switchyard_e2e::wait_exit(&mut child, Duration::from_secs(20));
    let err = switchyard_e2e::child_stderr(&mut child);
    let _ = child.kill();
    let status = status.unwrap_or_else(|| panic!("it did not stop: {err}"));
    assert!(!status.success(), "it started: {err}");
    err
}

/// `init-addr last,libc,none` (HariSekhon's shared defaults): a server
/// whose name does not resolve starts in maintenance ("MAINT
/// (resolution)", no address), the others serve; without `none` the
/// start fails as HAProxy's does; an address in the list is where an
/// unresolvable server's traffic goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_addr_decides_where_an_unresolvable_server_starts() {
    let origin = Origin::start("a").await;
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let gw = start(
        dir.path(),
        port,
        &format!(
            "backend be\n    default-server init-addr last,libc,none\n    server ghost {NOWHERE}:{} check inter 100ms\n    server a {}\n",
            origin.addr.port(),
            origin.addr
        ),
    )
    .await;
    let socket = dir.path().join("admin.sock");
    assert_eq!(
        stat_field(&socket, "be", "ghost", "status"),
        "MAINT (resolution)"
    );
    assert_eq!(stat_field(&socket, "be", "ghost", "addr"), "");
    let state = command(&socket, "show servers state be");
    let ghost: Vec<&str> = state
        .lines()
        .find(|l| l.split(' ').nth(3) == Some("ghost"))
        .unwrap_or_else(|| panic!("no ghost in {state}"))
        .split(' ')
        .collect();
    // srv_addr, srv_op_state, srv_admin_state (SRV_ADMF_RMAINT).
    assert_eq!(&ghost[4..7], ["-", "0", "32"], "{state}");
    let client = client_without_keepalive();
    let url = format!("http://127.0.0.1:{port}/");
    for _ in 0..4 {
        let reply = get(&client, &url, &[]).await.unwrap();
        assert_eq!((reply.status, reply.body.trim()), (200, "a"));
    }
    assert_eq!(origin.request_count(), 4);
    drop(gw);

    // HAProxy's default (`last,libc`): the start fails.
    let err = refused_start(&format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{}\n    default_backend be\nbackend be\n    server ghost {NOWHERE}:80\n",
        free_port()
    ));
    assert!(
        err.contains(&format!("could not resolve address '{NOWHERE}'")),
        "{err}"
    );
    // `last` alone: no server-state file, so no method finds one.
    let err = refused_start(&format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{}\n    default_backend be\nbackend be\n    server ghost {NOWHERE}:80 init-addr last\n",
        free_port()
    ));
    assert!(
        err.contains(&format!("no method found to resolve address '{NOWHERE}'")),
        "{err}"
    );

    // An address after `libc`: the traffic goes there, with a warning.
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut gw = start(
        dir.path(),
        port,
        &format!(
            "backend be\n    server ghost {NOWHERE}:{} init-addr libc,127.0.0.1\n",
            origin.addr.port()
        ),
    )
    .await;
    let url = format!("http://127.0.0.1:{port}/");
    let reply = get(&client, &url, &[]).await.unwrap();
    assert_eq!((reply.status, reply.body.trim()), (200, "a"));
    assert_eq!(origin.request_count(), 5);
    gw.signal("TERM");
    gw.wait_exit(Duration::from_secs(10));
    let err = gw.stderr();
    assert!(
        err.contains(&format!(
            "'server be/ghost' : could not resolve address '{NOWHERE}', falling back to configured address."
        )),
        "{err}"
    );
}

/// A database node as Patroni runs it: the database port (greets with the
/// node's name, counts its open connections) and the REST API that
/// answers `OPTIONS /primary` with 200 on the primary, 503 elsewhere.
struct Node {
    name: &'static str,
    db: SocketAddr,
    api: SocketAddr,
    primary: Arc<AtomicBool>,
    open: Arc<AtomicU64>,
    probes: Arc<Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Node {
    async fn start(name: &'static str, primary: bool) -> Node {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let db = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (db_addr, api_addr) = (db.local_addr().unwrap(), api.local_addr().unwrap());
        let primary = Arc::new(AtomicBool::new(primary));
        let open = Arc::new(AtomicU64::new(0));
        let probes = Arc::new(Mutex::new(Vec::new()));
        let counter = open.clone();
        let db_task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = db.accept().await {
                let counter = counter.clone();
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let _ = stream.write_all(format!("{name}\n").as_bytes()).await;
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    counter.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        let (state, seen) = (primary.clone(), probes.clone());
        let api_task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = api.accept().await {
                let (state, seen) = (state.clone(), seen.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let line = String::from_utf8_lossy(&head);
                    seen.lock()
                        .unwrap()
                        .push(line.lines().next().unwrap_or_default().to_owned());
                    let status = if state.load(Ordering::SeqCst) {
                        "200 OK"
                    } else {
                        "503 Service Unavailable"
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        Node {
            name,
            db: db_addr,
            api: api_addr,
            primary,
            open,
            probes,
            tasks: vec![db_task, api_task],
        }
    }

    fn open(&self) -> u64 {
        self.open.load(Ordering::SeqCst)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A client session through the gateway: the node's greeting it got.
async fn session(port: u16) -> (tokio::net::TcpStream, String) {
    use tokio::io::AsyncReadExt;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut greeting = Vec::new();
    let mut byte = [0u8; 1];
    while !greeting.ends_with(b"\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte))
            .await
            .expect("a greeting within 10 s")
            .unwrap();
        assert!(n > 0, "closed before the greeting");
        greeting.push(byte[0]);
    }
    (
        stream,
        String::from_utf8(greeting).unwrap().trim().to_owned(),
    )
}

/// Whether the gateway has closed `stream` (EOF or reset), without waiting.
fn closed(stream: &tokio::net::TcpStream) -> bool {
    let mut buf = [0u8; 16];
    match stream.try_read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// Patroni's reference setup (`mode tcp`, `option httpchk OPTIONS
/// /primary`, `http-check expect status 200`, `on-marked-down
/// shutdown-sessions`): when the primary changes, the sessions to the
/// old one are cut at once (logged `DD`), new sessions go to the new
/// primary, and the old one is left with no connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_marked_down_shutdown_sessions_cuts_the_old_primarys_sessions() {
    let (node1, node2) = (
        Node::start("node1", true).await,
        Node::start("node2", false).await,
    );
    let receiver = SyslogReceiver::start();
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "global\n    stats socket {}/admin.sock level admin\n{DEFAULTS}\
         listen postgres\n    mode tcp\n    bind 127.0.0.1:{port}\n    log 127.0.0.1:{} local0\n    option tcplog\n    option httpchk OPTIONS /primary\n    http-check expect status 200\n    default-server inter 100ms fall 1 rise 1 on-marked-down shutdown-sessions\n    server {} {} maxconn 100 check port {}\n    server {} {} maxconn 100 check port {}\n",
        dir.path().display(),
        receiver.port,
        node1.name,
        node1.db,
        node1.api.port(),
        node2.name,
        node2.db,
        node2.api.port(),
    );
    let _gw = Gateway::start(&config, SocketAddr::from(([127, 0, 0, 1], port)));
    let socket = dir.path().join("admin.sock");
    switchyard_e2e::wait_until("node2 is DOWN, node1 UP", Duration::from_secs(20), || {
        std::os::unix::net::UnixStream::connect(&socket).is_ok()
            && stat_field(&socket, "postgres", "node2", "status") == "DOWN"
            && stat_field(&socket, "postgres", "node1", "status") == "UP"
    })
    .await;
    assert!(
        node1.probes.lock().unwrap()[0].starts_with("OPTIONS /primary HTTP/1."),
        "{:?}",
        node1.probes.lock().unwrap()
    );
    let mut old = Vec::new();
    for _ in 0..3 {
        let (stream, greeting) = session(port).await;
        assert_eq!(greeting, "node1");
        old.push(stream);
    }
    assert_eq!(node1.open(), 3);

    // Failover: Patroni promotes node2.
    node1.primary.store(false, Ordering::SeqCst);
    node2.primary.store(true, Ordering::SeqCst);
    switchyard_e2e::wait_until(
        "the old primary's sessions are cut",
        Duration::from_secs(20),
        || node1.open() == 0 && old.iter().all(closed),
    )
    .await;
    switchyard_e2e::wait_until("node2 is UP", Duration::from_secs(20), || {
        stat_field(&socket, "postgres", "node2", "status") == "UP"
    })
    .await;
    let (_new, greeting) = session(port).await;
    assert_eq!(greeting, "node2");
    assert_eq!((node1.open(), node2.open()), (0, 1));
    // The three cut sessions are logged with HAProxy's `DD` (tcplog's
    // `%ft %b/%s … %ts`); the start-up probe's session and the server
    // events come first.
    let mut cut = 0;
    while cut < 3 {
        let line = receiver.next_line();
        if line.contains(" postgres postgres/node1 ") && line.contains(" DD ") {
            cut += 1;
        }
    }
}

/// `slowstart 10s`: a server that comes back (here `set server … health
/// up` after `down`, as haproxy 2.6.12 was driven to compare) starts at
/// HAProxy's ramped weight (`show stat`'s `weight` 7 of `uweight` 100,
/// `throttle` 6 %, growing every second) with a share of the requests to
/// match, and reaches its weight after 10 s; at startup nothing ramps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowstart_ramps_the_weight_of_a_server_coming_back() {
    let (a, b) = (Origin::start("a").await, Origin::start("b").await);
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let _gw = start(
        dir.path(),
        port,
        &format!(
            "backend be\n    balance roundrobin\n    default-server weight 100 slowstart 10s\n    server a {}\n    server b {}\n",
            a.addr, b.addr
        ),
    )
    .await;
    let socket = dir.path().join("admin.sock");
    let field = |column: &str| stat_field(&socket, "be", "a", column);
    assert_eq!(
        (field("weight"), field("throttle")),
        ("100".into(), "".into())
    );
    command(&socket, "set server be/a health down");
    command(&socket, "set server be/a health up");
    let weight: u32 = field("weight").parse().unwrap();
    assert!((7..=63).contains(&weight), "weight {weight}");
    assert_eq!(field("uweight"), "100");
    let throttle: u32 = field("throttle").parse().unwrap();
    assert!((6..=62).contains(&throttle), "throttle {throttle}");

    // Round robin over equal weights would give `a` 10 of 20.
    let client = client_without_keepalive();
    let url = format!("http://127.0.0.1:{port}/");
    for _ in 0..20 {
        let reply = get(&client, &url, &[]).await.unwrap();
        assert_eq!(reply.status, 200);
    }
    assert!(a.request_count() < 10, "a got {} of 20", a.request_count());
    assert_eq!(a.request_count() + b.request_count(), 20);

    switchyard_e2e::wait_until("a is at full weight", Duration::from_secs(30), || {
        field("weight") == "100" && field("throttle").is_empty()
    })
    .await;
}

/// `track`: a server follows the state of the server it tracks, down a
/// chain across backends, as `show stat` shows (`tracked`, `status`) and
/// traffic finds; HAProxy's refusals of what cannot be tracked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn track_makes_a_server_follow_the_tracked_ones_state() {
    let (a, t, u) = (
        Origin::start("a").await,
        Origin::start("t").await,
        Origin::start("u").await,
    );
    // `a`'s checks go to this listener: closing it takes `a` DOWN.
    let checked = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let check_port = checked.local_addr().unwrap().port();
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let _gw = start(
        dir.path(),
        port,
        &format!(
            "backend be\n    server a {} check port {check_port} inter 100ms fall 1 rise 1\n    server t {} track a\n\
             backend other\n    server u {} track be/t\n",
            a.addr, t.addr, u.addr
        ),
    )
    .await;
    let socket = dir.path().join("admin.sock");
    let field =
        |proxy: &str, server: &str, column: &str| stat_field(&socket, proxy, server, column);
    assert_eq!(
        (field("be", "t", "status"), field("be", "t", "tracked")),
        ("UP".into(), "be/a".into())
    );
    assert_eq!(
        (
            field("other", "u", "status"),
            field("other", "u", "tracked")
        ),
        ("UP".into(), "be/t".into())
    );
    assert_eq!(field("be", "a", "tracked"), "");

    drop(checked);
    switchyard_e2e::wait_until(
        "a, then t and u through it, go DOWN",
        Duration::from_secs(10),
        || {
            field("be", "a", "status") == "DOWN"
                && field("be", "t", "status") == "DOWN"
                && field("other", "u", "status") == "DOWN"
        },
    )
    .await;
    let client = client_without_keepalive();
    let reply = get(&client, &format!("http://127.0.0.1:{port}/"), &[])
        .await
        .unwrap();
    assert_eq!(reply.status, 503, "t follows a: no server left");
    assert_eq!(t.request_count(), 0);

    // Back: the tracking servers come UP with it and take traffic.
    let _checked = std::net::TcpListener::bind(("127.0.0.1", check_port)).unwrap();
    switchyard_e2e::wait_until(
        "t and u come back UP with a",
        Duration::from_secs(10),
        || field("be", "t", "status") == "UP" && field("other", "u", "status") == "UP",
    )
    .await;
    for _ in 0..4 {
        let reply = get(&client, &format!("http://127.0.0.1:{port}/"), &[])
            .await
            .unwrap();
        assert_eq!(reply.status, 200);
    }
    assert!(t.request_count() >= 1, "t is back in the round robin");
}

#[test]
fn track_refuses_what_haproxy_refuses() {
    let server = |line: &str| {
        refused_start(&format!(
            "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{}\n    default_backend be\n\
             backend be\n    server a 127.0.0.1:1 check\n    server n 127.0.0.1:2\n    server s 127.0.0.1:3 {line}\n",
            free_port()
        ))
    };
    for (line, message) in [
        ("track a check", "'server be/s' : unable to enable checks and tracking at the same time!"),
        ("track zz", "'server be/s' : unable to find required server 'zz' for tracking"),
        ("track nope/a", "'server be/s' : unable to find required proxy 'nope' for tracking"),
        ("track n", "'server be/s' : unable to use be/n for tracking as it does not have any check nor agent enabled."),
        ("track s", "'server be/s' : unable to track be/s as it belongs to a tracking chain looping back to be/s."),
    ] {
        let err = server(line);
        assert!(err.contains(message), "{line}: {err}");
    }
}

/// `observe layer7` with `error-limit 2 on-error mark-down`: two invalid
/// answers in a row from live traffic take the server DOWN although its
/// checks pass ("Health analyze", `HANA`, `hanafail`), and the traffic
/// goes to the other server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observed_errors_in_live_traffic_mark_the_server_down() {
    use switchyard_e2e::faulty_origin::{Fault, FaultyOrigin};
    let bad = FaultyOrigin::start(Fault::Garbage).await;
    let good = Origin::start("good").await;
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let _gw = start(
        dir.path(),
        port,
        &format!(
            "backend be\n    balance roundrobin\n    server bad {} check inter 30s observe layer7 error-limit 2 on-error mark-down\n    server good {}\n",
            bad.addr, good.addr
        ),
    )
    .await;
    let socket = dir.path().join("admin.sock");
    let field = |column: &str| stat_field(&socket, "be", "bad", column);
    assert_eq!(
        (field("status"), field("hanafail")),
        ("UP".into(), "0".into())
    );
    let client = client_without_keepalive();
    let url = format!("http://127.0.0.1:{port}/");
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(get(&client, &url, &[]).await.unwrap().status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 502).count(),
        2,
        "{statuses:?}"
    );
    // The check task applies `on-error` as soon as it is woken.
    switchyard_e2e::wait_until("bad is marked DOWN", Duration::from_secs(10), || {
        field("status") == "DOWN"
    })
    .await;
    assert_eq!(
        (field("check_status"), field("hanafail")),
        ("HANA".into(), "1".into())
    );
    for _ in 0..4 {
        assert_eq!(
            get(&client, &url, &[]).await.unwrap().status,
            200,
            "a DOWN server takes no traffic"
        );
    }
}

/// `set server B/S addr A [port P]` moves a server's traffic at once, with
/// HAProxy 2.6's messages and `show stat`/`show servers state` following;
/// `set server … fqdn` answers as HAProxy does without `resolvers`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_server_addr_moves_the_traffic() {
    let (a, b) = (Origin::start("a").await, Origin::start("b").await);
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let _gw = start(
        dir.path(),
        port,
        &format!("backend be\n    server s {}\n", a.addr),
    )
    .await;
    let socket = dir.path().join("admin.sock");
    let client = client_without_keepalive();
    let url = format!("http://127.0.0.1:{port}/");
    assert_eq!(get(&client, &url, &[]).await.unwrap().status, 200);
    assert_eq!(a.request_count(), 1);
    let said = command(
        &socket,
        &format!("set server be/s addr 127.0.0.1 port {}", b.addr.port()),
    );
    assert_eq!(
        said.trim_end(),
        format!(
            "no need to change the addr, port changed from '{}' to '{}' by 'stats socket command'",
            a.addr.port(),
            b.addr.port()
        )
    );
    assert_eq!(get(&client, &url, &[]).await.unwrap().status, 200);
    assert_eq!((a.request_count(), b.request_count()), (1, 1));
    assert_eq!(stat_field(&socket, "be", "s", "addr"), b.addr.to_string());
    let state = command(&socket, "show servers state be");
    assert!(
        state.contains(" s 127.0.0.1 ") && state.contains(&format!(" - {} - ", b.addr.port())),
        "{state}"
    );
    for (line, answer) in [
        (
            "set server be/s addr 127.0.0.2",
            "IP changed from '127.0.0.1' to '127.0.0.2' by 'stats socket command'",
        ),
        (
            "set server be/s addr 127.0.0.1",
            "IP changed from '127.0.0.2' to '127.0.0.1' by 'stats socket command'",
        ),
        (
            "set server be/s addr foo",
            "Invalid addr 'foo' by 'stats socket command'",
        ),
        (
            "set server be/s addr",
            "set server <b>/<s> addr requires an address and optionally a port.",
        ),
        (
            "set server be/s fqdn foo.fqdn",
            "set server <b>/<s> fqdn failed because no resolution is configured.",
        ),
    ] {
        assert_eq!(command(&socket, line).trim_end(), answer, "{line}");
    }
    assert_eq!(get(&client, &url, &[]).await.unwrap().status, 200);
    assert_eq!(b.request_count(), 2);
}

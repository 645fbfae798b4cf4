//! Inherited sockets end to end: `bind fd@N` and `stats socket fd@N` on
//! sockets the test opened, systemd's socket activation (`LISTEN_FDS`,
//! `LISTEN_PID`, `LISTEN_FDNAMES`, `bind systemd@NAME`), the startup
//! errors for descriptors that cannot serve, and HAProxy's seamless
//! restart (`expose-fd listeners`, `-x`, `-sf`) under load. Every process
//! is started by the test and stopped by its PID.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use switchyard_e2e::client::{client_without_keepalive, get};
use switchyard_e2e::gateway::free_port;
use switchyard_e2e::launch::{Launch, NotifySocket, Running};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::runtime_api::command;
use switchyard_e2e::wait_until;

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";

fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

fn write_config(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

async fn body(addr: SocketAddr) -> String {
    let r = get(&client_without_keepalive(), &format!("http://{addr}/"), &[])
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    r.body
}

#[tokio::test]
async fn fd_binds_and_stats_socket_serve_on_the_inherited_sockets() {
    let a = Origin::start("a").await;
    let dir = tempfile::tempdir().unwrap();
    let (web, web_addr) = listener();
    let api_path = dir.path().join("api.sock");
    let api = std::os::unix::net::UnixListener::bind(&api_path).unwrap();
    // `"fd@${FE1}"`: the number comes from the environment, as in HAProxy.
    let config = format!(
        "global\n    stats socket fd@6 level admin\n{DEFAULTS}frontend fe\n    bind \"fd@${{FE1}}\"\n    default_backend be\nbackend be\n    server s1 {}\n",
        a.addr
    );
    let config = write_config(&dir, "t.cfg", &config);
    let notify = NotifySocket::new();
    let mut gw = Launch::new(&["-db", "-f", &config])
        .env("FE1", "5")
        .env("NOTIFY_SOCKET", notify.path().to_str().unwrap())
        .fd(web, 5)
        .fd(api, 6)
        .spawn();
    notify.wait_ready(&mut gw);
    assert_eq!(body(web_addr).await, "a\n");
    // The runtime API answers on the inherited unix socket.
    let stat = tokio::task::spawn_blocking(move || command(&api_path, "show servers state"))
        .await
        .unwrap();
    // The row of be/s1 (not only the header line that names the columns):
    // `be_id be_name srv_id srv_name srv_addr ...`, with the origin's address.
    let row = stat
        .lines()
        .find(|l| !l.starts_with('#') && l.split(' ').nth(1) == Some("be"))
        .unwrap_or_else(|| panic!("no row for backend be: {stat}"));
    let fields: Vec<&str> = row.split(' ').collect();
    assert_eq!(
        (fields[3], fields[4]),
        ("s1", a.addr.ip().to_string().as_str()),
        "{row}"
    );
}

#[tokio::test]
async fn socket_activation_passes_named_sockets_to_this_pid_only() {
    let (a, b) = (Origin::start("a").await, Origin::start("b").await);
    let dir = tempfile::tempdir().unwrap();
    let (web, web_addr) = listener();
    let (api, api_addr) = listener();
    let config = format!(
        "{DEFAULTS}frontend web\n    bind systemd@web\n    default_backend a\nfrontend api\n    bind systemd@api\n    default_backend b\nbackend a\n    server s1 {}\nbackend b\n    server s1 {}\n",
        a.addr, b.addr
    );
    let config = write_config(&dir, "t.cfg", &config);
    let notify = NotifySocket::new();
    let mut gw = Launch::new(&["-db", "-f", &config])
        .env("LISTEN_FDS", "2")
        .env("LISTEN_FDNAMES", "web:api")
        .env("NOTIFY_SOCKET", notify.path().to_str().unwrap())
        .listen_pid()
        .fd(web, 3)
        .fd(api, 4)
        .spawn();
    notify.wait_ready(&mut gw);
    assert_eq!(body(web_addr).await, "a\n");
    assert_eq!(body(api_addr).await, "b\n");

    // The same sockets announced for another process are not ours.
    let (web, _) = listener();
    let mut other = Launch::new(&["-db", "-f", &config])
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDNAMES", "web")
        .env("LISTEN_PID", "1")
        .fd(web, 3)
        .spawn();
    let status = other
        .wait_exit(Duration::from_secs(10))
        .expect("refused at startup");
    assert!(!status.success());
    let err = other.stderr();
    assert!(
        err.contains(
            "t.cfg:7:10: error: bind systemd@web: systemd passed no socket to this process"
        ),
        "{err}"
    );
}

/// Starts the gateway with `socket` as descriptor 5 and `bind fd@5`;
/// returns its stderr once it has refused to start.
fn refused_with_fd5(socket: Option<std::os::fd::OwnedFd>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind fd@5\n    default_backend be\nbackend be\n    server s1 127.0.0.1:9\n"
    );
    let config = write_config(&dir, "t.cfg", &config);
    let mut launch = Launch::new(&["-db", "-f", &config]);
    if let Some(socket) = socket {
        launch = launch.fd(socket, 5);
    }
    let mut gw: Running = launch.spawn();
    let status = gw
        .wait_exit(Duration::from_secs(10))
        .expect("refused at startup");
    assert_eq!(status.code(), Some(1));
    gw.stderr()
}

#[test]
fn a_descriptor_that_is_not_open_or_not_listening_is_a_startup_error() {
    let err = refused_with_fd5(None);
    assert!(
        err.contains("t.cfg:7:10: error: bind fd@5: file descriptor 5 is not open"),
        "{err}"
    );
    // Bound but never listen()ed.
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = refused_with_fd5(Some(socket.into()));
    assert!(
        err.contains("file descriptor 5 is not a stream socket"),
        "{err}"
    );
    let tcp = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Stream,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    let err = refused_with_fd5(Some(tcp));
    assert!(
        err.contains(
            "t.cfg:7:10: error: bind fd@5: file descriptor 5 is a socket but not a listening one"
        ),
        "{err}"
    );
    let file = tempfile::tempfile().unwrap();
    let err = refused_with_fd5(Some(file.into()));
    assert!(err.contains("file descriptor 5 is not a socket"), "{err}");
}

/// Requests over new connections until told to stop (at most 20,000):
/// (succeeded, failed, bodies seen).
fn load_loop(
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(usize, usize, Vec<String>)> {
    tokio::spawn(async move {
        let (ok, failed) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let mut bodies = Vec::new();
        let c = client_without_keepalive();
        for _ in 0..20_000 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            match get(&c, &format!("http://{addr}/"), &[]).await {
                Ok(r) if r.status == 200 => {
                    ok.fetch_add(1, Ordering::Relaxed);
                    if !bodies.contains(&r.body) {
                        bodies.push(r.body);
                    }
                }
                other => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!("request failed: {other:?}");
                }
            }
        }
        (ok.into_inner(), failed.into_inner(), bodies)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_x_and_sf_loses_no_request_and_the_old_process_exits() {
    let (a, b, c) = (
        Origin::start("a").await,
        Origin::start("b").await,
        Origin::start("c").await,
    );
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("api.sock");
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = |server: SocketAddr| {
        format!(
            "global\n    stats socket {} level admin expose-fd listeners\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server s1 {server}\n",
            sock.display()
        )
    };
    let start = |name: &str, server: SocketAddr, extra: &[&str]| {
        let path = write_config(&dir, name, &config(server));
        let notify = NotifySocket::new();
        let mut args = vec!["-db", "-f", &path];
        args.extend(extra);
        let mut running = Launch::new(&args)
            .env("NOTIFY_SOCKET", notify.path().to_str().unwrap())
            .spawn();
        notify.wait_ready(&mut running);
        running
    };
    let mut old = start("old.cfg", a.addr, &[]);
    assert_eq!(body(addr).await, "a\n");

    let stop = Arc::new(AtomicBool::new(false));
    let load = load_loop(addr, stop.clone());
    let limit = Duration::from_secs(10);
    wait_until("the load reaches the first process", limit, || {
        a.request_count() > 20
    })
    .await;

    // Two restarts in a row: each new process takes the socket over from
    // the one before through the same stats socket path.
    let sock_text = sock.to_str().unwrap().to_owned();
    let mut previous_pid = old.pid().to_string();
    let mut running = Vec::new();
    for (name, origin) in [("new.cfg", &b), ("newer.cfg", &c)] {
        let new = tokio::task::block_in_place(|| {
            start(name, origin.addr, &["-x", &sock_text, "-sf", &previous_pid])
        });
        previous_pid = new.pid().to_string();
        running.push(new);
        wait_until("the load reaches the new process", limit, || {
            origin.request_count() > 20
        })
        .await;
    }
    let old_status = tokio::task::block_in_place(|| old.wait_exit(Duration::from_secs(10)))
        .expect("the first process exits after -sf");
    assert!(old_status.success(), "{old_status:?}");
    let middle_status =
        tokio::task::block_in_place(|| running[0].wait_exit(Duration::from_secs(10)))
            .expect("the second process exits after -sf");
    assert!(middle_status.success(), "{middle_status:?}");
    let after_exits = c.request_count() + 20;
    wait_until("the load goes on after the exits", limit, || {
        c.request_count() >= after_exits
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let (ok, failed, bodies) = load.await.unwrap();
    assert_eq!(failed, 0, "no request may fail across the restarts");
    assert!(ok > 100, "the load loop ran ({ok} requests)");
    for expected in ["a\n", "b\n", "c\n"] {
        assert!(
            bodies.iter().any(|b| b == expected),
            "each process served: {bodies:?}"
        );
    }
    // The newest process alone serves now, on the same port.
    assert_eq!(body(addr).await, "c\n");
    assert!(running[1].wait_exit(Duration::from_millis(10)).is_none());
}

#[test]
fn x_without_expose_fd_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("api.sock");
    let port = free_port();
    let config = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server s1 127.0.0.1:9\n",
        sock.display()
    );
    let path = write_config(&dir, "t.cfg", &config);
    let notify = NotifySocket::new();
    let mut old = Launch::new(&["-db", "-f", &path])
        .env("NOTIFY_SOCKET", notify.path().to_str().unwrap())
        .spawn();
    notify.wait_ready(&mut old);
    let mut new = Launch::new(&["-db", "-f", &path, "-x", sock.to_str().unwrap()]).spawn();
    let status = new
        .wait_exit(Duration::from_secs(10))
        .expect("refused at startup");
    assert!(!status.success());
    let err = new.stderr();
    assert!(err.contains("needs 'expose-fd listeners'"), "{err}");
    // The old process was not disturbed.
    assert!(old.wait_exit(Duration::from_millis(10)).is_none());
}

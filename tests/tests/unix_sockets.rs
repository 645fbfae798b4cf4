//! Servers on unix sockets (`server NAME unix@PATH`, `/PATH`,
//! `abns@NAME`): requests reach them end to end over real sockets, with
//! keep-alive, and the runtime API shows them as HAProxy 2.6.12 does
//! (`fixtures/haproxy/unix-servers.txt`).

use std::os::linux::net::SocketAddrExt;
use std::path::Path;

use switchyard_e2e::client::{client_without_keepalive, get};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::runtime_api::command;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// An HTTP/1.1 origin on a unix socket answering every request with
/// `name`, keeping connections open.
fn serve(listener: UnixListener, name: &'static str) {
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, name));
        }
    });
}

async fn answer(mut stream: UnixStream, name: &'static str) {
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            pending.drain(..end + 4);
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{name}",
                name.len()
            );
            if stream.write_all(response.as_bytes()).await.is_err() {
                return;
            }
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
}

fn on_path(path: &Path, name: &'static str) {
    serve(UnixListener::bind(path).unwrap(), name);
}

fn on_abstract(abstract_name: &str, name: &'static str) {
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name).unwrap();
    let listener = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
    listener.set_nonblocking(true).unwrap();
    serve(UnixListener::from_std(listener).unwrap(), name);
}

#[tokio::test]
async fn http_requests_reach_servers_on_unix_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one.sock"), dir.path().join("two.sock"));
    let abstract_name = format!("switchyard-e2e-{}", std::process::id());
    on_path(&one, "one");
    on_path(&two, "two");
    on_abstract(&abstract_name, "three");
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let config = format!(
        "global\n    stats socket {} level admin\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
         frontend fe1\n    bind 127.0.0.1:{port}\n    default_backend be1\n\
         backend be1\n    balance roundrobin\n    server s1 unix@{}\n    server s2 {}\n    server s3 abns@{abstract_name}\n",
        sock.display(),
        one.display(),
        two.display()
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    // Each server in turn, twice: reused connections too.
    let client = client_without_keepalive();
    let mut bodies = Vec::new();
    for _ in 0..6 {
        let r = get(&client, &format!("http://127.0.0.1:{port}/"), &[])
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        bodies.push(r.body);
    }
    assert_eq!(bodies, ["one", "two", "three", "one", "two", "three"]);

    // HAProxy's `unix` address in the CSV, `-` and port 0 in the state.
    let stat = command(&sock, "show stat");
    let addrs: Vec<String> = stat
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{}", f[0], f[1], f[73])
        })
        .collect();
    assert_eq!(
        addrs,
        [
            "fe1,FRONTEND,",
            "be1,s1,unix",
            "be1,s2,unix",
            "be1,s3,unix",
            "be1,BACKEND,"
        ]
    );
    let state = command(&sock, "show servers state");
    for line in state.lines().skip(2).filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!((f[4], f[18]), ("-", "0"), "{line}");
    }
}

/// Sends one HTTP/1.1 request on `stream` and returns the whole answer
/// (the request asks for the connection to close).
async fn exchange(mut stream: UnixStream) -> String {
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

/// `bind /PATH mode 660 user U group G`, `bind unix@PATH` and
/// `bind abns@NAME` take HTTP requests; the socket file gets its mode and
/// owner (as HAProxy sets them), and a reload keeps serving on it.
#[tokio::test]
async fn http_frontends_listen_on_unix_sockets() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let origin_sock = dir.path().join("origin.sock");
    on_path(&origin_sock, "origin");
    let (plain, owned) = (dir.path().join("fe.sock"), dir.path().join("owned.sock"));
    let abstract_name = format!("switchyard-e2e-fe-{}", std::process::id());
    let port = free_port();
    // Owner changes need root: elsewhere only the mode is checked.
    let root = nix::unistd::Uid::effective().is_root();
    let owner = if root { " user 65534 group 65534" } else { "" };
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
         frontend fe1\n    bind 127.0.0.1:{port}\n    bind {} mode 600\n    bind unix@{} mode 660{owner}\n    bind abns@{abstract_name}\n    default_backend be1\n\
         backend be1\n    server s1 {}\n",
        plain.display(),
        owned.display(),
        origin_sock.display()
    );
    let gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    for path in [&plain, &owned] {
        let answer = exchange(UnixStream::connect(path).await.unwrap()).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\norigin"), "{answer}");
    }
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&plain), mode(&owned)), (0o600, 0o660));
    if root {
        let meta = std::fs::metadata(&owned).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    }
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&abstract_name).unwrap();
    let std_stream = std::os::unix::net::UnixStream::connect_addr(&addr).unwrap();
    std_stream.set_nonblocking(true).unwrap();
    let answer = exchange(UnixStream::from_std(std_stream).unwrap()).await;
    assert!(answer.ends_with("origin"), "{answer}");

    // A reload keeps the socket and serves the new configuration on it.
    gw.rewrite_config(&config.replace("default_backend be1", "http-request return status 203"));
    gw.signal("HUP");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let answer = exchange(UnixStream::connect(&plain).await.unwrap()).await;
        if answer.starts_with("HTTP/1.1 203") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not reloaded: {answer}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// In TCP mode a session reaches a server on a unix socket: the bytes go
/// both ways through the tunnel.
#[tokio::test]
async fn tcp_sessions_reach_servers_on_unix_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let origin = dir.path().join("echo.sock");
    let listener = UnixListener::bind(&origin).unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    let port = free_port();
    let config = format!(
        "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
         listen echo\n    bind 127.0.0.1:{port}\n    server s1 unix@{}\n",
        origin.display()
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let mut client = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    client.write_all(b"ping over a unix socket").await.unwrap();
    let mut echoed = [0u8; 23];
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        client.read_exact(&mut echoed),
    )
    .await
    .expect("echoed in time")
    .unwrap();
    assert_eq!(&echoed, b"ping over a unix socket");
}

/// `unix-bind prefix DIR mode 600 group G`: the UNIX sockets of `bind`
/// lines are made under DIR (the prefix joined to the path as written, as
/// HAProxy does) with that mode and group, unless their own line says
/// otherwise; `stats socket` is left as written.
#[tokio::test]
async fn unix_bind_gives_defaults_to_unix_binds() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let origin_sock = dir.path().join("origin.sock");
    on_path(&origin_sock, "origin");
    let stats = dir.path().join("stats.sock");
    let gid = nix::unistd::Gid::effective();
    let port = free_port();
    let config = format!(
        "global\n    unix-bind prefix {}/ mode 600 gid {gid}\n    stats socket {}\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
         frontend fe1\n    bind 127.0.0.1:{port}\n    bind /a.sock\n    bind /b.sock mode 644\n    default_backend be1\n\
         backend be1\n    server s1 {}\n",
        dir.path().display(),
        stats.display(),
        origin_sock.display()
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let (a, b) = (dir.path().join("a.sock"), dir.path().join("b.sock"));
    for path in [&a, &b] {
        let answer = exchange(UnixStream::connect(path).await.unwrap()).await;
        assert!(answer.ends_with("\r\n\r\norigin"), "{answer}");
    }
    assert!(!Path::new("/a.sock").exists(), "the prefix is applied");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&a), mode(&b)), (0o600, 0o644));
    assert_eq!(std::fs::metadata(&a).unwrap().gid(), gid.as_raw());
    assert!(stats.exists(), "stats socket at its own path");
}

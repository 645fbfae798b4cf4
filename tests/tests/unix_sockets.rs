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

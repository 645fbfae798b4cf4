//! When a request's log line is written, and whether: `option logasap`
//! (with the response head, its unfinished figures marked `+` as HAProxy
//! marks them; in TCP mode once the server is connected) and `no log` (a
//! proxy that logs nowhere, whatever its defaults say).

use std::net::SocketAddr;

use switchyard_e2e::client::{client, get};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::syslog::SyslogReceiver;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";

fn start(config: &str, port: u16) -> Gateway {
    Gateway::start(config, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// An origin that sends its response head at once and its 5-byte body only
/// when `release` fires.
async fn held_body_origin() -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (release, released) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the request came");
            seen.extend_from_slice(&buf[..n]);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")
            .await
            .unwrap();
        let _ = released.await;
        let _ = stream.write_all(b"hello").await;
    });
    (addr, release)
}

/// Reads from `stream` until `end` has been received; returns all of it.
async fn read_until(stream: &mut TcpStream, end: &str) -> String {
    let mut seen = String::new();
    let mut buf = [0u8; 1024];
    while !seen.contains(end) {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before {end:?}: {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    seen
}

/// With `option logasap` the line arrives while the body is still held by
/// the server (without it, `next_line` would wait for the body's end and
/// fail), with `+` before the bytes and times, as in HAProxy's example
/// `… 9/10/7/14/+30 200 +243 …`.
#[tokio::test]
async fn logasap_writes_the_line_with_the_response_head() {
    let (origin, release) = held_body_origin().await;
    let receiver = SyslogReceiver::start();
    let port = free_port();
    let config = format!(
        "global\n    log 127.0.0.1:{} local0\n{DEFAULTS}    log global\n    option logasap\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    log-format \"%ST %B %Tt %Ta %U\"\n    default_backend be\n\
         backend be\n    server s1 {origin}\n",
        receiver.port
    );
    let _gw = start(&config, port);
    let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    read_until(&mut client, "\r\n\r\n").await;
    let (_, line) = receiver.next_event();
    let fields: Vec<&str> = line.split(' ').collect();
    assert_eq!(fields[0], "200", "{line}");
    // `%B`: the response head only, the body not sent yet (HAProxy 2.6.12
    // wrote `+52` for this head).
    let head: u64 = fields[1].strip_prefix('+').unwrap().parse().unwrap();
    assert!(head > 0 && head < 100, "{line}");
    assert!(
        fields[2].starts_with('+') && fields[3].starts_with('+'),
        "{line}"
    );
    release.send(()).unwrap();
    read_until(&mut client, "hello").await;
}

/// In TCP mode the line goes once the server connection is established,
/// before any byte has passed.
#[tokio::test]
async fn logasap_in_tcp_mode_writes_the_line_at_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = listener.local_addr().unwrap();
    let receiver = SyslogReceiver::start();
    let port = free_port();
    let config = format!(
        "global\n    log 127.0.0.1:{} local0\n{DEFAULTS}    log global\n    option logasap\n\
         listen tcp_in\n    mode tcp\n    bind 127.0.0.1:{port}\n    log-format \"%B %Tt %U\"\n    server s1 {origin}\n",
        receiver.port
    );
    let _gw = start(&config, port);
    let _client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (_server_side, _) = listener.accept().await.unwrap();
    // The session is still open: the line came from the connection.
    let (_, line) = receiver.next_event();
    let fields: Vec<&str> = line.split(' ').collect();
    assert_eq!((fields[0], fields[2]), ("+0", "0"), "{line}");
    assert!(fields[1].starts_with('+'), "{line}");
}

/// `no log` in a frontend drops the targets its defaults gave it; a
/// frontend beside it still logs.
#[tokio::test]
async fn no_log_silences_a_proxy() {
    let o = Origin::start("o").await;
    let receiver = SyslogReceiver::start();
    let (quiet, loud) = (free_port(), free_port());
    let config = format!(
        "{DEFAULTS}    log 127.0.0.1:{} local0\n    log-format \"%f %ST\"\n\
         frontend quiet\n    bind 127.0.0.1:{quiet}\n    no log\n    default_backend be\n\
         frontend loud\n    bind 127.0.0.1:{loud}\n    default_backend be\n\
         backend be\n    server s1 {}\n",
        receiver.port, o.addr
    );
    let _gw = start(&config, quiet);
    let url = |port: u16| format!("http://127.0.0.1:{port}/");
    assert_eq!(get(&client(), &url(quiet), &[]).await.unwrap().status, 200);
    assert_eq!(get(&client(), &url(loud), &[]).await.unwrap().status, 200);
    // Lines go in order: the first one is the loud frontend's.
    assert_eq!(receiver.next_event().1, "loud 200");
}

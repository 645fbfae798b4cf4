//! `option http-server-close` and `option httpclose` against real sockets,
//! as HAProxy 2.6 applies them (compared by hand with HAProxy on
//! 2026-12-03, `docs/gateway.md`): either the frontend's or the backend's
//! setting closes the server connection after each exchange (the server is
//! told with `Connection: close`), while the client keeps its connection;
//! only the frontend's `httpclose` closes the client's connection too.

use std::time::Duration;

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONFIG: &str = "global\n    nbthread 1\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";

fn start(origin: &Origin, frontend_option: &str, backend_option: &str) -> (Gateway, u16) {
    let port = free_port();
    let config = format!(
        "{CONFIG}frontend fe\n    bind 127.0.0.1:{port}\n{frontend_option}    default_backend be\nbackend be\n{backend_option}    server s1 {}\n",
        origin.addr
    );
    let gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    (gw, port)
}

/// Sends `count` requests one after the other on one client connection and
/// returns each response's head (lower case), stopping when the gateway
/// closes the connection.
async fn exchanges(port: u16, count: usize) -> (Vec<String>, bool) {
    let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut heads = Vec::new();
    for i in 0..count {
        let request = format!("GET /{i} HTTP/1.1\r\nhost: modes.test\r\n\r\n");
        if client.write_all(request.as_bytes()).await.is_err() {
            return (heads, true);
        }
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if data.len() >= end + 4 + length {
                    heads.push(head);
                    break;
                }
            }
            let n = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf))
                .await
                .expect("an answer within 10 s")
                .unwrap_or(0);
            if n == 0 {
                return (heads, true);
            }
            data.extend_from_slice(&buf[..n]);
        }
    }
    // Still open? A closed connection reads its end at once (a close
    // expected after the last answer is read in the loop above, without
    // this limit; here a late close can only make an "open" check pass
    // wrongly, never fail).
    let mut byte = [0u8; 1];
    let closed = matches!(
        tokio::time::timeout(Duration::from_millis(300), client.read(&mut byte)).await,
        Ok(Ok(0)) | Ok(Err(_))
    );
    (heads, closed)
}

/// The `Connection` values the origin saw, request by request.
fn connection_fields(origin: &Origin) -> Vec<String> {
    origin
        .seen()
        .iter()
        .map(|r| r.header_values("connection").join(","))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_both_connections_stay_open() {
    let origin = Origin::start("web").await;
    let (_gw, port) = start(&origin, "", "");
    let (heads, closed) = exchanges(port, 3).await;
    assert_eq!(heads.len(), 3);
    assert!(!closed);
    assert!(heads.iter().all(|h| !h.contains("connection: close")));
    assert_eq!(connection_fields(&origin), ["", "", ""]);
    // The first request opens a connection (`http-reuse safe`), the next
    // ones reuse it.
    assert_eq!(origin.connections(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_server_close_closes_the_server_side_and_keeps_the_clients() {
    for (frontend, backend) in [
        ("", "    option http-server-close\n"),
        ("    option http-server-close\n", ""),
        // The backend's `httpclose` is the server side's only.
        ("", "    option httpclose\n"),
    ] {
        let origin = Origin::start("web").await;
        let (_gw, port) = start(&origin, frontend, backend);
        let (heads, closed) = exchanges(port, 3).await;
        let case = format!("frontend [{frontend:?}] backend [{backend:?}]");
        assert_eq!(heads.len(), 3, "{case}");
        assert!(!closed, "the client's connection closed: {case}");
        assert!(
            heads.iter().all(|h| !h.contains("connection: close")),
            "{case}: {heads:?}"
        );
        assert_eq!(
            connection_fields(&origin),
            ["close", "close", "close"],
            "{case}"
        );
        assert_eq!(
            origin.connections(),
            3,
            "one server connection each: {case}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn httpclose_in_the_frontend_closes_both_sides() {
    let origin = Origin::start("web").await;
    let (_gw, port) = start(&origin, "    option httpclose\n", "");
    let (heads, closed) = exchanges(port, 3).await;
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(heads[0].contains("connection: close"), "{heads:?}");
    assert!(closed);
    assert_eq!(connection_fields(&origin), ["close"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_mode_written_in_a_section_wins() {
    let origin = Origin::start("web").await;
    let (_gw, port) = start(
        &origin,
        "    option httpclose\n    option http-server-close\n",
        "",
    );
    let (heads, closed) = exchanges(port, 2).await;
    assert_eq!(heads.len(), 2);
    assert!(!closed, "http-server-close replaced httpclose");
    assert_eq!(connection_fields(&origin), ["close", "close"]);
}

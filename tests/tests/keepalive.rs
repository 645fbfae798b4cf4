//! Client keep-alive on the parked path (`gateway/src/front/parked.rs`): an idle
//! HTTP/1.1 connection holds no HTTP buffers, and everything a persistent
//! connection carries still works on it: many requests, pipelined ones,
//! a request with a body in the middle (handed to the general path), a
//! stream of requests of every kind on one connection.

use std::time::Duration;

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::{settled, wait_until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONFIG: &str = "global\n    nbthread 1\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n    timeout server 10s\n";

fn start(origin: &Origin) -> (Gateway, u16) {
    let port = free_port();
    let config = format!(
        "{CONFIG}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server s1 {}\n",
        origin.addr
    );
    let gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    (gw, port)
}

/// Reads responses off `s` until `count` complete ones (each with a
/// content-length body) have arrived; returns their bodies.
async fn read_responses(s: &mut TcpStream, count: usize) -> Vec<String> {
    let mut data = Vec::new();
    let mut bodies = Vec::new();
    let mut buf = [0u8; 4096];
    while bodies.len() < count {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert!(n > 0, "closed after {} responses", bodies.len());
        data.extend_from_slice(&buf[..n]);
        // Take every complete response from the front.
        while let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            assert!(head.starts_with("http/1.1 200"), "{head}");
            assert!(!head.contains("connection: close"), "{head}");
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .expect("content-length")
                .trim()
                .parse()
                .unwrap();
            if data.len() < end + 4 + len {
                break;
            }
            bodies.push(String::from_utf8_lossy(&data[end + 4..end + 4 + len]).into_owned());
            data.drain(..end + 4 + len);
        }
    }
    bodies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_carries_plain_pipelined_and_body_requests() {
    let origin = Origin::start("o").await;
    let (_gw, port) = start(&origin);
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let get = b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n";
    // Ten in turn.
    for _ in 0..10 {
        s.write_all(get).await.unwrap();
        assert_eq!(read_responses(&mut s, 1).await, ["o\n"]);
    }
    // Three pipelined in one write.
    s.write_all(&get.repeat(3)).await.unwrap();
    assert_eq!(read_responses(&mut s, 3).await, ["o\n", "o\n", "o\n"]);
    // A request with a body, then plain ones again.
    s.write_all(b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
        .await
        .unwrap();
    assert_eq!(read_responses(&mut s, 1).await, ["o\n"]);
    s.write_all(get).await.unwrap();
    assert_eq!(read_responses(&mut s, 1).await, ["o\n"]);
    // A head split over two writes.
    s.write_all(b"GET /split HTTP/1.1\r\nHo").await.unwrap();
    // A pause so that the two parts arrive apart (the case under test);
    // the answer does not depend on how long it lasts.
    tokio::time::sleep(Duration::from_millis(50)).await;
    s.write_all(b"st: t\r\n\r\n").await.unwrap();
    assert_eq!(read_responses(&mut s, 1).await, ["o\n"]);
    let seen = origin.seen();
    assert_eq!(seen.len(), 16, "every request reached the origin once");
    assert_eq!(seen.iter().filter(|r| r.method == "POST").count(), 1);
    assert_eq!(
        seen.iter().find(|r| r.method == "POST").unwrap().body_len,
        5
    );
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// hyper alone keeps 16 KiB of buffers per connection (8 KiB to read, 8 KiB
/// to write); parked, a connection is its socket, timers and task. Memory
/// is counted, not time, so the figure does not depend on the machine's
/// load (debug build: about 3 KiB per connection; docs/performance.md has
/// the release figure against HAProxy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_hold_no_http_buffers() {
    const CONNECTIONS: usize = 1_000;
    let origin = Origin::start("o").await;
    let (gw, port) = start(&origin);
    let get = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    let mut warm = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(get).await.unwrap();
        read_responses(&mut s, 1).await;
        warm.push(s);
    }
    let pid = gw.pid();
    // Taken once the warm-up's work is over (the memory stops moving).
    let before = settled(
        "the warm gateway's memory",
        Duration::from_secs(10),
        16,
        || rss_kb(pid),
    )
    .await;
    let mut idle = Vec::new();
    for _ in 0..CONNECTIONS {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(get).await.unwrap();
        read_responses(&mut s, 1).await;
        idle.push(s);
    }
    // A connection lets its buffers go once it is parked, which a loaded
    // machine may take a while to reach for the last ones: polled.
    let per_connection = || (rss_kb(pid).saturating_sub(before)) as f64 / CONNECTIONS as f64;
    wait_until(
        "idle connections hold less than 8 KiB each (buffers let go while idle)",
        Duration::from_secs(10),
        || per_connection() < 8.0,
    )
    .await;
    eprintln!("{:.2} KiB per idle keep-alive connection", per_connection());
    // They are still good connections.
    for s in idle.iter_mut().step_by(50) {
        s.write_all(get).await.unwrap();
        assert_eq!(read_responses(s, 1).await, ["o\n"]);
    }
}

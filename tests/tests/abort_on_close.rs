//! `option abortonclose`: a request whose client closes its side while it
//! waits for a server is given up, as HAProxy 2.6 gives it up (its
//! reg-test `http-messaging/http_abortonclose.vtc`): waiting for the
//! response head (`CH`, logged 400, the server connection closed), in the
//! queue (`CQ`, `-1`, `<NOSRV>`), connecting or waiting to connect again
//! (`CC`, `-1`). Without the option the request goes on, and the server's
//! answer is logged.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::syslog::SyslogReceiver;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n    timeout queue 10s\n";

fn start(config: &str, port: u16) -> Gateway {
    Gateway::start(config, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// An origin that reads each request head and answers only when told
/// (`answer`); `closed` reports each server connection the gateway closes
/// before the answer.
struct SlowOrigin {
    addr: SocketAddr,
    answer: mpsc::UnboundedSender<()>,
    closed: mpsc::UnboundedReceiver<()>,
    requests: mpsc::UnboundedReceiver<()>,
}

async fn slow_origin() -> SlowOrigin {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (answer, mut answers) = mpsc::unbounded_channel::<()>();
    let (closed_tx, closed) = mpsc::unbounded_channel();
    let (request_tx, requests) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
            let _ = request_tx.send(());
            tokio::select! {
                _ = answers.recv() => {
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .await;
                    // Held open until the gateway is done with it.
                    let _ = stream.read(&mut buf).await;
                }
                read = stream.read(&mut buf) => {
                    if matches!(read, Ok(0) | Err(_)) {
                        let _ = closed_tx.send(());
                    }
                }
            }
        }
    });
    SlowOrigin {
        addr,
        answer,
        closed,
        requests,
    }
}

/// Sends a bodiless request and closes the connection's sending side.
async fn request_then_close(port: u16) -> TcpStream {
    let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    client
        .write_all(b"GET /x HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    client.shutdown().await.unwrap();
    client
}

/// The next log line, read off the test's threads.
async fn next_line(receiver: &std::sync::Arc<SyslogReceiver>) -> String {
    let receiver = receiver.clone();
    tokio::task::spawn_blocking(move || receiver.next_event().1)
        .await
        .unwrap()
}

fn config(receiver: &SyslogReceiver, port: u16, backend: &str) -> String {
    format!(
        "{DEFAULTS}\
         frontend fe\n    bind 127.0.0.1:{port}\n    log 127.0.0.1:{} local0\n    log-format \"%ST %ts %s %r\"\n    default_backend be\n\
         backend be\n{backend}",
        receiver.port
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_closes_before_the_response_head_aborts_it() {
    let mut origin = slow_origin().await;
    let receiver = std::sync::Arc::new(SyslogReceiver::start());
    let port = free_port();
    let backend = format!("    option abortonclose\n    server s1 {}\n", origin.addr);
    let _gw = start(&config(&receiver, port, &backend), port);
    let mut client = request_then_close(port).await;
    let line = next_line(&receiver).await;
    assert_eq!(line, "400 CH s1 GET /x HTTP/1.1");
    // The server's connection is closed, and the client's without an
    // answer.
    tokio::time::timeout(Duration::from_secs(5), origin.closed.recv())
        .await
        .expect("the server connection closed")
        .unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    drop(origin.answer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_option_a_closed_client_still_gets_its_answer() {
    let mut origin = slow_origin().await;
    let receiver = std::sync::Arc::new(SyslogReceiver::start());
    let port = free_port();
    let backend = format!("    server s1 {}\n", origin.addr);
    let _gw = start(&config(&receiver, port, &backend), port);
    let mut client = request_then_close(port).await;
    origin.requests.recv().await.unwrap();
    origin.answer.send(()).unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).await.unwrap();
    assert!(rest.starts_with(b"HTTP/1.1 200 OK"), "{rest:?}");
    assert_eq!(next_line(&receiver).await, "200 -- s1 GET /x HTTP/1.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_closes_in_the_queue_leaves_it() {
    let mut origin = slow_origin().await;
    let receiver = std::sync::Arc::new(SyslogReceiver::start());
    let port = free_port();
    let backend = format!(
        "    option abortonclose\n    server s1 {} maxconn 1\n",
        origin.addr
    );
    let _gw = start(&config(&receiver, port, &backend), port);
    // The first request holds the server's only slot.
    let mut first = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    first
        .write_all(b"GET /first HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    origin.requests.recv().await.unwrap();
    let _second = request_then_close(port).await;
    assert_eq!(next_line(&receiver).await, "-1 CQ <NOSRV> GET /x HTTP/1.1");
    // The slot is still the first request's; its answer comes through.
    origin.answer.send(()).unwrap();
    let mut buf = [0u8; 256];
    let n = first.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
    assert_eq!(next_line(&receiver).await, "200 -- s1 GET /first HTTP/1.1");
}

/// A refused connection is tried again after `timeout connect` (at most a
/// second), as HAProxy does; a client that closes meanwhile ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_closes_while_connecting_ends_the_retries() {
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let receiver = std::sync::Arc::new(SyslogReceiver::start());
    let (with, without) = (free_port(), free_port());
    let config = format!(
        "{DEFAULTS}    retries 3\n\
         frontend fe\n    bind 127.0.0.1:{with}\n    bind 127.0.0.1:{without}\n    log 127.0.0.1:{} local0\n    log-format \"%ST %ts %r\"\n    use_backend be_abort if {{ dst_port {with} }}\n    default_backend be\n\
         backend be_abort\n    option abortonclose\n    server s1 {refused}\n\
         backend be\n    server s1 {refused}\n",
        receiver.port
    );
    let _gw = start(&config, with);
    let started = Instant::now();
    let _client = request_then_close(with).await;
    assert_eq!(next_line(&receiver).await, "-1 CC GET /x HTTP/1.1");
    assert!(started.elapsed() < Duration::from_millis(900));
    // Without the option: three more attempts, a second apart, then 503.
    let started = Instant::now();
    let _client = request_then_close(without).await;
    assert_eq!(next_line(&receiver).await, "503 SC GET /x HTTP/1.1");
    assert!(started.elapsed() >= Duration::from_millis(2900));
}

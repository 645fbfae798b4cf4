//! `option tcp-smart-accept` on real loopback sockets: in HTTP mode the
//! gateway's kernel does not acknowledge a client's request with a packet of
//! its own, the answer carries the ACK (HAProxy's automatic behaviour);
//! `no option tcp-smart-accept` and a reload turn it off; and when the
//! gateway waits for the rest of a request, quick ACKs come back, so a
//! client holding its next bytes for an ACK (Nagle) is not held up by the
//! kernel's 40 ms delayed-ACK timer.
//!
//! What the client's kernel still counts as unacknowledged is asked of the
//! client's socket (`SIOCOUTQ`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use switchyard_e2e::gateway::{free_port, Gateway};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const CONFIG: &str = "global\n    nbthread 1\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";

/// The Linux delayed-ACK timer's shortest wait is 40 ms: an ACK seen well
/// before it was sent on purpose, one not seen by then was held.
const WELL_BEFORE_DELAYED_ACK: Duration = Duration::from_millis(25);

/// An origin that reads each request head and answers it only once
/// `released` is true.
async fn holding_origin(released: watch::Receiver<bool>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut released = released.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = released.wait_for(|r| *r).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
            });
        }
    });
    addr
}

/// The bytes `client` has sent that its peer has not acknowledged, as the
/// client's kernel counts them: `SIOCOUTQ` (Linux defines it as
/// `TIOCOUTQ`), sent but unacknowledged plus unsent bytes; the request
/// goes out whole at once, so this is what waits for an ACK.
fn unacknowledged(client: &TcpStream) -> i32 {
    use std::os::fd::AsRawFd;
    let mut queued: nix::libc::c_int = 0;
    #[allow(unsafe_code)]
    // SAFETY: SIOCOUTQ writes one int through the pointer, which points to
    // `queued`; the descriptor is the open socket `client` borrows.
    let rc = unsafe { nix::libc::ioctl(client.as_raw_fd(), nix::libc::TIOCOUTQ, &mut queued) };
    assert_eq!(rc, 0, "SIOCOUTQ: {}", std::io::Error::last_os_error());
    queued
}

fn start(port: u16, origin: SocketAddr, frontend_option: &str) -> Gateway {
    let config = format!(
        "{CONFIG}frontend fe\n    bind 127.0.0.1:{port}\n{frontend_option}    default_backend be\nbackend be\n    server s1 {origin}\n"
    );
    Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap())
}

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: acks.test\r\n\r\n";

/// Sends a whole request on a new connection and reports whether the
/// gateway's kernel had acknowledged it right after (`None` when the look
/// came too late to tell a held ACK from a timer's).
async fn acked_at_once(port: u16) -> (TcpStream, Option<bool>) {
    let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let sent = Instant::now();
    client.write_all(REQUEST).await.unwrap();
    let acked = unacknowledged(&client) == 0;
    let conclusive = sent.elapsed() < WELL_BEFORE_DELAYED_ACK;
    (client, conclusive.then_some(acked))
}

/// Reads one response off `client` and checks it.
async fn read_answer(client: &mut TcpStream) {
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"ok") {
        let n = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert!(n > 0, "closed before the answer");
        answer.extend_from_slice(&buf[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_http_mode_the_answer_carries_the_requests_ack() {
    let (release, released) = watch::channel(false);
    let origin = holding_origin(released).await;
    let port = free_port();
    let _gw = start(port, origin, "");
    let mut held = None;
    for _ in 0..10 {
        let (client, acked) = acked_at_once(port).await;
        if let Some(acked) = acked {
            held = Some((client, acked));
            break;
        }
    }
    let (mut client, acked) = held.expect("a look within 25 ms of sending, in 10 tries");
    assert!(
        !acked,
        "the gateway's kernel acknowledged the request on its own"
    );
    // The origin answers: the response acknowledges the request.
    release.send(true).unwrap();
    read_answer(&mut client).await;
    assert_eq!(unacknowledged(&client), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_option_tcp_smart_accept_acknowledges_at_once_and_a_reload_switches() {
    let (release, released) = watch::channel(false);
    let origin = holding_origin(released).await;
    let port = free_port();
    let gw = start(port, origin, "    no option tcp-smart-accept\n");
    for _ in 0..3 {
        let (client, acked) = acked_at_once(port).await;
        // An ACK sent at once is in before `write_all` returns (loopback).
        assert_ne!(acked, Some(false), "the request's ACK was held");
        assert_eq!(unacknowledged(&client), 0);
    }
    // The same listening socket after a reload that drops the `no`.
    gw.rewrite_config(&format!(
        "{CONFIG}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server s1 {origin}\n"
    ));
    gw.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_client, acked) = acked_at_once(port).await;
        if acked == Some(false) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "connections were still acknowledged at once 10 s after the reload"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    release.send(true).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_acks_come_back_while_the_gateway_waits_for_the_rest_of_a_head() {
    let (release, released) = watch::channel(true);
    let origin = holding_origin(released).await;
    let port = free_port();
    let _gw = start(port, origin, "");
    let mut seen = Vec::new();
    for _ in 0..10 {
        let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let sent = Instant::now();
        client.write_all(&REQUEST[..16]).await.unwrap();
        // The gateway reads the first part, finds the head incomplete and
        // waits: its ACK goes out then, not at the delayed-ACK timer.
        let acked_after = loop {
            if unacknowledged(&client) == 0 {
                break sent.elapsed();
            }
            if sent.elapsed() > Duration::from_secs(1) {
                panic!("the first part of the head was never acknowledged");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        client.write_all(&REQUEST[16..]).await.unwrap();
        read_answer(&mut client).await;
        if acked_after < WELL_BEFORE_DELAYED_ACK {
            drop(release);
            return;
        }
        seen.push(acked_after);
    }
    panic!("the first part of a head was acknowledged only after {seen:?} (the delayed-ACK timer's time), never sooner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_with_tcp_smart_connect_sends_requests_with_the_handshakes_ack() {
    let (_release, released) = watch::channel(true);
    let origin = holding_origin(released).await;
    let port = free_port();
    let config = format!(
        "{CONFIG}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    option tcp-smart-connect\n    server s1 {origin}\n"
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    // New client connections, so that each request opens its own server
    // connection (`http-reuse safe`).
    for _ in 0..3 {
        let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        client.write_all(REQUEST).await.unwrap();
        read_answer(&mut client).await;
    }
}

//! `option tcp-smart-accept` on real loopback sockets: in HTTP mode the
//! gateway's kernel does not acknowledge a client's request with a packet of
//! its own, the answer carries the ACK (HAProxy's automatic behaviour);
//! `no option tcp-smart-accept` and a reload turn it off; and when the
//! gateway waits for the rest of a request, quick ACKs come back, so a
//! client holding its next bytes for an ACK (Nagle) is not held up by the
//! kernel's 40 ms delayed-ACK timer.
//!
//! `option tcp-smart-connect`: the gateway's server connections carry the
//! handshake's last ACK on the request (counted at the origin, `TCP_INFO`).
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

/// Segments without data the origin's kernel has received on `socket`
/// (`tcpi_segs_in` less `tcpi_data_segs_in` of `TCP_INFO`, Linux 4.6+):
/// the handshake's last ACK when it came alone, and later bare ACKs.
fn bare_segments_in(socket: &TcpStream) -> u32 {
    use std::os::fd::AsRawFd;
    // struct tcp_info: u32 tcpi_segs_in at byte 140, tcpi_data_segs_in at 152.
    let mut info = [0u8; 232];
    let mut len = info.len() as nix::libc::socklen_t;
    #[allow(unsafe_code)]
    // SAFETY: getsockopt writes at most `len` bytes into `info`, and the
    // descriptor is the open socket `socket` borrows.
    let rc = unsafe {
        nix::libc::getsockopt(
            socket.as_raw_fd(),
            nix::libc::IPPROTO_TCP,
            nix::libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "TCP_INFO: {}", std::io::Error::last_os_error());
    assert!(len >= 156, "TCP_INFO too short ({len} bytes) for segs_in");
    let word = |at: usize| u32::from_ne_bytes(info[at..at + 4].try_into().unwrap());
    word(140) - word(152)
}

/// An origin that answers each request head at once and sends, for each
/// connection, the bare segments its kernel had received when the head
/// was in.
async fn counting_origin() -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<u32>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (report, reports) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let report = report.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = report.send(bare_segments_in(&socket));
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
            });
        }
    });
    (addr, reports)
}

/// The bare segments the origin had received per server connection, for
/// three requests on new client connections (so that each opens its own
/// server connection: `http-reuse safe`).
async fn bare_segments_per_server_connection(backend_option: &str) -> Vec<u32> {
    let (origin, mut reports) = counting_origin().await;
    let port = free_port();
    let config = format!(
        "{CONFIG}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n{backend_option}    server s1 {origin}\n"
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let mut seen = Vec::new();
    for _ in 0..3 {
        let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        client.write_all(REQUEST).await.unwrap();
        read_answer(&mut client).await;
        seen.push(reports.recv().await.expect("the origin's report"));
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_with_tcp_smart_connect_sends_requests_with_the_handshakes_ack() {
    // Without the option the kernel sends the handshake's last ACK alone,
    // then the request; with it, that ACK rides on the request, so the
    // origin has received one bare segment fewer when the request is in
    // (how the kernel counts the segment that completes the handshake
    // differs between versions: compare, not absolute numbers).
    let smart = bare_segments_per_server_connection("    option tcp-smart-connect\n").await;
    let plain = bare_segments_per_server_connection("").await;
    let one_fewer: Vec<u32> = plain.iter().map(|n| n.saturating_sub(1)).collect();
    assert!(
        plain.iter().all(|n| *n >= 1),
        "plain connections: {plain:?}"
    );
    assert_eq!(
        smart, one_fewer,
        "bare segments at the origin with tcp-smart-connect {smart:?}, without {plain:?}"
    );
}

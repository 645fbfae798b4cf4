//! The HTTP/2 front frame by frame, as HAProxy 2.6 presents it: its first
//! frames and their order, and requests HTTP/2 allows that HTTP/1.1
//! frames differently (a body without `content-length`).

use std::time::Duration;

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::h2_frames::{
    H2Connection, ACK, DATA, END_STREAM, HEADERS, MAX_CONCURRENT_STREAMS, SETTINGS, WINDOW_UPDATE,
};
use switchyard_e2e::origin::Origin;

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";
const WAIT: Duration = Duration::from_secs(5);

/// A gateway whose frontend speaks h2 (prior knowledge) toward `server`,
/// with `server_options` on its `server` line.
async fn h2_gateway(
    server: std::net::SocketAddr,
    server_options: &str,
) -> (Gateway, std::net::SocketAddr) {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = format!(
        "{DEFAULTS}listen l\n    bind 127.0.0.1:{port} proto h2\n    server s {server}{server_options}\n"
    );
    (Gateway::start(&config, addr), addr)
}

#[tokio::test]
async fn the_settings_ack_comes_before_any_window_update() {
    let o = Origin::start("o").await;
    let (_gw, addr) = h2_gateway(o.addr, "").await;
    let mut conn = H2Connection::open(addr).await;
    let first = conn.next_frame(WAIT).await.expect("the server's SETTINGS");
    assert_eq!((first.kind, first.flags), (SETTINGS, 0));
    assert!(
        first.settings().contains(&(MAX_CONCURRENT_STREAMS, 100)),
        "HAProxy's default: {:?}",
        first.settings()
    );
    conn.send(SETTINGS, ACK, 0, &[]).await;
    let before_ack = conn.frames_until(SETTINGS, 0, WAIT).await;
    let ack = before_ack.last().unwrap();
    assert_eq!(ack.flags, ACK);
    assert!(
        before_ack.iter().all(|f| f.kind != WINDOW_UPDATE),
        "VTest and HAProxy's clients want the ACK first: {before_ack:?}"
    );
}

#[tokio::test]
async fn a_get_with_data_and_no_content_length_reaches_the_server_whole() {
    let o = Origin::start("o").await;
    let (_gw, addr) = h2_gateway(o.addr, "").await;
    let mut conn = H2Connection::open(addr).await;
    conn.send(SETTINGS, ACK, 0, &[]).await;
    let request = [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/with-body"),
        (":authority", "example.test"),
    ];
    conn.send_headers(1, &request, false).await;
    conn.send(DATA, END_STREAM, 1, b"this must be delivered")
        .await;
    let frames = conn.frames_until(HEADERS, 1, WAIT).await;
    let headers = conn.decode(frames.last().unwrap());
    assert!(
        headers.contains(&(":status".into(), "200".into())),
        "{headers:?}"
    );
    let seen = &o.seen()[0];
    assert_eq!(
        (seen.method.as_str(), seen.uri.as_str()),
        ("GET", "/with-body")
    );
    assert_eq!(seen.body_len, "this must be delivered".len(), "{seen:?}");
}

#[tokio::test]
async fn a_request_without_authority_or_host_reaches_an_h2_server() {
    let o = Origin::start("o").await;
    let (_gw, addr) = h2_gateway(o.addr, " proto h2").await;
    let mut conn = H2Connection::open(addr).await;
    conn.send(SETTINGS, ACK, 0, &[]).await;
    let request = [(":method", "GET"), (":scheme", "http"), (":path", "/bare")];
    conn.send_headers(1, &request, true).await;
    let frames = conn.frames_until(HEADERS, 1, WAIT).await;
    let headers = conn.decode(frames.last().unwrap());
    assert!(
        headers.contains(&(":status".into(), "200".into())),
        "{headers:?}"
    );
    let seen = &o.seen()[0];
    // The server's address stands for the missing authority.
    assert_eq!(seen.uri, format!("http://{}/bare", o.addr));
}

//! `http-reuse never|safe|aggressive|always`: which idle server connection
//! a request may take, as HAProxy 2.6 decides (its
//! `connection/http_reuse_*.vtc` scenarios). The origin tells server
//! connections apart by the gateway's source port.

use std::net::SocketAddr;

use switchyard_e2e::client::{client, get, TestClient};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";

fn start(origin: SocketAddr, mode: &str) -> (Gateway, u16) {
    let port = free_port();
    let reuse = if mode.is_empty() {
        String::new()
    } else {
        format!("    http-reuse {mode}\n")
    };
    let config =
        format!("{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n{reuse}    server s {origin}\n");
    let gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    (gw, port)
}

/// Sends one request on `client`'s connection (one client connection per
/// client, kept alive) and returns the server connection it went over.
async fn request(client: &TestClient, port: u16, origin: &Origin) -> u16 {
    let r = get(client, &format!("http://127.0.0.1:{port}/"), &[])
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    origin.seen().last().unwrap().peer.port()
}

#[tokio::test]
async fn always_sends_even_a_first_request_over_an_idle_connection() {
    let o = Origin::start("o").await;
    let (_gw, port) = start(o.addr, "always");
    let a = request(&client(), port, &o).await;
    assert_eq!(request(&client(), port, &o).await, a);
    assert_eq!(o.connections(), 1);
}

#[tokio::test]
async fn safe_is_the_default_and_keeps_first_requests_off_idle_connections() {
    for mode in ["", "safe"] {
        let o = Origin::start("o").await;
        let (_gw, port) = start(o.addr, mode);
        let c1 = client();
        let a = request(&c1, port, &o).await;
        assert_eq!(request(&c1, port, &o).await, a, "{mode}: its own, kept");
        let c2 = client();
        let b = request(&c2, port, &o).await;
        assert_ne!(b, a, "{mode}: a first request opens a connection");
        // Later requests may take any idle connection.
        let later = request(&c2, port, &o).await;
        assert!(later == a || later == b, "{mode}");
        assert_eq!(o.connections(), 2, "{mode}");
    }
}

#[tokio::test]
async fn aggressive_lets_a_first_request_take_only_a_proven_connection() {
    let o = Origin::start("o").await;
    let (_gw, port) = start(o.addr, "aggressive");
    // One request: the connection is idle but not proven reusable.
    let a = request(&client(), port, &o).await;
    let c2 = client();
    let b = request(&c2, port, &o).await;
    assert_ne!(b, a, "no proven connection yet: a new one");
    // The second request reuses a connection, which is then proven.
    let proven = request(&c2, port, &o).await;
    assert_eq!(request(&client(), port, &o).await, proven);
    assert_eq!(o.connections(), 2);
}

#[tokio::test]
async fn never_keeps_each_client_connections_server_connection_its_own() {
    let o = Origin::start("o").await;
    let (_gw, port) = start(o.addr, "never");
    let c1 = client();
    let a = request(&c1, port, &o).await;
    assert_eq!(
        request(&c1, port, &o).await,
        a,
        "its own connection is kept"
    );
    let c2 = client();
    let b = request(&c2, port, &o).await;
    assert_ne!(b, a, "c1's idle connection is not shared");
    assert_eq!(request(&c2, port, &o).await, b);
    assert_eq!(request(&c1, port, &o).await, a);
    assert_eq!(o.connections(), 2);
}

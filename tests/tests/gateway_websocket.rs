//! `Connection: Upgrade` through the gateway: a real WebSocket client and
//! server on either side, and `timeout tunnel` closing a silent tunnel.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

use switchyard_e2e::gateway::{free_port, Gateway};

/// A WebSocket server that answers each text message with "NAME: TEXT".
async fn websocket_origin(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if let Message::Text(text) = message {
                        if ws
                            .send(Message::text(format!("{name}: {text}")))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

fn start(port: u16, origin: SocketAddr, tunnel: &str) -> Gateway {
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n{tunnel}\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend ws\nbackend ws\n    server w1 {origin}\n"
    );
    Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap())
}

#[tokio::test]
async fn websocket_messages_cross_the_gateway_both_ways() {
    let origin = websocket_origin("w1").await;
    let port = free_port();
    let _gw = start(port, origin, "");
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut ws, response) =
        tokio_tungstenite::client_async(format!("ws://127.0.0.1:{port}/chat"), stream)
            .await
            .expect("the upgrade goes through the gateway");
    assert_eq!(response.status(), 101);
    for i in 0..20 {
        ws.send(Message::text(format!("hello {i}"))).await.unwrap();
        let reply = ws.next().await.unwrap().unwrap();
        assert_eq!(reply, Message::text(format!("w1: hello {i}")));
    }
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn a_silent_tunnel_is_closed_after_timeout_tunnel_and_a_busy_one_is_not() {
    let origin = websocket_origin("w1").await;
    let port = free_port();
    // The client and server timeouts are 10 s; the tunnel's own limit wins.
    let _gw = start(port, origin, "    timeout tunnel 2s\n");
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://127.0.0.1:{port}/"), stream)
        .await
        .unwrap();
    // Traffic every 400 ms keeps it open well past two seconds. The pauses
    // are the case under test; a fifth of the timeout each, so a loaded
    // machine's late timers cannot stretch one to the limit.
    for i in 0..8 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        ws.send(Message::text(format!("{i}"))).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::text(format!("w1: {i}"))
        );
    }
    let silent_since = Instant::now();
    let end = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("the gateway closes the silent tunnel");
    assert!(
        !matches!(end, Some(Ok(Message::Text(_)))),
        "no message was expected, got {end:?}"
    );
    let waited = silent_since.elapsed();
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(6),
        "closed after {waited:?}, expected about 2 s"
    );
}

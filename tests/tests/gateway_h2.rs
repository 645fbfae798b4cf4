//! The HTTP/2 front frame by frame, as HAProxy 2.6 presents it: its first
//! frames and their order, and requests HTTP/2 allows that HTTP/1.1
//! frames differently (a body without `content-length`).

use std::time::Duration;

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::h2_frames::{
    H2Connection, ACK, DATA, ENABLE_CONNECT_PROTOCOL, END_STREAM, HEADERS, MAX_CONCURRENT_STREAMS,
    SETTINGS, WINDOW_UPDATE,
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

/// An HTTP/1.1 WebSocket server on raw TCP: it keeps the handshake's head,
/// answers 101 with the accept value of the key it got (or `accept` when
/// given), then echoes every byte.
async fn websocket_origin(
    accept: Option<&'static str>,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Receiver<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen, head) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        while !buf.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                return;
            }
            buf.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&buf).into_owned();
        let key = text
            .lines()
            .find_map(|l| l.strip_prefix("sec-websocket-key: "))
            .unwrap_or("")
            .to_owned();
        let _ = seen.send(text);
        let accept = accept.map_or_else(
            || tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes()),
            str::to_owned,
        );
        let answer = format!(
            "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-accept: {accept}\r\n\r\n"
        );
        stream.write_all(answer.as_bytes()).await.unwrap();
        let mut chunk = [0u8; 1024];
        while let Ok(n) = stream.read(&mut chunk).await {
            if n == 0 || stream.write_all(&chunk[..n]).await.is_err() {
                return;
            }
        }
    });
    (addr, head)
}

/// RFC 8441's extended CONNECT for a WebSocket on stream 1.
async fn websocket_over_h2(addr: std::net::SocketAddr) -> (H2Connection, Vec<(String, String)>) {
    let mut conn = H2Connection::open(addr).await;
    let settings = conn.frames_until(SETTINGS, 0, WAIT).await;
    assert!(
        settings[0]
            .settings()
            .contains(&(ENABLE_CONNECT_PROTOCOL, 1)),
        "RFC 8441 §3: announced by the server"
    );
    conn.send(SETTINGS, ACK, 0, &[]).await;
    let request = [
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "http"),
        (":path", "/chat"),
        (":authority", "127.0.0.1"),
        ("sec-websocket-version", "13"),
    ];
    conn.send_headers(1, &request, false).await;
    let frames = conn.frames_until(HEADERS, 1, WAIT).await;
    let headers = conn.decode(frames.last().unwrap());
    (conn, headers)
}

#[tokio::test]
async fn websocket_over_h2_reaches_an_http1_server_as_its_handshake_and_tunnels() {
    let (origin, head) = websocket_origin(None).await;
    let (_gw, addr) = h2_gateway(origin, "").await;
    let (mut conn, headers) = websocket_over_h2(addr).await;
    assert!(
        headers.contains(&(":status".into(), "200".into())),
        "{headers:?}"
    );
    assert!(
        headers
            .iter()
            .all(|(n, _)| n != "upgrade" && n != "connection" && n != "sec-websocket-accept"),
        "HTTP/1.1's handshake fields stay on the server's side: {headers:?}"
    );
    let head = head.await.unwrap();
    assert!(head.starts_with("GET /chat HTTP/1.1\r\n"), "{head}");
    for field in [
        "connection: upgrade",
        "upgrade: websocket",
        "sec-websocket-version: 13",
    ] {
        assert!(head.contains(field), "{field} in {head}");
    }
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("sec-websocket-key: "))
        .expect("the gateway makes the key HTTP/2 does not have");
    assert_eq!(key.len(), 24, "16 bytes in base64: {key}");
    // The tunnel: DATA frames to the server's bytes and back.
    conn.send(DATA, 0, 1, b"\x81\x04ping").await;
    let frames = conn.frames_until(DATA, 1, WAIT).await;
    assert_eq!(frames.last().unwrap().payload, b"\x81\x04ping");
}

#[tokio::test]
async fn websocket_over_h2_with_a_wrong_accept_from_the_server_is_502() {
    let (origin, _head) = websocket_origin(Some("invalid_key")).await;
    let (_gw, addr) = h2_gateway(origin, "").await;
    let (_conn, headers) = websocket_over_h2(addr).await;
    assert!(
        headers.contains(&(":status".into(), "502".into())),
        "{headers:?}"
    );
}

/// An HTTP/2 server that takes RFC 8441's WebSocket (extended CONNECT) and
/// answers each text message with "h2: TEXT"; it reports the method and
/// `:protocol` of the request it got.
async fn h2_websocket_origin() -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<(String, Option<String>)>,
) {
    h2_origin_with(true, |req| {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::protocol::Role;
        use tokio_tungstenite::tungstenite::Message;
        let upgrade = hyper::upgrade::on(req);
        tokio::spawn(async move {
            let Ok(upgraded) = upgrade.await else { return };
            let io = hyper_util::rt::TokioIo::new(upgraded);
            let mut ws =
                tokio_tungstenite::WebSocketStream::from_raw_socket(io, Role::Server, None).await;
            while let Some(Ok(Message::Text(text))) = ws.next().await {
                if ws.send(Message::text(format!("h2: {text}"))).await.is_err() {
                    return;
                }
            }
        });
    })
    .await
}

#[tokio::test]
async fn an_http1_websocket_reaches_an_h2_server_as_an_extended_connect() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (origin, mut requests) = h2_websocket_origin().await;
    let port = free_port();
    let config =
        format!("{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    server s {origin} proto h2\n");
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    // tungstenite checks the Sec-WebSocket-Accept of its own key.
    let (mut ws, response) =
        tokio_tungstenite::client_async(format!("ws://127.0.0.1:{port}/chat"), stream)
            .await
            .expect("the handshake goes through as HTTP/2's extended CONNECT");
    assert_eq!(response.status(), 101);
    let (method, protocol) = requests.recv().await.unwrap();
    assert_eq!(
        (method.as_str(), protocol.as_deref()),
        ("CONNECT", Some("websocket"))
    );
    ws.send(Message::text("hello")).await.unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert_eq!(reply, Message::text("h2: hello"));
}

/// An HTTP/1 origin counting its connections: `/slow` answers a chunked
/// body whose end comes `pause` after its start, anything else `ok`.
async fn slow_body_origin(
    pause: Duration,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    buf.drain(..end + 4);
                    if head.contains(" /slow ") {
                        let start =
                            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n";
                        s.write_all(start).await.unwrap();
                        tokio::time::sleep(pause).await;
                        s.write_all(b"0\r\n\r\n").await.unwrap();
                    } else {
                        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                            .await
                            .unwrap();
                    }
                }
            });
        }
    });
    (addr, accepted)
}

/// A HEAD the rules make a GET, from an HTTP/2 client: the server's body
/// is read to its end before the answer, so the client's next request
/// (which HTTP/2 lets come at once) finds the server connection back in
/// the pool rather than opening another (`http_bodyless_response.vtc`).
#[tokio::test]
async fn a_head_made_get_over_h2_leaves_the_server_connection_for_the_next_request() {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let (origin, accepted) = slow_body_origin(Duration::from_millis(300)).await;
    let port = free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = format!(
        "{DEFAULTS}listen l\n    bind 127.0.0.1:{port} proto h2\n    http-request set-method GET if METH_HEAD\n    server s {origin}\n"
    );
    let _gw = Gateway::start(&config, addr);
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    let request = |method: &str, path: &str| {
        hyper::Request::builder()
            .method(method)
            .uri(format!("http://127.0.0.1{path}"))
            .body(Empty::<bytes::Bytes>::new())
            .unwrap()
    };
    let head = sender.send_request(request("HEAD", "/slow")).await.unwrap();
    assert_eq!(head.status(), 200);
    let body = head.into_body().collect().await.unwrap().to_bytes();
    assert!(body.is_empty(), "no body after HEAD: {body:?}");
    let next = sender.send_request(request("GET", "/next")).await.unwrap();
    let body = next.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"ok");
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the drained server connection served the next request"
    );
}

/// An HTTP/2 server answering 200 to anything, with or without extended
/// CONNECT (RFC 8441) allowed in its SETTINGS; it reports each request's
/// method and `:protocol`.
async fn h2_origin(
    connect_protocol: bool,
) -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<(String, Option<String>)>,
) {
    h2_origin_with(connect_protocol, |_| {}).await
}

/// An HTTP/2 server answering 200 to anything once `on_request` has seen
/// the request, reporting each request's method and `:protocol`.
async fn h2_origin_with(
    connect_protocol: bool,
    on_request: impl Fn(&mut hyper::Request<hyper::body::Incoming>) + Clone + Send + Sync + 'static,
) -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<(String, Option<String>)>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen, requests) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (seen, on_request) = (seen.clone(), on_request.clone());
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    let protocol = req
                        .extensions()
                        .get::<hyper::ext::Protocol>()
                        .map(|p| p.as_str().to_owned());
                    let _ = seen.send((req.method().to_string(), protocol));
                    on_request(&mut req);
                    async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Empty::<bytes::Bytes>::new(),
                        ))
                    }
                },
            );
            let mut builder =
                hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
            if connect_protocol {
                builder.enable_connect_protocol();
            }
            tokio::spawn(async move {
                let _ = builder
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, requests)
}

/// An HTTP/1.1 client's upgrade to any protocol reaches a `proto h2`
/// server as an extended CONNECT and comes back a 101 naming it; a server
/// whose SETTINGS do not allow extended CONNECT is sent nothing, and the
/// client gets a 502, as from HAProxy (`protocol_upgrade.vtc`, c4–c6).
#[tokio::test]
async fn an_http1_upgrade_to_any_protocol_needs_an_h2_server_that_allows_it() {
    let upgrade = "GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: upgrade\r\nupgrade: custom_protocol\r\n\r\n";
    for allowed in [true, false] {
        let (origin, mut requests) = h2_origin(allowed).await;
        let port = free_port();
        let config = format!(
            "{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    server s {origin} proto h2\n"
        );
        let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        use tokio::io::AsyncWriteExt;
        s.write_all(upgrade.as_bytes()).await.unwrap();
        let got = tokio::time::timeout(WAIT, switchyard_e2e::raw_http::read_response(&mut s))
            .await
            .expect("an answer");
        if allowed {
            assert!(got.starts_with("HTTP/1.1 101 "), "{got}");
            assert!(got.contains("upgrade: custom_protocol\r\n"), "{got}");
            let seen = requests.recv().await.unwrap();
            assert_eq!(seen, ("CONNECT".into(), Some("custom_protocol".into())));
        } else {
            assert!(got.starts_with("HTTP/1.1 502 "), "{got}");
            assert!(requests.try_recv().is_err(), "the server was sent nothing");
        }
    }
}

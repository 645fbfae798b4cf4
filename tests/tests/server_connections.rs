//! The gateway's own HTTP/1.1 server connections (`gateway/src/upstream/server_conn.rs`,
//! `upstream/server_body.rs`), which carry bodiless GET and HEAD requests: every way a
//! response body can be framed reaches the client whole, connections are
//! reused and let go as the server says, a server closing an idle
//! connection costs no request, and a request with a body that lands on
//! such a connection goes through hyper on the same connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use switchyard_e2e::client::{client, get, send};
use switchyard_e2e::gateway::{free_port, Gateway};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An origin that answers by path, in raw bytes, and counts the
/// connections it accepted and those it has closed.
struct ScriptedOrigin {
    addr: std::net::SocketAddr,
    accepted: Arc<AtomicU64>,
    closed: Arc<AtomicU64>,
}

impl ScriptedOrigin {
    async fn start() -> ScriptedOrigin {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (accepted, closed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (count, ended) = (accepted.clone(), closed.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let ended = ended.clone();
                tokio::spawn(async move {
                    serve(socket).await;
                    ended.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        ScriptedOrigin {
            addr,
            accepted,
            closed,
        }
    }

    fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    fn closed(&self) -> u64 {
        self.closed.load(Ordering::SeqCst)
    }
}

/// Reads one request (head and any Content-Length body) off `socket`.
async fn read_request(socket: &mut TcpStream, pending: &mut Vec<u8>) -> Option<(String, String)> {
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            while pending.len() < end + 4 + length {
                let mut buf = [0u8; 4096];
                let n = socket.read(&mut buf).await.ok()?;
                if n == 0 {
                    return None;
                }
                pending.extend_from_slice(&buf[..n]);
            }
            let body = String::from_utf8_lossy(&pending[end + 4..end + 4 + length]).into_owned();
            pending.drain(..end + 4 + length);
            return Some((head, body));
        }
        let mut buf = [0u8; 4096];
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        pending.extend_from_slice(&buf[..n]);
    }
}

async fn serve(mut socket: TcpStream) {
    let mut pending = Vec::new();
    while let Some((head, body)) = read_request(&mut socket, &mut pending).await {
        let line = head.lines().next().unwrap_or_default().to_owned();
        let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
        let pieces: Vec<Vec<u8>> = match path.as_str() {
            "/chunked" => vec![
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhel".to_vec(),
                b"lo\r\n6\r\n world\r".to_vec(),
                b"\n0\r\nX-Trailer: t\r\n\r\n".to_vec(),
            ],
            "/until-close" => {
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ")
                    .await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = socket.write_all(b"the end").await;
                return;
            }
            "/then-close" => {
                // Answers, then closes the idle connection without saying so.
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nonce")
                    .await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                return;
            }
            "/interim" => vec![
                b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n".to_vec(),
                b"HTTP/1.1 200 Fine\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            ],
            "/post" => {
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                vec![answer.into_bytes()]
            }
            "/hop" => vec![b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\n\
                  X-Hop: 1\r\nProxy-Connection: keep-alive\r\nX-End: 2\r\nContent-Length: 3\r\n\r\nhop"
                .to_vec()],
            "/fields" => vec![b"HTTP/1.1 200 OK\r\nX-A: 1\r\nSet-Cookie: s=1\r\nConnection: keep-alive\r\n\
                  X-Sp:   v  \r\nX-A: 2\r\nCache-Control: max-age=60\r\nX-Drop: 1\r\nContent-Length: 6\r\n\r\nfields"
                .to_vec()],
            "/silent" => return,
            "/bad-chunk" => {
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
                    .await;
                return;
            }
            "/junk" => {
                let _ = socket.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\n").await;
                return;
            }
            _ if line.starts_with("HEAD ") => {
                vec![b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n".to_vec()]
            }
            _ => vec![b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain".to_vec()],
        };
        for piece in pieces {
            if socket.write_all(&piece).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn start(origin: &ScriptedOrigin, extra: &str) -> (Gateway, String) {
    start_with(origin, extra, "")
}

/// [`start`], with `server_options` after the server's address.
fn start_with(origin: &ScriptedOrigin, extra: &str, server_options: &str) -> (Gateway, String) {
    let port = free_port();
    let config = format!(
        "global\n    nbthread 1\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\n\
         backend be\n{extra}    server s1 {} {server_options}\n",
        origin.addr
    );
    let gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    (gw, format!("http://127.0.0.1:{port}"))
}

/// `GET path` on a connection of its own, as bytes; read until the bytes
/// end with `end`.
async fn raw_get(base: &str, path: &str, end: &[u8]) -> Vec<u8> {
    let port = base.rsplit(':').next().unwrap();
    let mut s = TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut got = Vec::new();
    while !got.ends_with(end) {
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    got
}

#[tokio::test]
async fn every_body_framing_reaches_the_client_whole() {
    let origin = ScriptedOrigin::start().await;
    let (_gw, base) = start(&origin, "");
    let c = client();
    let r = get(&c, &format!("{base}/chunked"), &[]).await.unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "hello world"));
    let r = get(&c, &format!("{base}/until-close"), &[]).await.unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "until the end"));
    let r = get(&c, &format!("{base}/interim"), &[]).await.unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "ok"), "1xx skipped");
    let r = send(&c, "HEAD", &format!("{base}/head"), &[], b"")
        .await
        .unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    assert_eq!(r.header("content-length"), Some("5"));
    // The client connection is still in step after all of them.
    let r = get(&c, &format!("{base}/plain"), &[]).await.unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "plain"));
}

#[tokio::test]
async fn a_custom_reason_phrase_is_passed_on() {
    let origin = ScriptedOrigin::start().await;
    let (_gw, base) = start(&origin, "");
    let got = raw_get(&base, "/interim", b"ok").await;
    assert!(
        got.starts_with(b"HTTP/1.1 200 Fine\r\n"),
        "{}",
        String::from_utf8_lossy(&got)
    );
}

/// Hop-by-hop fields (RFC 9110 §7.6.1), and those `Connection` names, stay
/// between server and gateway; the rest reach the client, and the
/// connection is still reused.
#[tokio::test]
async fn hop_by_hop_response_fields_are_not_passed_on() {
    let origin = ScriptedOrigin::start().await;
    let (_gw, base) = start(&origin, "");
    let c = client();
    for _ in 0..2 {
        let r = get(&c, &format!("{base}/hop"), &[]).await.unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "hop"));
        assert_eq!(r.header("x-end"), Some("2"));
        for hop in ["x-hop", "keep-alive", "proxy-connection", "connection"] {
            assert_eq!(r.header(hop), None, "{hop}");
        }
    }
    assert_eq!(origin.accepted(), 1, "the server connection was reused");
}

/// A server's fields reach an HTTP/1.1 client in the server's order, names
/// in lower case, with what the gateway edits (a persistence cookie, its
/// `nocache`, `http-response` rules) applied; an HTTP/2 client gets the
/// same fields. The response is cacheable (`max-age`), so `nocache` appends
/// `Cache-Control: private` and leaves the server's own, as HAProxy does.
#[tokio::test]
async fn server_fields_keep_their_order_and_take_the_gateways_edits() {
    let origin = ScriptedOrigin::start().await;
    let (_gw, base) = start_with(
        &origin,
        "    cookie SRV insert indirect nocache\n    http-response set-header X-Set yes\n    \
         http-response del-header X-Drop\n",
        "cookie s1",
    );
    let text = String::from_utf8(raw_get(&base, "/fields", b"fields").await).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, "fields");
    let lines: Vec<&str> = head.lines().collect();
    assert_eq!(
        lines[..7],
        [
            "HTTP/1.1 200 OK",
            "x-a: 1",
            "set-cookie: s=1",
            "x-sp: v",
            "x-a: 2",
            "cache-control: max-age=60",
            "content-length: 6"
        ],
        "{head}"
    );
    let mut added: Vec<&str> = lines[7..].to_vec();
    added.sort_unstable();
    assert_eq!(added.len(), 3, "{head}");
    assert_eq!(added[0], "cache-control: private");
    assert!(added[1].starts_with("set-cookie: SRV=s1"), "{head}");
    assert_eq!(added[2], "x-set: yes");

    let c = switchyard_e2e::client::client_h2c();
    let r = get(&c, &format!("{base}/fields"), &[]).await.unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "fields"));
    let values = |name: &str| -> Vec<&str> {
        r.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    };
    assert_eq!(values("x-a"), ["1", "2"]);
    assert_eq!(values("x-sp"), ["v"]);
    assert_eq!(values("cache-control"), ["max-age=60", "private"]);
    assert_eq!(values("x-set"), ["yes"]);
    assert!(values("x-drop").is_empty());
    let cookies = values("set-cookie");
    assert_eq!(cookies.len(), 2);
    assert_eq!(cookies[0], "s=1");
    assert!(cookies[1].starts_with("SRV=s1"), "{cookies:?}");
}

#[tokio::test]
async fn server_connections_are_reused_and_a_silent_close_costs_no_request() {
    let origin = ScriptedOrigin::start().await;
    let (_gw, base) = start(&origin, "");
    let c = client();
    for _ in 0..5 {
        let r = get(&c, &format!("{base}/plain"), &[]).await.unwrap();
        assert_eq!(r.body, "plain");
    }
    assert_eq!(
        origin.accepted(),
        1,
        "one server connection for five requests"
    );
    // The server closes its connection after this answer, without a word;
    // the next request finds it closed and goes on a new one.
    let r = get(&c, &format!("{base}/then-close"), &[]).await.unwrap();
    assert_eq!(r.body, "once");
    switchyard_e2e::wait_until(
        "the origin closes the connection",
        Duration::from_secs(5),
        || origin.closed() == 1,
    )
    .await;
    for _ in 0..3 {
        let r = get(&c, &format!("{base}/plain"), &[]).await.unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "plain"));
    }
    assert_eq!(origin.accepted(), 2);
}

#[tokio::test]
async fn a_request_with_a_body_goes_through_hyper_on_a_reused_connection() {
    let origin = ScriptedOrigin::start().await;
    let (_gw, base) = start(&origin, "");
    let c = client();
    let r = get(&c, &format!("{base}/plain"), &[]).await.unwrap();
    assert_eq!(r.body, "plain");
    let r = send(&c, "POST", &format!("{base}/post"), &[], b"a body")
        .await
        .unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "a body"));
    let r = get(&c, &format!("{base}/chunked"), &[]).await.unwrap();
    assert_eq!(r.body, "hello world");
    assert_eq!(
        origin.accepted(),
        1,
        "the same server connection throughout"
    );
}

#[tokio::test]
async fn junk_from_the_server_is_a_502_and_retried_where_asked() {
    let origin = ScriptedOrigin::start().await;
    let (_gw, base) = start(&origin, "");
    let c = client();
    let r = get(&c, &format!("{base}/junk"), &[]).await.unwrap();
    assert_eq!(r.status, 502);
    // A chunked body already malformed when its head arrives: 502, not a
    // 200 cut short (HAProxy's answer too).
    let r = get(&c, &format!("{base}/bad-chunk"), &[]).await.unwrap();
    assert_eq!(r.status, 502);
    let before = origin.accepted();
    let (_gw2, base2) = start(&origin, "    retries 2\n    retry-on junk-response\n");
    let r = get(&c, &format!("{base2}/junk"), &[]).await.unwrap();
    assert_eq!(r.status, 502);
    assert_eq!(
        origin.accepted() - before,
        3,
        "the first try and two retries"
    );
}

#[tokio::test]
async fn a_server_that_closes_without_answering_is_tried_once_more_then_502() {
    let origin = ScriptedOrigin::start().await;
    let (_gw, base) = start(&origin, "");
    let c = client();
    let r = get(&c, &format!("{base}/plain"), &[]).await.unwrap();
    assert_eq!(r.body, "plain");
    assert_eq!(origin.accepted(), 1);
    // On the reused connection the close could be the server's idle
    // timeout: the request goes once more, on a new connection, where the
    // server closes again: 502, not a 503 after every idle connection.
    let r = get(&c, &format!("{base}/silent"), &[]).await.unwrap();
    assert_eq!(r.status, 502);
    assert_eq!(
        origin.accepted(),
        2,
        "one new connection for the second try"
    );
}

//! `tune.bufsize` and `tune.maxrewrite`: the longest request head is the
//! buffer less the reserve (400 past it, and the server never sees the
//! request), and so is the longest response head (502 past it).

use switchyard_e2e::client::{client, get};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TUNED: &str = "global\n    tune.bufsize 2048\n    tune.maxrewrite 128\n";

fn config(global: &str, port: u16, origin: std::net::SocketAddr) -> String {
    format!(
        "{global}defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server o {origin}\n"
    )
}

#[tokio::test]
async fn request_heads_are_bounded_by_the_buffer_less_its_reserve() {
    let origin = Origin::start("o").await;
    let port = free_port();
    let _gw = Gateway::start(
        &config(TUNED, port, origin.addr),
        format!("127.0.0.1:{port}").parse().unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}/");
    let c = client();
    // 2048 less 128 is 1920 bytes of head; the rest of this one is < 100.
    let fits = "a".repeat(1800);
    let ok = get(&c, &url, &[("x-big", &fits)]).await.unwrap();
    assert_eq!(ok.status, 200);
    assert_eq!(origin.request_count(), 1);
    let over = "a".repeat(1930);
    let refused = get(&c, &url, &[("x-big", &over)]).await.unwrap();
    assert_eq!(refused.status, 400);
    assert_eq!(
        origin.request_count(),
        1,
        "the server saw a refused request"
    );
}

/// An origin that answers `GET …/N` with a field of N bytes.
async fn padding_origin() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let size: usize = text
                    .split(' ')
                    .nth(1)
                    .and_then(|p| p.rsplit('/').next()?.parse().ok())
                    .unwrap_or(0);
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nx-pad: {}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    "p".repeat(size)
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn response_heads_are_bounded_by_the_buffer_less_its_reserve() {
    let origin = padding_origin().await;
    let port = free_port();
    let _gw = Gateway::start(
        &config(TUNED, port, origin),
        format!("127.0.0.1:{port}").parse().unwrap(),
    );
    let c = client();
    // HAProxy 2.6.12's limit, which counts the head in its internal form
    // (`wire/h1/buffer_limits.rs`): with these fields, 1786 bytes of
    // padding pass and 1787 do not.
    let ok = get(&c, &format!("http://127.0.0.1:{port}/1786"), &[])
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("x-pad").map(str::len), Some(1786));
    let refused = get(&c, &format!("http://127.0.0.1:{port}/1787"), &[])
        .await
        .unwrap();
    assert_eq!(refused.status, 502);
}

#[tokio::test]
async fn the_default_buffer_takes_heads_the_small_one_refuses() {
    let origin = Origin::start("o").await;
    let port = free_port();
    let _gw = Gateway::start(
        &config("", port, origin.addr),
        format!("127.0.0.1:{port}").parse().unwrap(),
    );
    let c = client();
    let big = "c".repeat(1930);
    let reply = get(&c, &format!("http://127.0.0.1:{port}/"), &[("x-big", &big)])
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(origin.request_count(), 1);
    let padding = padding_origin().await;
    let port = free_port();
    let _gw = Gateway::start(
        &config("", port, padding),
        format!("127.0.0.1:{port}").parse().unwrap(),
    );
    let reply = get(&c, &format!("http://127.0.0.1:{port}/1930"), &[])
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
}

/// What rules add must fit in the whole buffer: past it, HAProxy's strict
/// mode answers 500 (request and response side alike).
#[tokio::test]
async fn rules_may_grow_a_head_up_to_the_whole_buffer() {
    let origin = padding_origin().await;
    let port = free_port();
    let big = "v".repeat(300);
    let config = format!(
        "{TUNED}defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    http-request set-header x-small 0123456789 if {{ path_beg /small }}\n    \
         http-request set-header x-big {big} if {{ path_beg /big }}\n    http-response set-header x-big {big} if {{ path_beg /rbig }}\n    default_backend be\n\
         backend be\n    server o {origin}\n"
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let c = client();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    // A head of about 1900 bytes: in the 1920 read; +~20 fits the 2048
    // buffer, +~310 does not.
    let pad = "p".repeat(1850);
    let small = get(&c, &url("/small"), &[("x-pad", &pad)]).await.unwrap();
    assert_eq!(small.status, 200);
    let big_req = get(&c, &url("/big"), &[("x-pad", &pad)]).await.unwrap();
    assert_eq!(big_req.status, 500);
    // The same rule on a small request is fine.
    assert_eq!(get(&c, &url("/big"), &[]).await.unwrap().status, 200);
    // Response side: the origin pads its head with a field of N bytes.
    let fits = get(&c, &url("/rbig/1000"), &[]).await.unwrap();
    assert_eq!(fits.status, 200);
    assert_eq!(fits.header("x-big"), Some(big.as_str()));
    assert_eq!(get(&c, &url("/rbig/1780"), &[]).await.unwrap().status, 500);
    // Without the rule, the same response passes.
    assert_eq!(get(&c, &url("/1780"), &[]).await.unwrap().status, 200);
}

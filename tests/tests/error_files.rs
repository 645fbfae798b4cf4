//! Error files: `errorfile CODE /dev/null` (an empty file) closes the
//! connection without an answer, on both client paths (a bodiless request
//! the gateway reads itself, a request with a body read by hyper).

use std::time::Duration;

use switchyard_e2e::gateway::{free_port, Gateway};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the gateway sends back for `request` before closing.
async fn answer(port: u16, request: &str) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got))
        .await
        .expect("the connection closes")
        .ok();
    got
}

#[tokio::test]
async fn an_empty_errorfile_closes_without_an_answer() {
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n    errorfile 403 /dev/null\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    http-request deny if {{ path /silent }}\n    http-request deny deny_status 400 if {{ path /page }}\n    default_backend be\n\
         backend be\n    server s 127.0.0.1:9\n"
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let bodiless = answer(port, "GET /silent HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        bodiless.is_empty(),
        "{}",
        String::from_utf8_lossy(&bodiless)
    );
    let with_body = answer(
        port,
        "POST /silent HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab",
    )
    .await;
    assert!(
        with_body.is_empty(),
        "{}",
        String::from_utf8_lossy(&with_body)
    );
    // Other statuses keep their page.
    let page = answer(
        port,
        "GET /page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        page.starts_with(b"HTTP/1.1 400 "),
        "{}",
        String::from_utf8_lossy(&page)
    );
}

//! HTTP/1 as the client and the server see it, byte for byte, compared
//! with HAProxy 2.6: field order, status lines, what the gateway adds or
//! leaves out. Each case runs on every client-side engine (a bodiless
//! request read whole, a request with a body, a head split across two
//! writes: `raw_http::SHAPES`).

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::raw_http::{exchange, head_lines, request, RawOrigin, SHAPES};

/// A gateway with one frontend (`frontend` lines) and a backend `be` (its
/// lines, then the server `origin`).
fn start(origin: &RawOrigin, frontend: &str, backend: &str) -> (Gateway, u16) {
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n{frontend}    default_backend be\n\
         backend be\n{backend}    server s1 {}\n",
        origin.addr
    );
    let gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    (gw, port)
}

/// `http-response del-header -m beg|end|sub|reg` deletes what it names and
/// the other fields keep the server's order (no `date` is added).
#[tokio::test]
async fn response_del_header_match_methods_keep_the_order() {
    let origin = RawOrigin::start(&[(
        "/",
        b"HTTP/1.1 200 OK\r\nX-Beg1: 1\r\nX-Keep: a\r\nX-End1: e\r\nContent-Length: 2\r\n\
          X-Sub2: s\r\nX-Reg1: r\r\nX-Z: z\r\n\r\nok",
    )])
    .await;
    let (_gw, port) = start(
        &origin,
        "    http-response del-header x-beg -m beg\n    http-response del-header end1 -m end\n    \
         http-response del-header sub -m sub\n    http-response del-header ^x.reg.$ -m reg\n",
        "",
    );
    for shape in SHAPES {
        let got = exchange(port, &request("GET", "/", &[], shape)).await;
        assert_eq!(
            head_lines(&got),
            [
                "HTTP/1.1 200 OK",
                "x-keep: a",
                "content-length: 2",
                "x-z: z"
            ],
            "{shape:?}: {got}"
        );
    }
}

//! HTTP/1 as the client and the server see it, byte for byte, compared
//! with HAProxy 2.6: field order, status lines, what the gateway adds or
//! leaves out. Each case runs on every client-side engine (a bodiless
//! request read whole, a request with a body, a head split across two
//! writes: `raw_http::SHAPES`).

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::raw_http::{exchange, head_lines, request, RawOrigin, Shape, SHAPES};

/// A gateway with one frontend (`frontend` lines) and a backend `be` (its
/// lines, then the server `origin`).
fn start(origin: &RawOrigin, frontend: &str, backend: &str) -> (Gateway, u16) {
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n{frontend}    default_backend be\n\
         backend be\n{backend}    server s1 {} cookie s1\nbackend none\n",
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

/// The responses the gateway writes itself put `content-length` where
/// HAProxy 2.6.12 does (first in its own pages and redirects, after the
/// `hdr` fields of a `return`), `return` without payload sends no type,
/// a 301 no `cache-control`, and `lf-file` is evaluated.
#[tokio::test]
async fn own_responses_have_haproxys_fields_in_its_order() {
    let origin = RawOrigin::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let lf = dir.path().join("page.lf");
    std::fs::write(&lf, "path is %[path]\n").unwrap();
    let (_gw, port) = start(
        &origin,
        &format!(
            "    http-request deny if {{ path /deny }}\n    \
             http-request return status 200 content-type text/plain string hello hdr x-h v if {{ path /ret }}\n    \
             http-request return content-type text/plain if {{ path /empty }}\n    \
             http-request return content-type text/plain lf-file {} if {{ path /lf }}\n    \
             http-request redirect location /x code 301 if {{ path /r301 }}\n    \
             http-request redirect location /x if {{ path /r302 }}\n    \
             http-request auth realm R if {{ path /auth }}\n    \
             use_backend none if {{ path /503 }}\n",
            lf.display()
        ),
        "",
    );
    let cases: [(&str, &[&str]); 8] = [
        (
            "/deny",
            &[
                "HTTP/1.1 403 Forbidden",
                "content-length: 93",
                "cache-control: no-cache",
                "content-type: text/html",
            ],
        ),
        (
            "/ret",
            &[
                "HTTP/1.1 200 OK",
                "x-h: v",
                "content-length: 5",
                "content-type: text/plain",
            ],
        ),
        ("/empty", &["HTTP/1.1 200 OK", "content-length: 0"]),
        (
            "/lf",
            &[
                "HTTP/1.1 200 OK",
                "content-length: 12",
                "content-type: text/plain",
            ],
        ),
        (
            "/r301",
            &[
                "HTTP/1.1 301 Moved Permanently",
                "content-length: 0",
                "location: /x",
            ],
        ),
        (
            "/r302",
            &[
                "HTTP/1.1 302 Found",
                "content-length: 0",
                "location: /x",
                "cache-control: no-cache",
            ],
        ),
        (
            "/auth",
            &[
                "HTTP/1.1 401 Unauthorized",
                "content-length: 112",
                "cache-control: no-cache",
                "content-type: text/html",
                "www-authenticate: Basic realm=\"R\"",
            ],
        ),
        (
            "/503",
            &[
                "HTTP/1.1 503 Service Unavailable",
                "content-length: 107",
                "cache-control: no-cache",
                "content-type: text/html",
            ],
        ),
    ];
    for shape in SHAPES {
        for (path, head) in cases {
            let got = exchange(port, &request("GET", path, &[], shape)).await;
            assert_eq!(head_lines(&got), head, "{shape:?} {path}: {got}");
            if path == "/lf" {
                assert!(got.ends_with("\r\n\r\npath is /lf\n"), "{got}");
            }
        }
    }
}

/// A server's HTTP/1.0 response reaches an HTTP/1.1 client as HTTP/1.0,
/// as HAProxy passes it: with a length, `connection: keep-alive` is added
/// and the connection stays; without one, the body ends with the
/// connection (HTTP/1.0 cannot be chunked).
#[tokio::test]
async fn http10_responses_pass_as_http10() {
    let origin = RawOrigin::start(&[
        ("/sized", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        (
            "/until-close",
            b"HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\nuntil close",
        ),
    ])
    .await;
    let (_gw, port) = start(&origin, "", "");
    for shape in SHAPES {
        let got = exchange(port, &request("GET", "/sized", &[], shape)).await;
        assert_eq!(
            got, "HTTP/1.0 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok",
            "{shape:?}"
        );
        // `exchange` reads to the close when no length is given.
        let got = exchange(port, &request("GET", "/until-close", &[], shape)).await;
        assert_eq!(
            got, "HTTP/1.0 200 OK\r\nx-a: 1\r\n\r\nuntil close",
            "{shape:?}"
        );
    }
}

/// `cookie … nocache` appends `Cache-Control: private` only to a response
/// HAProxy judges cacheable (a validator or freshness information, a GET,
/// a status cacheable by default), after the server's own fields.
#[tokio::test]
async fn nocache_marks_only_cacheable_responses_private() {
    let origin = RawOrigin::start(&[
        ("/plain", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        (
            "/etag",
            b"HTTP/1.1 200 OK\r\nETag: \"x\"\r\nContent-Length: 2\r\n\r\nok",
        ),
        (
            "/fresh",
            b"HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 2\r\n\r\nok",
        ),
        (
            "/public",
            b"HTTP/1.1 200 OK\r\nCache-Control: public\r\nContent-Length: 2\r\n\r\nok",
        ),
    ])
    .await;
    let (_gw, port) = start(&origin, "", "    cookie SRV insert indirect nocache\n");
    let cases: [(&str, &[&str]); 4] = [
        (
            "/plain",
            &[
                "HTTP/1.1 200 OK",
                "content-length: 2",
                "set-cookie: SRV=s1; path=/",
            ],
        ),
        (
            "/etag",
            &[
                "HTTP/1.1 200 OK",
                "etag: \"x\"",
                "content-length: 2",
                "set-cookie: SRV=s1; path=/",
                "cache-control: private",
            ],
        ),
        (
            "/fresh",
            &[
                "HTTP/1.1 200 OK",
                "cache-control: max-age=60",
                "content-length: 2",
                "set-cookie: SRV=s1; path=/",
                "cache-control: private",
            ],
        ),
        (
            "/public",
            &[
                "HTTP/1.1 200 OK",
                "cache-control: public",
                "content-length: 2",
                "set-cookie: SRV=s1; path=/",
            ],
        ),
    ];
    for shape in SHAPES {
        for (path, head) in cases {
            let got = exchange(port, &request("GET", path, &[], shape)).await;
            let mut lines = head_lines(&got);
            if shape != Shape::Bodiless {
                // hyper's `HeaderMap` writes the values of one name
                // together (docs/compatibility.md): the same fields, each
                // name's values in order.
                let mut expected = head.to_vec();
                lines[1..].sort_by_key(|l| l.split(':').next().map(str::to_owned));
                expected[1..].sort_by_key(|l| l.split(':').next().map(str::to_owned));
                assert_eq!(lines, expected, "{shape:?} {path}: {got}");
                continue;
            }
            assert_eq!(lines, head, "{shape:?} {path}: {got}");
        }
    }
}

/// An absolute-form target (`GET http://host/p?q HTTP/1.1`) reaches the
/// server, the rules (`%[url]`) and the log (`%HU`, `%HP`, `%HPO`, `%HQ`)
/// as the client sent it, as HAProxy keeps it (log/log_uri.vtc).
#[tokio::test]
async fn absolute_form_targets_are_kept() {
    let origin = RawOrigin::start(&[]).await;
    let syslog = switchyard_e2e::syslog::SyslogReceiver::start();
    let (_gw, port) = start(
        &origin,
        &format!(
            "    log 127.0.0.1:{} local0\n    log-format \"hpo=%HPO hp=%HP hu=%HU hq=%HQ\"\n    \
             http-request set-header x-url %[url]\n",
            syslog.port
        ),
        "",
    );
    for (i, shape) in SHAPES.into_iter().enumerate() {
        let target = format!("http://example/r/{i}?q={i}");
        let got = exchange(port, &request("GET", &target, &[], shape)).await;
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{shape:?}: {got}");
        let line = syslog.next_line();
        assert!(
            line.contains(&format!(
                "hpo=/r/{i} hp=http://example/r/{i} hu={target} hq=?q={i}"
            )),
            "{shape:?}: {line}"
        );
        let seen = origin.received().pop().unwrap();
        assert!(
            seen.starts_with(&format!("GET {target} HTTP/1.1\r\n")),
            "{shape:?}: {seen}"
        );
        assert!(
            seen.contains(&format!("x-url: {target}\r\n")),
            "{shape:?}: {seen}"
        );
    }
}

/// `TE: trailers, gzip` reaches the server as `te: trailers` in its place;
/// a request with a transfer-coding HAProxy does not implement (`gzip,
/// chunked`) is answered 422 with HAProxy's page.
#[tokio::test]
async fn te_keeps_trailers_and_unknown_codings_are_422() {
    let origin = RawOrigin::start(&[]).await;
    let (_gw, port) = start(&origin, "", "");
    for shape in SHAPES {
        let got = exchange(
            port,
            &request("GET", "/", &["TE: trailers, gzip", "X-After: 1"], shape),
        )
        .await;
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{shape:?}: {got}");
        let seen = origin.received().pop().unwrap();
        assert!(
            seen.contains("host: example\r\nte: trailers\r\nx-after: 1\r\n"),
            "{shape:?}: {seen}"
        );
    }
    let got = exchange(
        port,
        &[
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
                .to_vec(),
        ],
    )
    .await;
    assert!(
        got.starts_with("HTTP/1.1 422 Unprocessable Content\r\ncontent-length: 116\r\n"),
        "{got}"
    );
    assert!(got.contains("<h1>422 Unprocessable Content</h1>\nThe server cannot process the contained instructions.\n"), "{got}");
}

/// `http-request reject` closes the connection without a byte, on every
/// engine, and the server is not asked.
#[tokio::test]
async fn reject_closes_without_an_answer() {
    let origin = RawOrigin::start(&[]).await;
    let (_gw, port) = start(&origin, "    http-request reject if { path /rej }\n", "");
    for shape in SHAPES {
        let got = exchange(port, &request("GET", "/rej", &[], shape)).await;
        assert_eq!(got, "", "{shape:?}: nothing is answered");
    }
    assert!(origin.received().is_empty());
    let got = exchange(port, &request("GET", "/ok", &[], SHAPES[0])).await;
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
}

/// A WebSocket handshake without `Sec-WebSocket-Key` is a 400 (the server
/// is not asked); a server's 101 without `Sec-WebSocket-Accept` is a 502.
#[tokio::test]
async fn websocket_handshakes_need_their_key_and_accept() {
    let origin = RawOrigin::start(&[
        (
            "/ws",
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        ),
        (
            "/no-accept",
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
        ),
    ])
    .await;
    let (_gw, port) = start(&origin, "", "");
    let handshake = |path: &str, key: bool| {
        let key = if key {
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        } else {
            ""
        };
        vec![format!(
            "GET {path} HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n{key}\r\n"
        )
        .into_bytes()]
    };
    let got = exchange(port, &handshake("/ws", false)).await;
    assert!(got.starts_with("HTTP/1.1 400 Bad request\r\n"), "{got}");
    assert!(origin.received().is_empty(), "the server is not asked");
    let got = exchange(port, &handshake("/no-accept", true)).await;
    assert!(got.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{got}");
    let got = exchange(port, &handshake("/ws", true)).await;
    assert!(
        got.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{got}"
    );
}

/// A HEAD rewritten to GET (`http-request set-method GET`): the client
/// gets the head alone, and the server's body is read to its end, so the
/// server connection is kept for the next request instead of closed.
#[tokio::test]
async fn head_rewritten_to_get_drains_the_servers_body() {
    let origin =
        RawOrigin::start(&[("/x", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")]).await;
    let (_gw, port) = start(
        &origin,
        "    http-request set-method GET if METH_HEAD\n",
        "",
    );
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    use tokio::io::AsyncWriteExt;
    s.write_all(b"HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let got = switchyard_e2e::raw_http::read_response(&mut s).await;
    assert_eq!(
        got, "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n",
        "no body after HEAD"
    );
    s.write_all(b"GET /y HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let got = switchyard_e2e::raw_http::read_response(&mut s).await;
    assert!(got.ends_with("\r\n\r\nok"), "{got}");
    assert!(origin.received()[0].starts_with("GET /x HTTP/1.1\r\n"));
    assert_eq!(origin.accepted(), 1, "the server connection was kept");
}

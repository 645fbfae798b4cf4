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

/// `http-errors` sections, imported by `errorfiles NAME [CODE…]` (in place
/// among `errorfile` lines) and named by `deny … errorfiles NAME`;
/// `return … default-errorfiles` answers the proxy's page.
#[tokio::test]
async fn http_errors_sections_answer_for_the_proxy_and_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let page = |name: &str, status: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!("HTTP/1.0 {status}\r\nx-err-type: {name}\r\n\r\n{name}\n"),
        )
        .unwrap();
        path.display().to_string()
    };
    let (e1_403, e1_404, own_403) = (
        page("e1-403", "403 Forbidden"),
        page("e1-404", "404 Not Found"),
        page("own-403", "403 Forbidden"),
    );
    let port = free_port();
    let config = format!(
        "http-errors e1\n    errorfile 403 {e1_403}\n    errorfile 404 {e1_404}\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    errorfiles e1 403\n    errorfile 403 {own_403}\n\
         http-request deny deny_status 404 errorfiles e1 if {{ path /e1-404 }}\n\
         http-request return status 403 default-errorfiles if {{ path /default-403 }}\n\
         http-request deny if {{ path /403 }}\n    http-request deny deny_status 404 if {{ path /404 }}\n    default_backend be\n\
         backend be\n    server s 127.0.0.1:9\n"
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let get = |path: &str| {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        async move { String::from_utf8(answer(port, &request).await).unwrap() }
    };
    // The errorfile after the import wins for 403.
    assert!(get("/403").await.contains("x-err-type: own-403"));
    assert!(get("/default-403").await.contains("x-err-type: own-403"));
    // Only 403 was imported: 404 is HAProxy's page for the proxy...
    let builtin = get("/404").await;
    assert!(
        builtin.starts_with("HTTP/1.1 404 ") && !builtin.contains("x-err-type"),
        "{builtin}"
    );
    // ...but the rule names the section.
    assert!(get("/e1-404").await.contains("x-err-type: e1-404"));
}

/// `http-error status CODE …`: a message built as a `return` is, used for
/// the proxy's own answers with that status (a `deny`, `default-errorfiles`,
/// a server's failure, inherited from `defaults`); later lines for a code
/// replace earlier ones, and `default-errorfiles` goes back to HAProxy's.
#[tokio::test]
async fn http_error_messages_replace_the_proxys_pages() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("404.http");
    std::fs::write(
        &file,
        "HTTP/1.0 404 Not Found\r\nx-err-type: file\r\n\r\nfile\n",
    )
    .unwrap();
    let file = file.display();
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\
         \x20   http-error status 503 content-type text/plain hdr x-m \"static\" string \"no server\"\n\
         \x20   errorfile 404 {file}\n\
         frontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   http-error status 400\n\
         \x20   http-error status 404 default-errorfiles\n\
         \x20   http-error status 403 content-type text/plain string \"replaced\"\n\
         \x20   errorfile 403 {file}\n\
         \x20   http-error status 200 content-type text/plain hdr x-path \"p=%[path]\" lf-string \"at %[path]\"\n\
         \x20   http-request return status 200 default-errorfiles if {{ path /200 }}\n\
         \x20   http-request deny deny_status 400 if {{ path /400 }}\n\
         \x20   http-request deny if {{ path /403 }}\n\
         \x20   http-request deny deny_status 404 if {{ path /404 }}\n\
         \x20   default_backend be\n\
         backend be\n    server s 127.0.0.1:9\n"
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let get = |path: &str| {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        async move { String::from_utf8(answer(port, &request).await).unwrap() }
    };
    let rendered = get("/200").await;
    assert!(
        rendered.starts_with("HTTP/1.1 200 ")
            && rendered
                .contains("x-path: p=/200\r\ncontent-length: 7\r\ncontent-type: text/plain\r\n")
            && rendered.ends_with("\r\n\r\nat /200"),
        "{rendered}"
    );
    let empty = get("/400").await;
    assert!(
        empty.starts_with("HTTP/1.1 400 ") && empty.contains("content-length: 0\r\n"),
        "{empty}"
    );
    // The errorfile written after the http-error wins.
    assert!(get("/403").await.contains("x-err-type: file"));
    // `default-errorfiles` forgets the defaults' errorfile: HAProxy's page.
    let builtin = get("/404").await;
    assert!(
        builtin.contains("<h1>404 Not Found</h1>") && !builtin.contains("x-err-type"),
        "{builtin}"
    );
    // The server fails: the defaults' message, in HAProxy's field order.
    let no_server = get("/").await;
    assert!(
        no_server.starts_with("HTTP/1.1 503 ")
            && no_server
                .contains("x-m: static\r\ncontent-length: 9\r\ncontent-type: text/plain\r\n")
            && no_server.ends_with("no server"),
        "{no_server}"
    );
}

/// An `http-error` message with log-format parts is rendered for the
/// answers the gateway gives outside the rules too, as HAProxy renders it:
/// a server's failure (the backend's message, else the frontend's) and a
/// header name refused by `option http-restrict-req-hdr-names reject`.
#[tokio::test]
async fn log_format_messages_answer_a_servers_failure_and_a_refused_header() {
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n    retries 0\n\
         frontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   option http-restrict-req-hdr-names reject\n\
         \x20   http-error status 403 content-type text/plain lf-string \"refused %[path]\"\n\
         \x20   http-error status 503 content-type text/plain lf-string \"frontend %[path]\"\n\
         \x20   use_backend be2 if {{ path_beg /two }}\n\
         \x20   default_backend be\n\
         backend be\n\
         \x20   http-error status 503 content-type text/plain hdr x-path \"%[path]\" lf-string \"no server for %[path] from %[src]\"\n\
         \x20   server s {refused}\n\
         backend be2\n    server s {refused}\n"
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let get = |path: &str, extra: &str| {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n");
        async move { String::from_utf8(answer(port, &request).await).unwrap() }
    };
    let backend = get("/p", "").await;
    assert!(
        backend.starts_with("HTTP/1.1 503 ")
            && backend.contains("x-path: /p\r\n")
            && backend.ends_with("\r\n\r\nno server for /p from 127.0.0.1"),
        "{backend}"
    );
    let frontend = get("/two", "").await;
    assert!(
        frontend.starts_with("HTTP/1.1 503 ") && frontend.ends_with("\r\n\r\nfrontend /two"),
        "{frontend}"
    );
    let refused = get("/h", "x_y: 1\r\n").await;
    assert!(
        refused.starts_with("HTTP/1.1 403 ") && refused.ends_with("\r\n\r\nrefused /h"),
        "{refused}"
    );
}

//! `monitor-uri` and `monitor fail` end to end: the real binary answers
//! its own health probe with HAProxy 2.6's bytes (captured from haproxy
//! 2.6.12 on loopback for the same requests), before any `http-request`
//! rule, without reaching a server and without a log line.

use std::net::SocketAddr;

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::raw_http::exchange;
use switchyard_e2e::syslog::SyslogReceiver;

/// haproxy 2.6.12's answer to `GET /health` on a `monitor-uri /health`.
const HAPROXY_200: &str = "HTTP/1.1 200 OK\r\ncontent-length: 58\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n";

/// The same when a `monitor fail` condition holds.
const HAPROXY_503: &str = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n";

fn get(target: &str, fields: &str) -> Vec<Vec<u8>> {
    vec![format!("GET {target} HTTP/1.1\r\nHost: lb\r\n{fields}\r\n").into_bytes()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_uri_answers_before_the_rules_and_is_not_logged() {
    let origin = Origin::start("app").await;
    let receiver = SyslogReceiver::start();
    let (port, custom_port) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("ready.http");
    std::fs::write(
        &page,
        "HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nall good\n",
    )
    .unwrap();
    let config = format!(
        "defaults\n    mode http\n    log 127.0.0.1:{} local0\n    option httplog\n    option dontlognull\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    monitor-uri /health\n    acl maintenance hdr(x-maintenance) -m found\n    monitor fail if maintenance\n    http-request deny if {{ path_beg /health }}\n    default_backend be\n\
         frontend custom\n    bind 127.0.0.1:{custom_port}\n    monitor-uri /health\n    errorfile 200 {}\n    default_backend be\n\
         backend be\n    server app {}\n",
        receiver.port,
        page.display(),
        origin.addr
    );
    let _gw = Gateway::start(&config, SocketAddr::from(([127, 0, 0, 1], port)));

    assert_eq!(exchange(port, &get("/health", "")).await, HAPROXY_200);
    assert_eq!(
        exchange(port, &get("http://lb/health", "")).await,
        HAPROXY_200,
        "an absolute-form request is matched on its path"
    );
    assert_eq!(
        exchange(port, &get("/health", "X-Maintenance: 1\r\n")).await,
        HAPROXY_503
    );
    // Not the monitor URI: the rules run (`path_beg /health` denies).
    let denied = exchange(port, &get("/health?full=1", "")).await;
    assert!(denied.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{denied}");
    assert_eq!(origin.request_count(), 0, "no probe reached the server");
    // `errorfile 200` is the monitor's answer.
    let custom = exchange(custom_port, &get("/health", "")).await;
    assert!(custom.starts_with("HTTP/1.1 200 OK\r\n"), "{custom}");
    assert!(custom.ends_with("\r\n\r\nall good\n"), "{custom}");

    // The first line logged is the denied request's: no probe was logged.
    let line = receiver.next_line();
    assert!(line.contains("\"GET /health?full=1 HTTP/1.1\""), "{line}");
    let forwarded = exchange(port, &get("/app", "")).await;
    assert!(forwarded.starts_with("HTTP/1.1 200 OK\r\n"), "{forwarded}");
    let line = receiver.next_line();
    assert!(line.contains("\"GET /app HTTP/1.1\""), "{line}");
    assert_eq!(origin.request_count(), 1);
}

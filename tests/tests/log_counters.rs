//! A log line's connection counters (`%ac/%fc/%bc/%sc/%rc`), queue
//! positions (`%sq/%bq`) and byte counts (`%B`, `%U`) against the lines
//! HAProxy 2.6 sent for the same exchanges (`fixtures/httplog/`).
//!
//! One scenario, two programs: the test plays it against the gateway and
//! compares; `capture_haproxy_reference` (ignored: it needs `haproxy`)
//! plays it against HAProxy and rewrites the fixture. The origin holds
//! the requests the scenario names until it releases them, so which
//! requests are in progress when a line is written is decided by the
//! script, not by timing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use switchyard_e2e::gateway::{closed_address, free_port, Gateway};
use switchyard_e2e::held_origin::HeldOrigin;
use switchyard_e2e::raw_http::read_response;
use switchyard_e2e::runtime_api::command;
use switchyard_e2e::syslog::{comparable_httplog, SyslogReceiver};
use switchyard_e2e::{switchyard_binary, wait_until, workspace_root};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const FIXTURE: &str = "fixtures/httplog/counters.haproxy-2.6.12.log";

/// httplog with `%U` added before the request.
const FORMAT: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %U %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r";

fn config(port: u16, log_port: u16, socket: &Path, origin: SocketAddr) -> String {
    format!(
        "global\n    stats socket {socket} level admin\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n    timeout queue 10s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    log 127.0.0.1:{log_port} local0\n    log-format \"{FORMAT}\"\n\
         \x20   use_backend retry if {{ path_beg /retry }}\n    use_backend queued if {{ path_beg /q/ }}\n    default_backend be\n\
         backend be\n    server s1 {origin}\n\
         backend retry\n    retries 2\n    server dead {dead}\n\
         backend queued\n    server s1 {origin} maxconn 1\n",
        socket = socket.display(),
        dead = closed_address(),
    )
}

/// Sends a bodiless GET on a kept connection.
async fn send(conn: &mut TcpStream, path: &str) {
    let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n");
    conn.write_all(request.as_bytes()).await.unwrap();
}

/// Reads one response and returns its status line.
async fn status(conn: &mut TcpStream) -> String {
    let response = read_response(conn).await;
    response.lines().next().unwrap_or_default().to_owned()
}

/// Requests waiting in the `queued` backend (its row and its server's),
/// from `show stat`.
fn queued(socket: &Path) -> u64 {
    let csv = command(socket, "show stat");
    let header: Vec<&str> = csv.lines().next().unwrap_or_default().split(',').collect();
    let qcur = header.iter().position(|c| c.ends_with("qcur")).unwrap();
    csv.lines()
        .filter(|l| l.starts_with("queued,"))
        .filter_map(|l| l.split(',').nth(qcur)?.parse::<u64>().ok())
        .sum()
}

/// Plays the scenario against `program` and returns the log lines it
/// sent, in order.
async fn scenario(program: &Path) -> Vec<String> {
    let origin = HeldOrigin::start().await;
    let receiver = SyslogReceiver::start();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("admin.sock");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let config = config(port, receiver.port, &socket, origin.addr);
    let _program = Gateway::start_program(program, &config, addr, &[]);
    let mut lines = Vec::new();
    // The probe that found the program listening sent nothing: HAProxy
    // logs it as a bad request, at a time of its own. Not part of the
    // scenario.
    let next_line = || loop {
        let line = receiver.next_line();
        if !line.contains("\"<BADREQ>\"") {
            break line;
        }
    };
    // Three kept connections, each with a request: 1, 2, 3 connections.
    let mut c = Vec::new();
    for i in 0..3 {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        send(&mut conn, &format!("/a{i}")).await;
        assert!(status(&mut conn).await.ends_with("200 OK"));
        lines.push(next_line());
        c.push(conn);
    }
    // One request held at the server while another passes: the backend
    // and the server each have one more at work.
    send(&mut c[0], "/hold/x").await;
    let held = || origin.has("x");
    wait_until("x at the origin", Duration::from_secs(10), held).await;
    send(&mut c[1], "/b").await;
    assert!(status(&mut c[1]).await.ends_with("200 OK"));
    lines.push(next_line());
    origin.release("x");
    assert!(status(&mut c[0]).await.ends_with("200 OK"));
    lines.push(next_line());
    // A response with hop-by-hop fields: HAProxy counts them in `%B`
    // (but `Connection`).
    send(&mut c[1], "/hop").await;
    assert!(status(&mut c[1]).await.ends_with("200 OK"));
    lines.push(next_line());
    // Two retries on a server that refuses connections, then 503.
    send(&mut c[2], "/retry").await;
    assert!(status(&mut c[2]).await.contains(" 503 "));
    lines.push(next_line());
    // `maxconn 1`: one request held at the server, two queued behind it.
    let mut q = Vec::new();
    for _ in 0..3 {
        q.push(TcpStream::connect(addr).await.unwrap());
    }
    send(&mut q[0], "/q/hold/y").await;
    let held = || origin.has("y");
    wait_until("y at the origin", Duration::from_secs(10), held).await;
    send(&mut q[1], "/q/z").await;
    wait_until("z queued", Duration::from_secs(10), || queued(&socket) == 1).await;
    send(&mut q[2], "/q/w").await;
    wait_until("w queued", Duration::from_secs(10), || queued(&socket) == 2).await;
    origin.release("y");
    for conn in &mut q {
        assert!(status(conn).await.ends_with("200 OK"));
        lines.push(next_line());
    }
    lines
}

fn fixture() -> PathBuf {
    workspace_root().join(FIXTURE)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_queues_and_bytes_match_haproxys_lines() {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let expected: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(comparable_httplog)
        .collect();
    let got: Vec<String> = scenario(switchyard_binary())
        .await
        .iter()
        .map(|l| comparable_httplog(l))
        .collect();
    assert_eq!(got, expected);
}

/// Rewrites the fixture from `haproxy` (on PATH):
/// `cargo test -p switchyard-e2e --test log_counters -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs haproxy; rewrites the fixture"]
async fn capture_haproxy_reference() {
    let lines = scenario(Path::new("haproxy")).await;
    let mut text = String::from(
        "# Lines haproxy 2.6.12 sent to syslog for the exchanges of\n\
         # tests/tests/log_counters.rs (its configuration and scenario), written by\n\
         # its ignored test capture_haproxy_reference; compared with ports, dates\n\
         # and timers masked.\n",
    );
    for line in lines {
        text.push_str(line.trim_end_matches('\n'));
        text.push('\n');
    }
    std::fs::write(fixture(), text).unwrap();
}

//! Captures in log lines (`capture request|response header`, `declare
//! capture`, `http-request capture`, `capture cookie`; `%hr`, `%hs`,
//! `%hrl`, `%hsl`, `%CC`, `%CS`) against the lines HAProxy 2.6 sent for
//! the same exchanges (`fixtures/httplog/captures.haproxy-2.6.12.log`).
//!
//! One scenario, two programs, as in `log_counters.rs`: the test plays it
//! against the gateway and compares; `capture_haproxy_reference` (ignored:
//! it needs `haproxy`) plays it against HAProxy and rewrites the fixture.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::raw_http::{read_response, RawOrigin};
use switchyard_e2e::syslog::{comparable_httplog, SyslogReceiver};
use switchyard_e2e::{switchyard_binary, workspace_root};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const FIXTURE: &str = "fixtures/httplog/captures.haproxy-2.6.12.log";

/// The custom format of the second frontend: the list forms, quoted and
/// not, and the cookies.
const LIST_FORMAT: &str =
    "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %{+Q}hrl %hsl %{+Q}hr %CC %CS %{+Q}r";

fn config(port: u16, list_port: u16, log_port: u16, origin: SocketAddr) -> String {
    format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    log 127.0.0.1:{log_port} local0\n    option httplog\n\
         \x20   capture request header Host len 7\n\
         \x20   capture request header X-Req len 40\n\
         \x20   declare capture request len 4\n\
         \x20   http-request capture req.hdr(x-rule) len 6\n\
         \x20   http-request capture req.hdr(x-id) id 2\n\
         \x20   capture response header X-Resp len 30\n\
         \x20   declare capture response len 3\n\
         \x20   capture response header X-Missing len 5\n\
         \x20   capture cookie SESS len 12\n\
         \x20   http-request set-header Cookie SESS=changed if {{ path /deny }}\n\
         \x20   http-request deny if {{ path /deny }}\n\
         \x20   http-request return status 200 if {{ path /return }}\n\
         \x20   default_backend be\n\
         frontend list\n    bind 127.0.0.1:{list_port}\n    log 127.0.0.1:{log_port} local0\n    log-format \"{LIST_FORMAT}\"\n\
         \x20   capture request header X-Req len 10\n\
         \x20   capture request header X-Other len 10\n\
         \x20   capture response header X-Resp len 10\n\
         \x20   capture cookie ID= len 20\n\
         \x20   default_backend be\n\
         backend be\n    server s1 {origin}\n",
    )
}

const RESPONSE_A: &[u8] = b"HTTP/1.1 200 OK\r\nX-Resp: first\r\nSet-Cookie: other=1; path=/\r\n\
Set-Cookie: SESSION=server-value; path=/; HttpOnly\r\nSet-Cookie: SESS=later\r\n\
X-Resp: second {value} | with \"quotes\" # and a long tail\r\nContent-Length: 2\r\n\r\nok";
const RESPONSE_B: &[u8] =
    b"HTTP/1.1 200 OK\r\nX-Resp: only\r\nSet-Cookie: ID=7; path=/\r\nContent-Length: 2\r\n\r\nok";

/// Sends one request (its header lines as given) on a new connection and
/// returns the status line.
async fn send(port: u16, path: &str, fields: &[&[u8]]) -> String {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\n").into_bytes();
    for field in fields {
        request.extend_from_slice(field);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    conn.write_all(&request).await.unwrap();
    let response = read_response(&mut conn).await;
    response.lines().next().unwrap_or_default().to_owned()
}

/// Plays the scenario against `program` and returns the log lines it
/// sent, in order.
async fn scenario(program: &Path) -> Vec<String> {
    let origin = RawOrigin::start(&[("/a", RESPONSE_A), ("/b", RESPONSE_B)]).await;
    let receiver = SyslogReceiver::start();
    let (port, list_port) = (free_port(), free_port());
    let config = config(port, list_port, receiver.port, origin.addr);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let _program = Gateway::start_program(program, &config, addr, &[]);
    // The probe that found the program listening sent nothing: HAProxy
    // logs it as a bad request, at a time of its own.
    let next_line = || loop {
        let line = receiver.next_line();
        if !line.contains("<BADREQ>") {
            break line;
        }
    };
    let mut lines = Vec::new();
    // Every slot filled: the last `X-Req` (escaped: braces, bars, quotes,
    // `#`, bytes from 127), values cut to their slot's length, a rule's
    // capture into a declared slot, the first cookie named SESS…
    let fields: &[&[u8]] = &[
        b"Host: example.com",
        b"X-Req: not this one",
        b"X-Req: {a|b} \"c\" #d caf\xc3\xa9",
        b"X-Rule: abcdefgh",
        b"X-Id: 123456",
        b"Cookie: a=1; SESSID=abcdefghijklmnop; SESS=2",
    ];
    let status = send(port, "/a", fields).await;
    assert!(status.ends_with("200 OK"), "{status}");
    lines.push(next_line());
    // Nothing to capture: empty slots, no cookie.
    assert!(send(port, "/b", &[b"Host: h"]).await.ends_with("200 OK"));
    lines.push(next_line());
    // Denied by a rule: the request slots as received, no response slot,
    // the cookie as the rules left it.
    let status = send(
        port,
        "/deny",
        &[b"Host: denied", b"X-Rule: r", b"Cookie: SESS=x"],
    )
    .await;
    assert!(status.contains(" 403 "), "{status}");
    lines.push(next_line());
    // Answered by `return`: HAProxy reads no cookie then.
    let status = send(port, "/return", &[b"Host: r", b"Cookie: SESS=x"]).await;
    assert!(status.ends_with("200 OK"), "{status}");
    lines.push(next_line());
    // The list forms.
    let fields: &[&[u8]] = &[b"Host: l", b"X-Req: one two", b"Cookie: ID=5; x=y"];
    assert!(send(list_port, "/b", fields).await.ends_with("200 OK"));
    lines.push(next_line());
    assert!(send(list_port, "/a", &[b"Host: l"])
        .await
        .ends_with("200 OK"));
    lines.push(next_line());
    lines
}

fn fixture() -> PathBuf {
    workspace_root().join(FIXTURE)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captured_headers_and_cookies_print_as_haproxys() {
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
/// `cargo test -p switchyard-e2e --test log_captures -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs haproxy; rewrites the fixture"]
async fn capture_haproxy_reference() {
    let lines = scenario(Path::new("haproxy")).await;
    let mut text = String::from(
        "# Lines haproxy 2.6.12 sent to syslog for the exchanges of\n\
         # tests/tests/log_captures.rs (its configuration and scenario), written by\n\
         # its ignored test capture_haproxy_reference; compared with ports, dates\n\
         # and timers masked.\n",
    );
    for line in lines {
        text.push_str(line.trim_end_matches('\n'));
        text.push('\n');
    }
    std::fs::write(fixture(), text).unwrap();
}

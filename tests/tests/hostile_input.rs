//! Hostile requests over plain TCP: every case of
//! `fixtures/hostile/requests.txt` (request smuggling shapes, among them
//! complete requests smuggled after CL.TE and TE.CL bodies, bad header
//! names and bytes, odd versions and targets, oversized heads, slowloris)
//! gets the answers written in the file — HAProxy 2.6's, or a stricter 400
//! (`scripts/haproxy-hostile-diff` checks the file against HAProxy): every
//! status the connection carries until the gateway closes it, and exactly
//! the requests written at the origin (method, target, framing, body
//! length), so that a refused or smuggled request never reaches it.
//!
//! The same bytes get the same answers however TCP splits them: every
//! hostile case and the ordinary ones of `fixtures/requests/ordinary.txt`
//! (bodies, chunks, a pipelined pair, `Expect: 100-continue`, HTTP/1.0)
//! are also sent one byte per write and in two writes split in the middle
//! of the head, and must get the same statuses (an interim `100 Continue`
//! aside, which is due only when the body has not come with the head) and
//! put the same requests at the origin.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::{Origin, SeenRequest};
use switchyard_e2e::workspace_root;

struct Case {
    name: String,
    /// Every status on the connection, in order (`# responses`).
    responses: Vec<String>,
    /// Each request the origin receives, as `METHOD TARGET framing=F
    /// body=N` (`# origin`).
    origin: Vec<String>,
    bytes: Vec<u8>,
}

/// Unescapes `\r \n \t \xNN` (the file's notation, as Python's
/// `unicode_escape` reads it).
fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'x' => {
                    let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                other => panic!("unknown escape \\{}", other as char),
            }
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn cases(file: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(workspace_root().join(file)).unwrap();
    text.split("\n###\n")
        .filter(|b| !b.starts_with("#!"))
        .map(|block| {
            let mut lines = block.split('\n');
            let name = lines.next().unwrap().trim_start_matches("# ").to_owned();
            let (mut responses, mut origin, mut raw) = (None, Vec::new(), Vec::new());
            for line in lines {
                if let Some(statuses) = line.strip_prefix("# responses ") {
                    responses = Some(statuses.split(' ').map(str::to_owned).collect());
                } else if let Some(request) = line.strip_prefix("# origin ") {
                    origin.push(request.to_owned());
                } else if !line.starts_with("# ") {
                    raw.push(line);
                }
            }
            Case {
                responses: responses.unwrap_or_else(|| panic!("{name}: no # responses line")),
                name,
                origin,
                bytes: unescape(raw.join("\n").trim_end_matches('\n')),
            }
        })
        .collect()
}

/// The status of every response in `out`, in order (interim ones too),
/// then "junk" if bytes follow that are not a response.
fn statuses(mut out: &[u8]) -> Vec<String> {
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let mut statuses = Vec::new();
    while !out.is_empty() {
        let Some(end) = find(out, b"\r\n\r\n") else {
            statuses.push("junk".to_owned());
            break;
        };
        let head = String::from_utf8_lossy(&out[..end]).into_owned();
        let mut rest = &out[end + 4..];
        let mut lines = head.split("\r\n");
        let status = match lines.next().unwrap().split(' ').collect::<Vec<_>>()[..] {
            [version, status, ..] if version.starts_with("HTTP/1.") => status.to_owned(),
            _ => {
                statuses.push("junk".to_owned());
                break;
            }
        };
        let field = |name: &str| {
            head.split("\r\n").skip(1).find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
        };
        if status.starts_with('1') || status == "204" || status == "304" {
        } else if field("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
            loop {
                let line_end = find(rest, b"\r\n").expect("a chunk size line");
                let size_text = String::from_utf8_lossy(&rest[..line_end]).into_owned();
                let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
                    .expect("a chunk size");
                rest = &rest[line_end + 2..];
                if size == 0 {
                    rest = &rest[find(rest, b"\r\n").expect("the end of the body") + 2..];
                    break;
                }
                rest = &rest[size + 2..];
            }
        } else if let Some(length) = field("content-length") {
            rest = &rest[length.parse::<usize>().unwrap().min(rest.len())..];
        } else {
            rest = &[]; // read until close
        }
        statuses.push(status);
        out = rest;
    }
    statuses
}

/// How the bytes of a case are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Split {
    Whole,
    /// One byte per write.
    Bytes,
    /// Two writes, the first ending in the middle of the head.
    MidHead,
}

/// The writes `bytes` is sent in.
fn pieces(bytes: &[u8], split: Split) -> Vec<&[u8]> {
    match split {
        Split::Whole => vec![bytes],
        Split::Bytes => bytes.chunks(1).collect(),
        Split::MidHead => {
            let end = bytes.windows(4).position(|w| w == b"\r\n\r\n");
            let mid = end.unwrap_or(bytes.len()) / 2;
            vec![&bytes[..mid], &bytes[mid..]]
        }
    }
}

/// Sends `bytes` from the client address `from` on a new connection and
/// reads until the gateway closes it: every status it carried ("closed"
/// when there was none, "timeout" last when it stayed open 10 s).
async fn exchange(port: u16, from: IpAddr, bytes: &[u8], split: Split) -> Vec<String> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let mut stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap();
    stream.set_nodelay(true).unwrap();
    for piece in pieces(bytes, split) {
        if stream.write_all(piece).await.is_err() {
            break;
        }
        if split == Split::MidHead {
            // Let the first piece be read on its own (not needed for the
            // answer: only to make the split likely).
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 65536];
        // A reset after the answer ends the connection too.
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            out.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    let mut got = statuses(&out);
    if got.is_empty() {
        got.push("closed".to_owned());
    }
    if read.is_err() {
        got.push("timeout".to_owned());
    }
    got
}

/// A request as the origin received it, in the fixture's notation.
fn as_written(seen: &SeenRequest) -> String {
    let has = |name: &str| !seen.header_values(name).is_empty();
    let framing = if has("transfer-encoding") {
        "chunked"
    } else if has("content-length") {
        "length"
    } else {
        "none"
    };
    format!(
        "{} {} framing={framing} body={}",
        seen.method, seen.uri, seen.body_len
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_haproxys_answers_or_stricter_ones() {
    let cases = cases("fixtures/hostile/requests.txt");
    assert!(cases.len() >= 50, "the corpus has {} requests", cases.len());
    let failures = run(&cases, &[Split::Whole]).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_bytes_get_the_same_answers_however_tcp_splits_them() {
    let mut all = cases("fixtures/hostile/requests.txt");
    all.extend(cases("fixtures/requests/ordinary.txt"));
    let failures = run(&all, &[Split::Whole, Split::Bytes, Split::MidHead]).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Sends every case split each way of `splits`, all at once, and says
/// which got other answers than the file's.
async fn run(cases: &[Case], splits: &[Split]) -> Vec<String> {
    let origin = Origin::start("o").await;
    let port = free_port();
    // `option forwardfor` tells the origin which case a request came from:
    // each case connects from its own loopback address, all at once.
    // `timeout http-request` leaves room for a 20 kB head sent one byte
    // per write beside every other case on a loaded machine: its answer
    // is the 400 for a head longer than the buffer, not a 408.
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 2s\n    timeout server 2s\n    timeout http-request 5s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    option forwardfor\n    default_backend be\nbackend be\n    server o {}\n",
        origin.addr
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let client_address = |s: usize, i: usize| {
        IpAddr::V4(Ipv4Addr::new(
            127,
            1 + s as u8,
            1 + (i / 250) as u8,
            1 + (i % 250) as u8,
        ))
    };
    let runs: Vec<(usize, usize)> = (0..splits.len())
        .flat_map(|s| (0..cases.len()).map(move |i| (s, i)))
        .collect();
    let answers: Vec<Vec<String>> = futures_util::future::join_all(
        runs.iter()
            .map(|&(s, i)| exchange(port, client_address(s, i), &cases[i].bytes, splits[s])),
    )
    .await;
    let seen = origin.seen();
    let mut failures = Vec::new();
    for (&(s, i), got) in runs.iter().zip(&answers) {
        let case = &cases[i];
        let from = client_address(s, i).to_string();
        let reached: Vec<String> = seen
            .iter()
            .filter(|r| r.header_values("x-forwarded-for") == [from.as_str()])
            .map(as_written)
            .collect();
        // An interim 100 is due only when the body has not come yet.
        let got: Vec<&String> = got.iter().filter(|s| *s != "100").collect();
        let expected: Vec<&String> = case.responses.iter().filter(|s| *s != "100").collect();
        if got != expected || reached != case.origin {
            failures.push(format!(
                "{} ({:?}):\n    expected responses {:?}, origin {:?}\n    got      responses {got:?}, origin {reached:?}",
                case.name, splits[s], case.responses, case.origin
            ));
        }
    }
    let unattributed = seen
        .iter()
        .filter(|r| r.header_values("x-forwarded-for").len() != 1)
        .count();
    if unattributed != 0 {
        failures.push(format!(
            "{unattributed} requests at the origin from no case"
        ));
    }
    failures
}

/// A gateway in front of a new origin, with `timeout http-request 1s`.
async fn gateway_with_origin() -> (Origin, Gateway, u16) {
    let origin = Origin::start("o").await;
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n    timeout http-request 1s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server o {}\n",
        origin.addr
    );
    let gateway = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    (origin, gateway, port)
}

/// Reads from `stream` until `done` says what came is enough, or the
/// gateway closes (10 s at most).
async fn read_until(
    stream: &mut tokio::net::TcpStream,
    out: &mut Vec<u8>,
    done: impl Fn(&[u8]) -> bool,
) {
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        while !done(out) {
            match stream.read(&mut buf).await {
                Ok(n @ 1..) => out.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
    })
    .await;
}

/// The 422 for `Transfer-Encoding: gzip, chunked` is the connection's
/// last answer: what the client sends after it is not read as a next
/// request (which, unfinished, would get a 408 at `timeout http-request`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_ends_its_connection_however_late_its_body_comes() {
    let (_origin, _gw, port) = gateway_with_origin().await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream
        .write_all(
            b"POST /te-gc HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    let answered = |out: &[u8]| out.windows(4).any(|w| w == b"\r\n\r\n");
    read_until(&mut stream, &mut out, answered).await;
    assert_eq!(statuses(&out), ["422"]);
    // The body, after the answer.
    let _ = stream.write_all(b"0\r\n").await;
    read_until(&mut stream, &mut out, |_| false).await;
    assert_eq!(statuses(&out), ["422"], "{}", String::from_utf8_lossy(&out));
}

/// A chunked request whose first chunk size is refused never reaches the
/// origin, even when that size comes after the head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_first_chunk_size_is_refused_before_the_server_hears_of_the_request() {
    let (origin, _gw, port) = gateway_with_origin().await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream
        .write_all(
            b"POST /chunk-big HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .await
        .unwrap();
    // Let the head be read on its own (the split is likely, not needed
    // for the answer).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = stream
        .write_all(b"fffffffffffffffffff\r\nabc\r\n0\r\n\r\n")
        .await;
    let mut out = Vec::new();
    read_until(&mut stream, &mut out, |_| false).await;
    assert_eq!(statuses(&out), ["400"]);
    assert_eq!(origin.connections(), 0, "the origin heard of the request");
}

/// A request head the gateway refuses gets HAProxy's `<BADREQ>` log line
/// (`fixtures/httplog/badreq.haproxy-2.6.12.log`, HAProxy 2.6.12's lines
/// for the same bytes): no backend, no server, no request time, 400, `PR`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_head_is_logged_as_haproxy_logs_it() {
    let text = std::fs::read_to_string(
        workspace_root().join("fixtures/httplog/badreq.haproxy-2.6.12.log"),
    )
    .unwrap();
    let expected: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let big_target = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(20_000));
    let requests: [&[u8]; 4] = [
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
        big_target.as_bytes(),
        b"POST /chunk-big HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
    ];
    assert_eq!(expected.len(), requests.len());
    let syslog = switchyard_e2e::syslog::SyslogReceiver::start();
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 2s\n    timeout server 2s\n    timeout http-request 1s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    log 127.0.0.1:{} local0\n    option httplog\n    default_backend be\n\
         backend be\n    server o {}\n",
        syslog.port,
        switchyard_e2e::gateway::closed_address(),
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    // The connection counts masked too: the previous connection may not
    // have been let go yet when the client has seen it close.
    let comparable = |line: &str| {
        let mut fields: Vec<String> = switchyard_e2e::syslog::comparable_httplog(line)
            .split(' ')
            .map(str::to_owned)
            .collect();
        fields[11] = "COUNTS".into();
        fields.join(" ")
    };
    for (request, haproxy) in requests.iter().zip(&expected) {
        let answers = exchange(port, IpAddr::V4(Ipv4Addr::LOCALHOST), request, Split::Whole).await;
        assert_eq!(answers, ["400"]);
        let line = syslog.next_line();
        let message = line.split_once("]: ").map_or("", |(_, m)| m);
        let timers = message.split(' ').nth(4).unwrap_or_default();
        assert!(timers.starts_with("-1/-1/-1/-1/"), "{line}");
        assert_eq!(comparable(&line), comparable(haproxy), "{line}");
    }
}

//! Hostile requests over plain TCP: every case of
//! `fixtures/hostile/requests.txt` (request smuggling shapes, bad header
//! names and bytes, odd versions and targets, oversized heads, slowloris)
//! gets the answer written in the file — HAProxy 2.6's, or a stricter 400
//! (`scripts/haproxy-hostile-diff` checks the file against HAProxy) — and
//! the origin receives exactly as many requests as written: a refused
//! request never reaches it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::workspace_root;

struct Case {
    name: String,
    status: String,
    origin_requests: usize,
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

fn cases() -> Vec<Case> {
    let text =
        std::fs::read_to_string(workspace_root().join("fixtures/hostile/requests.txt")).unwrap();
    text.split("\n###\n")
        .filter(|b| !b.starts_with("#!"))
        .map(|block| {
            let mut lines = block.splitn(3, '\n');
            let name = lines.next().unwrap().trim_start_matches("# ").to_owned();
            let expect: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
            assert_eq!(expect[..2], ["#", "expect"], "{name}: no expectation");
            let raw = lines.next().unwrap_or("").trim_end_matches('\n');
            Case {
                name,
                status: expect[2].to_owned(),
                origin_requests: expect[3].parse().unwrap(),
                bytes: unescape(raw),
            }
        })
        .collect()
}

/// The status of the first final answer on a fresh connection after
/// sending `bytes` ("closed" when there is none).
async fn status_for(port: u16, bytes: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let _ = stream.write_all(bytes).await;
    let mut seen = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        // Interim answers (100 Continue) are not the answer.
        while seen.starts_with(b"HTTP/1.1 1") {
            match seen.windows(4).position(|w| w == b"\r\n\r\n") {
                Some(end) => {
                    seen.drain(..end + 4);
                }
                None => break,
            }
        }
        if let Some(line_end) = seen.windows(2).position(|w| w == b"\r\n") {
            if !seen.starts_with(b"HTTP/1.1 1") {
                let line = String::from_utf8_lossy(&seen[..line_end]).into_owned();
                return line.split(' ').nth(1).unwrap_or("junk").to_owned();
            }
        }
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return if seen.is_empty() {
                    "closed".into()
                } else {
                    "junk".into()
                }
            }
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return "timeout".into(),
        }
    }
}

#[tokio::test]
async fn hostile_requests_get_haproxys_answer_or_a_stricter_one() {
    let cases = cases();
    assert!(cases.len() >= 50, "the corpus has {} requests", cases.len());
    let origin = Origin::start("o").await;
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 2s\n    timeout server 2s\n    timeout http-request 1s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server o {}\n",
        origin.addr
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let mut failures = Vec::new();
    for case in &cases {
        let before = origin.request_count();
        let status = status_for(port, &case.bytes).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        let reached = origin.request_count() - before;
        if status != case.status || reached != case.origin_requests {
            failures.push(format!(
                "{}: expected {} with {} request(s) at the origin, got {status} with {reached}",
                case.name, case.status, case.origin_requests
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

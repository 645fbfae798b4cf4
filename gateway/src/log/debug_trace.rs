//! `-d`: HAProxy's debug trace of every exchange on stdout, in its format,
//! so the habits (and the `grep`s) of `haproxy -d` carry over:
//!
//! ```text
//! 00000000:fe.accept(0004)=000c from [127.0.0.1:35296] ALPN=<none>
//! 00000000:fe.clireq[000c:ffffffff]: GET /x?y HTTP/1.1
//! 00000000:fe.clihdr[000c:ffffffff]: host: 127.0.0.1:18996
//! 00000000:be.srvrep[000c:ffffffff]: HTTP/1.1 200 OK
//! 00000000:be.srvhdr[000c:ffffffff]: content-length: 2
//! ```
//!
//! The first number counts streams (a new one per request, as HAProxy's);
//! the bracket holds the client's descriptor and the server's, which the
//! connection pool does not expose (`ffffffff`). HAProxy's `clicls`,
//! `srvcls` and `closed` lines are not written. Off unless `-d`: the
//! request path pays one relaxed load.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

static ON: AtomicBool = AtomicBool::new(false);
static NEXT_STREAM: AtomicU32 = AtomicU32::new(0);

/// Turns the trace on for the rest of the process (`-d`).
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

#[inline]
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// A stream number for one request, when the trace is on.
pub fn stream() -> Option<u32> {
    on().then(|| NEXT_STREAM.fetch_add(1, Ordering::Relaxed))
}

/// A connection accepted by `proxy` on the listener `listener_fd`.
pub fn accept(proxy: &str, listener_fd: i32, client_fd: i32, peer: SocketAddr, alpn: Option<&str>) {
    if !on() {
        return;
    }
    let id = NEXT_STREAM.load(Ordering::Relaxed);
    let peer = match peer {
        SocketAddr::V4(v4) => format!("{}:{}", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => format!("{}:{}", v6.ip(), v6.port()),
    };
    emit(format!(
        "{id:08x}:{proxy}.accept({listener_fd:04x})={client_fd:04x} from [{peer}] ALPN={}\n",
        alpn.unwrap_or("<none>")
    ));
}

/// A request head, as the client sent it.
pub fn request(stream: u32, proxy: &str, client_fd: i32, head: &http::request::Parts) {
    let tag = format!("{stream:08x}:{proxy}.cli%[{}:ffffffff]: ", fd(client_fd));
    let line = format!(
        "{} {} {:?}",
        head.method,
        head.uri
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/"),
        head.version
    );
    emit(block(&tag, "req", &line, "hdr", &head.headers));
}

/// A response head, as the server sent it.
pub fn response(stream: u32, backend: &str, client_fd: i32, head: &http::response::Parts) {
    let tag = format!("{stream:08x}:{backend}.srv%[{}:ffffffff]: ", fd(client_fd));
    let line = format!(
        "{:?} {} {}",
        head.version,
        head.status.as_u16(),
        head.status.canonical_reason().unwrap_or("")
    );
    emit(block(&tag, "rep", line.trim_end(), "hdr", &head.headers));
}

fn fd(fd: i32) -> String {
    if fd < 0 {
        "ffff".into()
    } else {
        format!("{fd:04x}")
    }
}

/// The first line and one line per header field, each behind the tag with
/// `%` replaced by its kind.
fn block(
    tag: &str,
    first_kind: &str,
    first: &str,
    kind: &str,
    headers: &http::HeaderMap,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}{first}", tag.replacen('%', first_kind, 1));
    let header_tag = tag.replacen('%', kind, 1);
    for (name, value) in headers {
        let _ = writeln!(
            out,
            "{header_tag}{name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        );
    }
    out
}

/// One write per block, so blocks of concurrent requests do not interleave.
fn emit(text: String) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_in_haproxys_shape() {
        let req = http::Request::get("/x?y=1")
            .header("host", "a.test")
            .header("x-a", "b")
            .body(())
            .unwrap();
        let (head, _) = req.into_parts();
        let tag = format!("{:08x}:{}.cli%[{}:ffffffff]: ", 7, "fe", fd(12));
        let text = block(&tag, "req", "GET /x?y=1 HTTP/1.1", "hdr", &head.headers);
        assert_eq!(
            text,
            "00000007:fe.clireq[000c:ffffffff]: GET /x?y=1 HTTP/1.1\n\
             00000007:fe.clihdr[000c:ffffffff]: host: a.test\n\
             00000007:fe.clihdr[000c:ffffffff]: x-a: b\n"
        );
        assert_eq!(fd(-1), "ffff");
    }
}

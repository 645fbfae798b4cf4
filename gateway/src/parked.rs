//! HTTP/1.1 client connections that hold no buffers while they wait for
//! their next request.
//!
//! hyper keeps an 8 KiB read buffer and an 8 KiB write buffer for the whole
//! life of a connection, so 10,000 idle keep-alive clients cost 160 MiB
//! before anything else; HAProxy releases its buffers between requests.
//! Here a connection between requests is only its socket and its timers:
//! it waits for the next bytes with a stack buffer, then serves exactly
//! one exchange with a fresh hyper connection (keep-alive switched off
//! inside hyper once the response's head has been written, which changes
//! nothing on the wire: the client still sees a persistent HTTP/1.1
//! connection), takes
//! the socket and any pipelined bytes back, and parks again.
//!
//! A request this path does not take (HTTP/2's preface, HTTP/1.0 with its
//! own keep-alive rules, `Upgrade` or `CONNECT`, a head that did not arrive
//! whole in one read, anything malformed) hands the connection to the
//! general path (`listener::serve_full`) for the rest of its life.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Poll};

use bytes::{Bytes, BytesMut};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::accept::{Phase, Retirement};
use crate::client_io::ClientIo;
use crate::prefixed_io::PrefixedIo;
use crate::proxy::hop_by_hop::lists_token;
use crate::proxy::{ClientConn, HttpProxy};

/// The most a parked connection reads at once: HAProxy's buffer size. It
/// lives on the stack for the length of one read, never in the connection.
const SCRATCH: usize = 16_384;

/// A connection the parked path gives up: the socket and what was read.
pub(crate) struct Handoff<IO> {
    pub io: ClientIo<IO>,
    pub read: Bytes,
}

/// Serves `io` one exchange at a time until it closes (`None`) or needs
/// the general path.
pub(crate) async fn serve<IO>(
    mut io: ClientIo<IO>,
    conn: &Arc<ClientConn>,
    proxy: &Arc<HttpProxy>,
    retirement: &mut Retirement,
) -> Option<Handoff<IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut retired: Option<Phase> = None;
    let mut read = Bytes::new();
    loop {
        if read.is_empty() {
            read = tokio::select! {
                got = read_some(&mut io) => match got {
                    // Closed, or ClientIo's timeouts ended it (with its
                    // 408 page when one is due).
                    Ok(bytes) if !bytes.is_empty() => bytes,
                    _ => return None,
                },
                phase = retirement.requested(), if retired.is_none() => {
                    retired = Some(phase);
                    let fresh = matches!(conn.waiting(), Some((0, _)));
                    if phase == Phase::Stopping && !fresh {
                        // Soft stop: an idle connection closes at once.
                        return None;
                    }
                    // A reload, or a client accepted just before the stop
                    // whose request may be on the wire: its next response
                    // says `Connection: close` (idle ones end at their
                    // timeout), so no request is lost to the close.
                    conn.close_after_next_response();
                    continue;
                }
            };
        }
        let Some(head_len) = takes(&read) else {
            return Some(Handoff { io, read });
        };
        // `read` keeps what follows the request (pipelined requests).
        let request = read.split_to(head_len);
        let (back, unread) =
            Box::pin(exchange(io, request, conn, proxy, retirement, &mut retired)).await?;
        io = back;
        if !unread.is_empty() {
            // hyper stopped inside the request: nothing sound to go on from.
            return None;
        }
        if conn.is_closing() {
            // The response said `Connection: close`.
            let _ = io.shutdown().await;
            return None;
        }
    }
}

/// One request (`request`: its whole head, and it has no body) and its
/// response on a fresh hyper connection that can read nothing else; the
/// socket and whatever hyper left unread come back unless it closed.
async fn exchange<IO>(
    io: ClientIo<IO>,
    request: Bytes,
    conn: &Arc<ClientConn>,
    proxy: &Arc<HttpProxy>,
    retirement: &mut Retirement,
    retired: &mut Option<Phase>,
) -> Option<(ClientIo<IO>, Bytes)>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = crate::listener::request_service(proxy.clone(), conn.clone());
    let mut http = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(None)
        .max_buf_size(16_384)
        .serve_connection(TokioIo::new(PrefixedIo::only(request, io)), service);
    conn.reset_progress();
    let finished = {
        let mut keep_alive_off = false;
        let driven = poll_fn(|cx| loop {
            let polled = Pin::new(&mut http).poll_without_shutdown(cx);
            // Once the response's head is out, hyper closes after it
            // instead of waiting for another request with its buffers.
            // Not before: hyper would add `Connection: close` to the head.
            if !keep_alive_off && conn.response_started() {
                keep_alive_off = true;
                Pin::new(&mut http).graceful_shutdown();
                if polled.is_pending() {
                    continue;
                }
            }
            return polled;
        });
        tokio::pin!(driven);
        tokio::select! {
            done = &mut driven => done,
            phase = retirement.requested(), if retired.is_none() => {
                *retired = Some(phase);
                conn.close_after_next_response();
                driven.await
            }
        }
    };
    if finished.is_err() {
        return None;
    }
    let parts = http.into_parts();
    let (io, unread) = parts.io.into_inner().into_parts();
    // Copied out: hyper's `read_buf` is a view of its whole read buffer,
    // which it would keep alive even when empty.
    let mut rest = BytesMut::with_capacity(parts.read_buf.len() + unread.len());
    rest.extend_from_slice(&parts.read_buf);
    rest.extend_from_slice(&unread);
    Some((io, rest.freeze()))
}

/// Reads what the client has sent, into a buffer of exactly that size.
async fn read_some<IO: AsyncRead + Unpin>(io: &mut IO) -> io::Result<Bytes> {
    poll_fn(|cx| {
        let mut scratch = [std::mem::MaybeUninit::<u8>::uninit(); SCRATCH];
        let mut buf = ReadBuf::uninit(&mut scratch);
        ready!(Pin::new(&mut *io).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(Bytes::copy_from_slice(buf.filled())))
    })
    .await
}

/// Whether `read` starts with a whole HTTP/1.1 request head this path can
/// serve: a request without a body (so the connection is at a request
/// boundary once the response is out, whatever the service did with the
/// request), not an upgrade or CONNECT, no `Expect` (hyper's interim `100
/// Continue` would pass for the response's head), no `Connection: close`.
/// Anything else (incomplete, HTTP/1.0, HTTP/2's preface, malformed, more
/// than 100 fields) goes the general way, where hyper reads, answers or
/// refuses it as it always has.
fn takes(read: &[u8]) -> Option<usize> {
    let mut fields = [httparse::EMPTY_HEADER; 100];
    let mut head = httparse::Request::new(&mut fields);
    let Ok(httparse::Status::Complete(head_len)) = head.parse(read) else {
        return None;
    };
    let plain = head.version == Some(1)
        && head.method != Some("CONNECT")
        && !head.headers.iter().any(|field| {
            let name = field.name;
            name.eq_ignore_ascii_case("upgrade")
                || name.eq_ignore_ascii_case("expect")
                || name.eq_ignore_ascii_case("transfer-encoding")
                || (name.eq_ignore_ascii_case("content-length") && field.value.trim_ascii() != b"0")
                || (name.eq_ignore_ascii_case("connection")
                    && (lists_token(field.value, "upgrade") || lists_token(field.value, "close")))
        });
    plain.then_some(head_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http11_requests_are_taken_head_by_head() {
        assert_eq!(takes(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Some(27));
        assert!(takes(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").is_some());
        assert_eq!(
            takes(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\n"),
            Some(51),
            "a pipelined request behind is left for the next exchange"
        );
    }

    #[test]
    fn everything_else_goes_the_general_way() {
        for read in [
            &b"GET / HTTP/1.1\r\nHost: a\r\n"[..],
            b"GET / HTTP/1.0\r\nHost: a\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
            b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nupgrade: h2c\r\n\r\n",
            b"PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n",
            b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
            b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n",
            b"GARBAGE\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        ] {
            assert!(takes(read).is_none(), "{}", String::from_utf8_lossy(read));
        }
    }
}

//! HTTP/1.1 client connections that hold no buffers while they wait for
//! their next request, and whose common requests the gateway reads and
//! answers itself.
//!
//! hyper keeps an 8 KiB read buffer and an 8 KiB write buffer for the whole
//! life of a connection, so 10,000 idle keep-alive clients cost 160 MiB
//! before anything else; HAProxy releases its buffers between requests.
//! Here a connection between requests is only its socket and its timers:
//! it waits for the next bytes with a stack buffer. A request that is
//! HTTP/1.1 without a body or an upgrade (`wire::h1::request_parse`) is
//! parsed here, passed to the request path, and its response written here
//! (`front/client_response.rs`), with no HTTP connection object built for it;
//! what follows it in the same read (pipelined requests) waits its turn.
//!
//! A request this path does not take (HTTP/2's preface, HTTP/1.0 with its
//! own keep-alive rules, a body, `Upgrade` or `CONNECT`, a head that did not
//! arrive whole in one read, anything malformed) hands the connection to
//! the general path (`listener::serve_full`, hyper) for the rest of its
//! life, with the bytes read so far.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Poll};

use bytes::Bytes;
use http::request::Parts;
use switchyard::wire::h1::request_parse::{plain_request, PlainRequest};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};

use crate::front::accept::Phase;
use crate::front::client_io::{ClientIo, ClientSocket};
use crate::front::listener::Session;
use crate::message::body::ProxyBody;

/// The most a parked connection reads at once: HAProxy's buffer size. It
/// lives on the stack for the length of one read, never in the connection.
const SCRATCH: usize = 16_384;

/// A connection the parked path gives up: the socket and what was read.
pub(crate) struct Handoff<IO> {
    pub io: Box<ClientIo<IO>>,
    pub read: Bytes,
}

/// Serves `io` one exchange at a time until it closes (`None`) or needs
/// the general path.
pub(crate) async fn serve<IO>(mut io: Box<ClientIo<IO>>, session: &Session) -> Option<Handoff<IO>>
where
    IO: ClientSocket + Send + 'static,
{
    let conn = &session.conn;
    let retirement = session.member.retirement();
    let mut retired: Option<Phase> = None;
    // Waited on beside each read until it fires; written out rather than
    // in a `select!`, whose state would be part of every idle connection.
    let mut requested = std::pin::pin!(retirement.requested());
    let mut read = Bytes::new();
    loop {
        if read.is_empty() {
            // What is left of the last read is empty but still holds that
            // read's buffer: let it go before waiting.
            read = Bytes::new();
            let woke = poll_fn(|cx| {
                if retired.is_none() {
                    if let Poll::Ready(phase) = requested.as_mut().poll(cx) {
                        return Poll::Ready(Err(phase));
                    }
                }
                poll_read_some(&mut io, cx).map(Ok)
            })
            .await;
            read = match woke {
                // Closed, or ClientIo's timeouts ended it (with its 408
                // page when one is due).
                Ok(Ok(bytes)) if !bytes.is_empty() => bytes,
                Ok(_) => return None,
                Err(phase) => {
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
        let Some(PlainRequest {
            parts,
            head_len,
            close,
        }) = plain_request(&read)
        else {
            return Some(Handoff { io, read });
        };
        // `read` keeps what follows the request (pipelined requests).
        let _ = read.split_to(head_len);
        if close {
            // Its response says `Connection: close`, and the connection
            // closes after it.
            conn.close_after_next_response();
        }
        // Boxed: the request path's state is kilobytes, which an idle
        // connection's task would otherwise carry.
        let answered = Box::pin(exchange(
            &mut io,
            Box::new(parts),
            session,
            &mut retired,
            &mut read,
        ))
        .await;
        if answered.is_err() {
            // Cut short (the client left, the server's body broke off): the
            // connection is not at a message boundary any more.
            return None;
        }
        if conn.is_closing() {
            // The response said `Connection: close`.
            let _ = io.shutdown().await;
            return None;
        }
    }
}

/// One request (bodiless) through the request path, and its response
/// written back.
async fn exchange<IO>(
    io: &mut ClientIo<IO>,
    request: Box<Parts>,
    session: &Session,
    retired: &mut Option<Phase>,
    pipelined: &mut Bytes,
) -> io::Result<()>
where
    IO: ClientSocket + Send + 'static,
{
    let head_request = request.method == http::Method::HEAD;
    let handling = session
        .proxy
        .handle(request, ProxyBody::Empty, &session.conn);
    let mut response = if session.proxy.client_side.watch_close && pipelined.is_empty() {
        // `option abortonclose`: the socket is read while the request is
        // in progress, so that a close is seen (`ClientIo` marks it); what
        // the client sends meanwhile is its next request.
        let mut handling = std::pin::pin!(handling);
        let mut watching = true;
        poll_fn(|cx| {
            if let Poll::Ready(response) = handling.as_mut().poll(cx) {
                return Poll::Ready(response);
            }
            if watching {
                if let Poll::Ready(read) = poll_read_some(&mut *io, cx) {
                    watching = false;
                    match read {
                        Ok(bytes) if !bytes.is_empty() => *pipelined = bytes,
                        // Closed: the request path was woken by the mark.
                        _ => {}
                    }
                }
            }
            Poll::Pending
        })
        .await
    } else {
        handling.await
    };
    // A reload or stop while the request was in progress: its response
    // closes the connection, as it would had the signal come before (a
    // look, not a wait: nothing else needs waking meanwhile).
    if retired.is_none() {
        if let Some(phase) = session.member.retirement().requested_now() {
            *retired = Some(phase);
            session.conn.close_after_next_response();
            response.close_connection();
        }
    }
    if response.is_silent() {
        // An empty errorfile: no answer, the connection closes.
        return Err(io::Error::other(
            "closed without an answer (empty errorfile)",
        ));
    }
    crate::front::client_response::write(io, response, head_request).await
}

/// Reads what the client has sent, into a buffer of exactly that size.
fn poll_read_some<IO: AsyncRead + Unpin>(
    io: &mut IO,
    cx: &mut std::task::Context<'_>,
) -> Poll<io::Result<Bytes>> {
    let mut scratch = [std::mem::MaybeUninit::<u8>::uninit(); SCRATCH];
    let mut buf = ReadBuf::uninit(&mut scratch);
    ready!(Pin::new(io).poll_read(cx, &mut buf))?;
    Poll::Ready(Ok(Bytes::copy_from_slice(buf.filled())))
}

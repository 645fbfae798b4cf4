//! An HTTP/1 client connection, served by the gateway's own engine from
//! its first byte to its close: heads read however TCP splits them
//! (`wire::h1::request_parse`), request bodies (`front/request_body.rs`),
//! `Expect: 100-continue`, HTTP/1.0's and HTTP/1.1's keep-alive rules,
//! pipelined requests (each waits for the previous response), upgrades
//! and `CONNECT` (the socket goes to the request path's tunnel once the
//! answer that switches is out), and the response written by
//! `front/client_response.rs`. HAProxy's client timeouts are the socket's
//! (`front/client_io.rs`). A connection opening with HTTP/2's preface is
//! handed back for hyper's HTTP/2 server, with the bytes read.
//!
//! Between requests a connection holds no buffer: it waits for the next
//! bytes with a stack buffer (hyper kept 16 KiB per connection for its
//! life; HAProxy also releases its buffers between requests).

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Poll};

use bytes::{Bytes, BytesMut};
use http::request::Parts;
use http::HeaderValue;
use switchyard::wire::h1::chunked::Decoder;
use switchyard::wire::h1::request_parse::{self, Framing, RequestHead};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::front::bad_request_log::log_refused_head;
use crate::front::client_io::{ClientIo, ClientSocket};
use crate::front::request_body::SharedConn;
use crate::front::retirement::{Phase, Requested};
use crate::front::session::Session;
use crate::message::body::{IdleLimit, ProxyBody, Source};
use crate::message::response::{FieldsMut, ProxyResponse};
use crate::message::upgrade::{ClientUpgrade, UpgradeSender};
use crate::net::prefixed_io::PrefixedIo;

/// The most read at once while waiting for a head: HAProxy's buffer size.
/// It lives on the stack for the length of one read, never in the
/// connection.
const SCRATCH: usize = 16_384;

/// A connection that opened with HTTP/2's preface: the socket and what
/// was read.
pub(crate) struct Handoff<IO> {
    pub io: Box<ClientIo<IO>>,
    pub read: Bytes,
}

/// What waiting for a head gave.
enum Head {
    Request(Box<RequestHead>, Bytes),
    Http2(Bytes),
    /// The connection is over (closed, timed out, refused, stopped).
    Over,
}

/// Serves `io` one exchange at a time until it closes (`None`) or turns
/// out to speak HTTP/2.
pub(crate) async fn serve<IO>(mut io: Box<ClientIo<IO>>, session: &Session) -> Option<Handoff<IO>>
where
    IO: ClientSocket + Send + 'static,
{
    let conn = &session.conn;
    let mut retired: Option<Phase> = None;
    let mut pending = BytesMut::new();
    let mut first = true;
    // Waited on beside each read until it fires, for the connection's
    // life; written out rather than in a `select!`, whose state would be
    // part of every idle connection.
    let retirement = session.member.retirement();
    let mut requested = std::pin::pin!(retirement.requested());
    loop {
        let waiting = Waiting {
            session,
            requested: requested.as_mut(),
            retired: &mut retired,
        };
        let (head, after) = match read_head(&mut io, &mut pending, first, waiting).await {
            Head::Request(head, after) => (head, after),
            Head::Http2(read) => {
                io.mark_http2();
                return Some(Handoff { io, read });
            }
            Head::Over => return None,
        };
        first = false;
        let RequestHead {
            mut parts,
            framing,
            close,
            expects_continue,
            switches,
            ..
        } = *head;
        // A chunked body is announced to the server only once its first
        // size line is in and valid, so that a bad one is refused before
        // the server hears of the request however TCP split the bytes
        // (unless the client waits for `100 Continue` to send it, or the
        // head alone is refused: its answer does not wait for the body).
        let wait_for_size = framing == Framing::Chunked
            && !(expects_continue && after.is_empty())
            && crate::proxy::request_checks::check(&parts).is_ok();
        let after = if wait_for_size {
            match chunked_start(&mut io, after).await {
                BodyStart::Valid(after) => after,
                BodyStart::Malformed => {
                    log_refused_head(session);
                    io.refuse().await;
                    return None;
                }
                BodyStart::Over => return None,
            }
        } else {
            after
        };
        if close {
            // Its response says `Connection: close`, and the connection
            // closes after it.
            conn.close_after_next_response();
        }
        let upgrade = switches.then(|| {
            let (sender, promise) = ClientUpgrade::channel();
            parts.extensions.insert(promise);
            sender
        });
        let parts = Box::new(parts);
        let (io_back, rest) = if framing == Framing::None {
            // Boxed: the request path's state is kilobytes, which an idle
            // connection's task would otherwise carry.
            // Nothing read past the head: the socket may be watched for a
            // close while the request is in progress, into `pending`.
            let watch = after.is_empty();
            let answered = Box::pin(exchange(
                &mut *io,
                parts,
                ProxyBody::Empty,
                session,
                &mut retired,
                watch.then_some(&mut pending),
            ))
            .await;
            match answered {
                Ok(Answered::Done) => (io, after),
                Ok(Answered::Switched) => {
                    let after = if watch {
                        std::mem::take(&mut pending).freeze()
                    } else {
                        after
                    };
                    return switch(io, after, upgrade);
                }
                // Cut short (the client left, the server's body broke off):
                // the connection is not at a message boundary any more.
                Err(_) => return None,
            }
        } else {
            let (mut shared, body) = SharedConn::new(io, &after, framing, expects_continue);
            let idle = session
                .proxy
                .client_timeouts()
                .client
                .map(|limit| IdleLimit::new(limit, "timeout client: the request body stalled"));
            let body = ProxyBody::streamed_with_idle(Source::Client(Box::new(body)), idle);
            let answered = Box::pin(exchange(
                &mut shared,
                parts,
                body,
                session,
                &mut retired,
                None,
            ))
            .await;
            match answered {
                Ok(Answered::Done) => {}
                Ok(Answered::Switched) => {
                    let (io, after) = shared.take()?;
                    return switch(io, after, upgrade);
                }
                Err(_) => return None,
            }
            if conn.is_closing() {
                // The answer was the connection's last (a refused request,
                // `Connection: close`): what follows is not read as a
                // request.
                shared.close(session.proxy.client_timeouts().client).await;
                return None;
            }
            shared
                .finish(session.proxy.client_timeouts().client)
                .await?
        };
        io = io_back;
        drop(upgrade);
        if conn.is_closing() {
            // The response said `Connection: close`.
            let _ = io.shutdown().await;
            return None;
        }
        if !rest.is_empty() || !pending.is_empty() {
            // The next request's first bytes came with this one.
            io.head_begun();
            pending.extend_from_slice(&rest);
        }
    }
}

/// Where the start of a chunked body stands.
enum BodyStart {
    /// Its first size line is in and valid: the bytes after the head.
    Valid(Bytes),
    /// Its first size line is not one (the client gets a 400).
    Malformed,
    /// The client left, or did not send the line in time (`ClientIo`'s
    /// 408).
    Over,
}

/// Reads until the first chunk-size line of a body is whole after the
/// head (`after`, what came with it). The request is not in progress yet:
/// `timeout http-request` runs on, as for the head.
async fn chunked_start<IO>(io: &mut ClientIo<IO>, after: Bytes) -> BodyStart
where
    IO: ClientSocket,
{
    let mut read = None;
    loop {
        let bytes = read
            .as_ref()
            .map_or(&after[..], |read: &BytesMut| &read[..]);
        match Decoder::first_size_read(bytes) {
            Ok(true) => return BodyStart::Valid(read.map_or(after, BytesMut::freeze)),
            Ok(false) => {}
            Err(_) => return BodyStart::Malformed,
        }
        // Rare (the size line split from its head): a copy is cheap here.
        let read = read.get_or_insert_with(|| BytesMut::from(&after[..]));
        match poll_fn(|cx| poll_read_into(io, cx, read)).await {
            Ok(n) if n > 0 => {}
            _ => return BodyStart::Over,
        }
    }
}

/// Hands the socket to the tunnel the request path set up.
fn switch<IO>(
    io: Box<ClientIo<IO>>,
    after: Bytes,
    upgrade: Option<UpgradeSender>,
) -> Option<Handoff<IO>>
where
    IO: ClientSocket + Send + 'static,
{
    let mut io = io;
    io.become_tunnel();
    if let Some(upgrade) = upgrade {
        let _ = upgrade.send(Box::new(PrefixedIo::new(after, io)));
    }
    None
}

/// Reads until a whole request head is in `pending` (or the connection
/// ends): the head, and the bytes after it.
async fn read_head<IO>(
    io: &mut Box<ClientIo<IO>>,
    pending: &mut BytesMut,
    first: bool,
    waiting: Waiting<'_, '_>,
) -> Head
where
    IO: ClientSocket + Send + 'static,
{
    let Waiting {
        session,
        mut requested,
        retired,
    } = waiting;
    let conn = &session.conn;
    // Bytes already looked at for the end of the head.
    let mut scanned = 0;
    // A connection's first bytes may be HTTP/2's preface.
    let mut preface_possible = first;
    loop {
        if preface_possible {
            match request_parse::is_http2_preface(pending) {
                Some(true) => return Head::Http2(std::mem::take(pending).freeze()),
                Some(false) => preface_possible = false,
                None => scanned = pending.len(),
            }
        }
        // A head ends with a line feed: parse only when one came.
        if pending[scanned..].contains(&b'\n') {
            let read = std::mem::take(pending).freeze();
            match request_parse::parse(&read) {
                Ok(Some(head)) => {
                    let after = read.slice(head.head_len..);
                    return Head::Request(Box::new(head), after);
                }
                Ok(None) => pending.extend_from_slice(&read),
                Err(e) => {
                    tracing::debug!(error = %e, "request head refused");
                    log_refused_head(session);
                    io.refuse().await;
                    return Head::Over;
                }
            }
        }
        scanned = pending.len();
        if pending.len() >= switchyard::wire::h1::buffer_limits::max_rewritten() {
            tracing::debug!("request head longer than the buffer");
            log_refused_head(session);
            io.refuse().await;
            return Head::Over;
        }
        let woke = poll_fn(|cx| {
            if retired.is_none() {
                if let Poll::Ready(phase) = requested.as_mut().poll(cx) {
                    return Poll::Ready(Err(phase));
                }
            }
            poll_read_into(&mut **io, cx, pending).map(Ok)
        })
        .await;
        match woke {
            Ok(Ok(n)) if n > 0 => {}
            // Closed, or ClientIo's timeouts ended it (with its 408 page
            // when one is due).
            Ok(_) => return Head::Over,
            Err(phase) => {
                *retired = Some(phase);
                let fresh = matches!(conn.waiting(), Some((0, _)));
                if phase == Phase::Stopping && !fresh && pending.is_empty() {
                    // Soft stop: an idle connection closes at once.
                    return Head::Over;
                }
                // A reload, or a client accepted just before the stop
                // whose request may be on the wire: its next response
                // says `Connection: close` (idle ones end at their
                // timeout), so no request is lost to the close.
                conn.close_after_next_response();
            }
        }
    }
}

/// What waiting for a head watches besides the socket: the generation's
/// retirement (a reload or a stop), and whether it came already.
struct Waiting<'a, 'r> {
    session: &'a Session,
    requested: Pin<&'a mut Requested<'r>>,
    retired: &'a mut Option<Phase>,
}

/// How an exchange ended.
enum Answered {
    /// The response is out; the connection may go on.
    Done,
    /// The response switched protocols: the socket is the tunnel's.
    Switched,
}

/// One request through the request path, and its response written back
/// on `io`.
async fn exchange<W>(
    io: &mut W,
    request: Box<Parts>,
    body: ProxyBody,
    session: &Session,
    retired: &mut Option<Phase>,
    pipelined: Option<&mut BytesMut>,
) -> io::Result<Answered>
where
    W: ClientWrite,
{
    let head_request = request.method == http::Method::HEAD;
    let connect = request.method == http::Method::CONNECT;
    let http10 = request.version == http::Version::HTTP_10;
    let upgrade_asked = request.extensions.get::<ClientUpgrade>().is_some();
    let handling = session.proxy.handle(request, body, &session.conn);
    let watched = pipelined.filter(|_| session.proxy.client_side.watch_close);
    let mut response = if let Some(pipelined) = watched {
        // `option abortonclose`: the socket is read while the request is
        // in progress, so that a close is seen (`ClientIo` marks it); what
        // the client sends meanwhile is its next request.
        let mut handling = std::pin::pin!(handling);
        let mut watching = true;
        poll_fn(|cx| {
            if let Poll::Ready(response) = handling.as_mut().poll(cx) {
                return Poll::Ready(response);
            }
            if watching && io.poll_watch(cx, pipelined).is_ready() {
                watching = false;
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
    let status = response.status();
    let switched = upgrade_asked
        && (status == http::StatusCode::SWITCHING_PROTOCOLS || (connect && status.is_success()));
    if http10 && !switched {
        http10_connection(&mut response, session, head_request);
    }
    crate::front::client_response::write(io, response, head_request, http10).await?;
    Ok(if switched {
        Answered::Switched
    } else {
        Answered::Done
    })
}

/// The socket a response is written on, and, while the request is in
/// progress, watched for the client's close (`option abortonclose`).
trait ClientWrite: AsyncWrite + Unpin {
    /// Reads what the client sends meanwhile into `pipelined`; ready once
    /// something came or the client closed.
    fn poll_watch(&mut self, cx: &mut std::task::Context<'_>, pipelined: &mut BytesMut)
        -> Poll<()>;
}

impl<IO: ClientSocket> ClientWrite for ClientIo<IO> {
    fn poll_watch(
        &mut self,
        cx: &mut std::task::Context<'_>,
        pipelined: &mut BytesMut,
    ) -> Poll<()> {
        poll_read_into(self, cx, pipelined).map(|_| ())
    }
}

/// A request with a body: the body reads the socket (a close fails it).
impl<IO: ClientSocket> ClientWrite for SharedConn<IO> {
    fn poll_watch(&mut self, _: &mut std::task::Context<'_>, _: &mut BytesMut) -> Poll<()> {
        Poll::Pending
    }
}

/// An HTTP/1.0 client keeps its connection only when it asked to and the
/// response can be delimited without chunks; it is told so.
fn http10_connection(response: &mut ProxyResponse, session: &Session, head_request: bool) {
    let conn = &session.conn;
    if conn.is_closing() {
        return;
    }
    let delimited =
        switchyard::wire::h1::response_head::has_no_body(response.status(), head_request)
            || response.has_length();
    if response.any_field_value(&http::header::CONNECTION, |_| true) {
        // The request path said it already (a server's HTTP/1.0 answer).
    } else if delimited {
        response.append_field(
            http::header::CONNECTION,
            HeaderValue::from_static("keep-alive"),
        );
    } else {
        conn.close_after_next_response();
        response.close_connection();
    }
}

/// Reads what the client has sent into `pending`, through a stack buffer
/// so that `pending` grows only by what came.
fn poll_read_into<IO: AsyncRead + Unpin>(
    io: &mut IO,
    cx: &mut std::task::Context<'_>,
    pending: &mut BytesMut,
) -> Poll<io::Result<usize>> {
    let mut scratch = [std::mem::MaybeUninit::<u8>::uninit(); SCRATCH];
    let mut buf = ReadBuf::uninit(&mut scratch);
    ready!(Pin::new(io).poll_read(cx, &mut buf))?;
    pending.extend_from_slice(buf.filled());
    Poll::Ready(Ok(buf.filled().len()))
}

//! Writing a response to an HTTP/1 client (`front/h1_conn.rs`): the head,
//! then the body's frames as they come, with the head and the body's first
//! bytes in one system call when they are at hand together (as they are
//! for a small response read in one go).

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::Poll;

use bytes::Bytes;
use hyper::body::Body;
use switchyard::wire::h1::response_encode::{
    chunk_start, encode_head, BodyFraming, CHUNK_END, LAST_CHUNK,
};
use switchyard::wire::h1::response_head::{content_length, fields_content_length, has_no_body};
use tokio::io::AsyncWrite;

use crate::message::response::ProxyResponse;

/// Bytes gathered before a write; a body frame larger than this is
/// written from its own buffer instead of being copied.
const GATHER: usize = 16_384;

/// Writes `response` to `io`; `head_request` says the request was `HEAD`
/// (no body goes out, whatever the response holds), `http10_client` that
/// it was HTTP/1.0 (no chunks: a body of unknown length ends with the
/// connection, which `front/h1_conn.rs` closes). An error means the
/// connection is no longer at a message boundary and must be closed.
pub async fn write<IO: AsyncWrite + Unpin>(
    io: &mut IO,
    response: ProxyResponse,
    head_request: bool,
    http10_client: bool,
) -> io::Result<()> {
    let (mut parts, mut server_fields, mut body) = response.into_wire();
    if parts.status.is_informational() || parts.status == http::StatusCode::NO_CONTENT {
        // Never a length on these (RFC 9110, section 8.6).
        parts.headers.remove(http::header::CONTENT_LENGTH);
        if let Some(fields) = server_fields.as_mut() {
            fields.remove("content-length");
        }
    }
    let bodiless = has_no_body(parts.status, head_request);
    // The length the fields announce (servers' lengths were checked on the
    // way in: one value); `Ok(None)` without any. A server's fields, when
    // still as read, are all of them: the gateway adds no length.
    let declared = match &server_fields {
        _ if bodiless => Ok(None),
        Some(fields) => fields_content_length(fields),
        None => content_length(&parts.headers),
    };
    let framing = match declared {
        Ok(None) if !bodiless => match body.size_hint().exact() {
            Some(n) => BodyFraming::Length(n),
            // HTTP/1.0 has no chunking: the request path closes the
            // connection after this response (`HttpProxy::handle`).
            None if parts.version == http::Version::HTTP_10 || http10_client => {
                BodyFraming::UntilClose
            }
            None => BodyFraming::Chunked,
        },
        _ => BodyFraming::AsFields,
    };
    let reason = parts
        .extensions
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| r.as_bytes());
    let mut out = Vec::new();
    encode_head(
        parts.version,
        parts.status,
        reason,
        server_fields.as_ref(),
        &parts.headers,
        framing,
        &mut out,
    );
    if bodiless && head_request && !body.is_end_stream() {
        // A HEAD the rules made a GET: the server's body is read before
        // the connection's next request, which may want its server
        // connection, as HAProxy drains it.
        write_all(io, &out, &[]).await?;
        body.drain().await;
        return Ok(());
    }
    if bodiless {
        // Dropped unread: its ends run as for a body not passed on.
        drop(body);
        return write_all(io, &out, &[]).await;
    }
    let chunked = framing == BodyFraming::Chunked;
    // The length the head announced: the body may not go past it (the
    // client would read the rest as its next response), nor stop short.
    let mut left = match framing {
        BodyFraming::Length(n) => Some(n),
        BodyFraming::AsFields => declared.ok().flatten(),
        BodyFraming::Chunked | BodyFraming::UntilClose => None,
    };
    loop {
        let frame = poll_fn(|cx| match Pin::new(&mut body).poll_frame(cx) {
            // Nothing at hand: what is gathered goes out while waiting.
            Poll::Pending if !out.is_empty() => Poll::Ready(Next::Flush),
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(Next::End),
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Next::Data(frame.into_data().ok())),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Next::Failed(e)),
        })
        .await;
        match frame {
            Next::Flush => {
                write_all(io, &out, &[]).await?;
                out.clear();
            }
            Next::Data(None) => {}
            Next::Data(Some(data)) if data.is_empty() => {}
            Next::Data(Some(mut data)) => {
                let overflow = match left.as_mut() {
                    Some(left) if data.len() as u64 > *left => {
                        data.truncate(*left as usize);
                        true
                    }
                    Some(left) => {
                        *left -= data.len() as u64;
                        false
                    }
                    None => false,
                };
                if overflow {
                    write_all(io, &out, &data).await?;
                    return Err(io::Error::other(
                        "the body is longer than its Content-Length",
                    ));
                }
                if chunked {
                    chunk_start(data.len(), &mut out);
                }
                if out.len() + data.len() <= GATHER {
                    out.extend_from_slice(&data);
                } else {
                    write_all(io, &out, &data).await?;
                    out.clear();
                }
                if chunked {
                    out.extend_from_slice(CHUNK_END);
                }
            }
            Next::End => {
                if chunked {
                    out.extend_from_slice(LAST_CHUNK);
                }
                write_all(io, &out, &[]).await?;
                if left.is_some_and(|left| left > 0) {
                    return Err(io::Error::other(
                        "the body is shorter than its Content-Length",
                    ));
                }
                return Ok(());
            }
            Next::Failed(e) => {
                // What was gathered still goes out; the message stays cut.
                let _ = write_all(io, &out, &[]).await;
                return Err(io::Error::other(e));
            }
        }
    }
}

/// What polling the body gave.
enum Next {
    Data(Option<Bytes>),
    Flush,
    End,
    Failed(crate::message::body::BoxError),
}

/// Writes `first` then `second`, in one vectored write where the
/// connection allows.
async fn write_all<IO: AsyncWrite + Unpin>(
    io: &mut IO,
    mut first: &[u8],
    mut second: &[u8],
) -> io::Result<()> {
    while !first.is_empty() || !second.is_empty() {
        let n = if second.is_empty() {
            // One buffer: a plain send, which the kernel takes a little
            // faster than a vectored one.
            poll_fn(|cx| Pin::new(&mut *io).poll_write(cx, first)).await?
        } else {
            let slices = [IoSlice::new(first), IoSlice::new(second)];
            poll_fn(|cx| Pin::new(&mut *io).poll_write_vectored(cx, &slices)).await?
        };
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        if n < first.len() {
            first = &first[n..];
        } else {
            second = &second[n - first.len()..];
            first = &[];
        }
    }
    poll_fn(|cx| Pin::new(&mut *io).poll_flush(cx)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::body::ProxyBody;

    async fn written(response: http::Response<ProxyBody>, head_request: bool) -> String {
        let mut out = Vec::new();
        write(&mut out, response.into(), head_request, false)
            .await
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn framing_is_added_only_where_the_fields_do_not_say() {
        let full = http::Response::new(ProxyBody::full("hello"));
        assert_eq!(
            written(full, false).await,
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"
        );
        let empty = http::Response::new(ProxyBody::Empty);
        assert_eq!(
            written(empty, false).await,
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
        );
        let mut head = http::Response::new(ProxyBody::full("hello"));
        head.headers_mut()
            .insert("content-length", "5".parse().unwrap());
        assert_eq!(
            written(head, true).await,
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n",
            "no body after a HEAD"
        );
        let mut no_content = http::Response::new(ProxyBody::Empty);
        *no_content.status_mut() = http::StatusCode::NO_CONTENT;
        no_content
            .headers_mut()
            .insert("content-length", "5".parse().unwrap());
        assert_eq!(
            written(no_content, false).await,
            "HTTP/1.1 204 No Content\r\n\r\n"
        );
        let mut not_modified = http::Response::new(ProxyBody::Empty);
        *not_modified.status_mut() = http::StatusCode::NOT_MODIFIED;
        assert_eq!(
            written(not_modified, false).await,
            "HTTP/1.1 304 Not Modified\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn a_body_never_goes_past_its_content_length() {
        let mut long = http::Response::new(ProxyBody::full("hello"));
        long.headers_mut()
            .insert("content-length", "3".parse().unwrap());
        let mut out = Vec::new();
        assert!(write(&mut out, long.into(), false, false).await.is_err());
        assert_eq!(out, b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nhel");
        let mut short = http::Response::new(ProxyBody::full("hi"));
        short
            .headers_mut()
            .insert("content-length", "3".parse().unwrap());
        assert!(write(&mut Vec::new(), short.into(), false, false)
            .await
            .is_err());
    }
}

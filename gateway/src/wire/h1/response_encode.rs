//! A response head as written to an HTTP/1.1 client, and the chunk
//! framing of a body whose length is not known in advance.

use http::{HeaderMap, StatusCode, Version};

use super::server_fields::ServerFields;

/// How the body that follows the head is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body follows (`HEAD`, 1xx, 204, 304), or the fields already say
    /// how long it is (`Content-Length`).
    AsFields,
    /// A `Content-Length` field is added.
    Length(u64),
    /// `Transfer-Encoding: chunked` is added, and the body is chunked.
    Chunked,
    /// Nothing is added: the body ends with the connection (an HTTP/1.0
    /// response of unknown length, which cannot be chunked).
    UntilClose,
}

/// Appends the head to `out`: status line (`HTTP/1.0` for a server's
/// HTTP/1.0 response, which HAProxy passes on as such; `HTTP/1.1`
/// otherwise; with `reason` when the server gave an unusual one), a
/// server's fields still as read, then `headers`,
/// names in lower case as hyper writes them, and the framing field when
/// one is added.
pub fn encode_head(
    version: Version,
    status: StatusCode,
    reason: Option<&[u8]>,
    server_fields: Option<&ServerFields>,
    headers: &HeaderMap,
    framing: BodyFraming,
    out: &mut Vec<u8>,
) {
    out.reserve(64 + (headers.len() + server_fields.map_or(0, ServerFields::len)) * 40);
    out.extend_from_slice(if version == Version::HTTP_10 {
        b"HTTP/1.0 "
    } else {
        b"HTTP/1.1 "
    });
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    let reason = reason.or_else(|| status.canonical_reason().map(str::as_bytes));
    // HAProxy's word for a status it has no reason for.
    out.extend_from_slice(reason.unwrap_or(b"Other"));
    out.extend_from_slice(b"\r\n");
    if let Some(fields) = server_fields {
        fields.encode(out);
    }
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        BodyFraming::AsFields | BodyFraming::UntilClose => {}
        BodyFraming::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(n.to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        BodyFraming::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends the line that opens a chunk of `len` bytes.
pub fn chunk_start(len: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("{len:x}\r\n").as_bytes());
}

/// What ends a chunk's data.
pub const CHUNK_END: &[u8] = b"\r\n";

/// The last chunk, without trailers.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_written_as_hyper_writes_them() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", "1".parse().unwrap());
        let mut out = Vec::new();
        encode_head(
            Version::HTTP_11,
            StatusCode::OK,
            None,
            None,
            &headers,
            BodyFraming::Length(5),
            &mut out,
        );
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 5\r\n\r\n"
        );
        out.clear();
        encode_head(
            Version::HTTP_11,
            StatusCode::OK,
            Some(b"Fine"),
            None,
            &HeaderMap::new(),
            BodyFraming::Chunked,
            &mut out,
        );
        assert_eq!(
            out,
            b"HTTP/1.1 200 Fine\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        out.clear();
        let odd = StatusCode::from_u16(599).unwrap();
        encode_head(
            Version::HTTP_11,
            odd,
            None,
            None,
            &HeaderMap::new(),
            BodyFraming::AsFields,
            &mut out,
        );
        assert_eq!(out, b"HTTP/1.1 599 Other\r\n\r\n");
        out.clear();
        chunk_start(255, &mut out);
        assert_eq!(out, b"ff\r\n");
    }
}

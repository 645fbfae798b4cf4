//! The responses the gateway writes itself when something fails, with
//! HAProxy's status lines and bodies, and `errorfile CODE FILE` overrides.

use std::collections::HashMap;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};

use crate::message::body::ProxyBody;

/// HAProxy 2.6's built-in messages, word for word.
fn builtin(status: u16) -> Option<(&'static str, &'static str)> {
    Some(match status {
        200 => ("200 OK", "Service ready."),
        400 => ("400 Bad request", "Your browser sent an invalid request."),
        401 => ("401 Unauthorized", "You need a valid user and password to access this content."),
        403 => ("403 Forbidden", "Request forbidden by administrative rules."),
        404 => ("404 Not Found", "The resource could not be found."),
        405 => ("405 Method Not Allowed", "A request was made of a resource using a request method not supported by that resource"),
        407 => ("407 Unauthorized", "You need a valid user and password to access this content."),
        408 => ("408 Request Time-out", "Your browser didn't send a complete request in time."),
        410 => ("410 Gone", "The resource is no longer available and will not be available again."),
        413 => ("413 Payload Too Large", "The request entity exceeds the maximum allowed."),
        422 => ("422 Unprocessable Content", "The server cannot process the contained instructions."),
        425 => ("425 Too Early", "Your browser sent early data."),
        429 => ("429 Too Many Requests", "You have sent too many requests in a given amount of time."),
        500 => ("500 Internal Server Error", "An internal server error occurred."),
        501 => ("501 Not Implemented", ".The server does not support the functionality required to fulfill the request."),
        502 => ("502 Bad Gateway", "The server returned an invalid or incomplete response."),
        503 => ("503 Service Unavailable", "No server is available to handle this request."),
        504 => ("504 Gateway Time-out", "The server didn't respond in time."),
        _ => return None,
    })
}

/// `cache-control` → `Cache-Control`, as HAProxy writes its own pages.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// A canned response: status, headers and body.
#[derive(Debug, Clone)]
pub struct CannedResponse {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    /// An empty errorfile (`errorfile 408 /dev/null`): HAProxy closes the
    /// connection without an answer.
    pub silent: bool,
    /// How many of `headers` come before `content-length` (an
    /// `http-error`'s `hdr` fields do; HAProxy's own pages have none).
    pub length_at: usize,
}

/// Marks a response that is not to be written: the client's connection
/// closes without an answer (an empty errorfile). HTTP/2's request
/// service turns it into an error, on which hyper drops the connection;
/// the HTTP/1 engine (`front/h1_conn.rs`) drops it itself.
#[derive(Debug, Clone, Copy)]
pub struct SilentClose;

impl std::fmt::Display for SilentClose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("closed without an answer (empty errorfile)")
    }
}

impl std::error::Error for SilentClose {}

impl CannedResponse {
    /// The page as a response; `content-length` comes first, as in
    /// HAProxy's built-in messages (an `errorfile`'s own length is
    /// recomputed for its body).
    pub fn to_response(&self) -> Response<ProxyBody> {
        let mut response = Response::new(ProxyBody::full(self.body.clone()));
        *response.status_mut() = self.status;
        if self.silent {
            response.extensions_mut().insert(SilentClose);
        }
        // HAProxy's reason phrase where it is not the usual one ("422
        // Unprocessable Content", "504 Gateway Time-out").
        let reason = builtin(self.status.as_u16())
            .and_then(|(title, _)| title.split_once(' ').map(|(_, reason)| reason));
        if let Some(reason) = reason.filter(|r| Some(*r) != self.status.canonical_reason()) {
            if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(reason.as_bytes()) {
                response.extensions_mut().insert(reason);
            }
        }
        let headers = response.headers_mut();
        let (before, after) = self
            .headers
            .split_at(self.length_at.min(self.headers.len()));
        for (name, value) in before {
            headers.append(name.clone(), value.clone());
        }
        headers.insert(
            http::header::CONTENT_LENGTH,
            HeaderValue::from(self.body.len()),
        );
        for (name, value) in after {
            headers.append(name.clone(), value.clone());
        }
        response
    }

    /// HAProxy's own page for `status` (a plain page for codes it has none for).
    pub fn builtin(status: u16) -> CannedResponse {
        let (title, text) = builtin(status).unwrap_or(("", ""));
        let status_code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let title = if title.is_empty() {
            status_code.to_string()
        } else {
            title.to_owned()
        };
        let body = format!("<html><body><h1>{title}</h1>\n{text}\n</body></html>\n");
        CannedResponse {
            status: status_code,
            headers: vec![
                (
                    http::header::CACHE_CONTROL,
                    HeaderValue::from_static("no-cache"),
                ),
                (
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html"),
                ),
            ],
            body: Bytes::from(body),
            silent: false,
            length_at: 0,
        }
    }

    /// The response as the connection writes it by itself, closing after
    /// it (HAProxy's field order for its own pages).
    pub fn to_wire(&self) -> Bytes {
        if self.silent {
            return Bytes::new();
        }
        let reason = builtin(self.status.as_u16())
            .map(|(title, _)| title.split_once(' ').map_or("", |(_, r)| r))
            .or(self.status.canonical_reason())
            .unwrap_or("");
        let mut out = format!(
            "HTTP/1.1 {} {reason}\r\nContent-length: {}\r\n",
            self.status.as_u16(),
            self.body.len()
        )
        .into_bytes();
        let mut connection_written = false;
        for (name, value) in &self.headers {
            if !connection_written && name.as_str() > "connection" {
                out.extend_from_slice(b"Connection: close\r\n");
                connection_written = true;
            }
            out.extend_from_slice(title_case(name.as_str()).as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if !connection_written {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        Bytes::from(out)
    }

    /// Parses an `errorfile`: a complete HTTP/1.x response (status line,
    /// headers, blank line, body), as HAProxy requires; or an empty file
    /// (`/dev/null`), which answers nothing and closes (for `status`).
    pub fn parse_errorfile(raw: &[u8], status: u16) -> Result<CannedResponse, String> {
        if raw.is_empty() {
            return Ok(CannedResponse {
                silent: true,
                ..CannedResponse::builtin(status)
            });
        }
        CannedResponse::parse_http(raw)
    }

    /// Parses a complete HTTP/1.x response (status line, headers, blank
    /// line, body), as HAProxy requires of an errorfile.
    pub fn parse_http(raw: &[u8]) -> Result<CannedResponse, String> {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Response::new(&mut headers);
        let header_len = match parsed.parse(raw) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                return Err("the response headers are incomplete (no blank line after them)".into())
            }
            Err(e) => return Err(format!("it is not an HTTP response: {e}")),
        };
        let status = StatusCode::from_u16(parsed.code.unwrap_or(0))
            .map_err(|_| "invalid status code".to_owned())?;
        let mut out = Vec::new();
        for h in parsed.headers.iter() {
            let name = HeaderName::from_bytes(h.name.as_bytes())
                .map_err(|_| format!("invalid header name '{}'", h.name))?;
            if name == http::header::CONTENT_LENGTH || name == http::header::CONNECTION {
                continue; // recomputed for the real body and connection
            }
            let value = HeaderValue::from_bytes(h.value)
                .map_err(|_| format!("invalid value for header '{}'", h.name))?;
            out.push((name, value));
        }
        Ok(CannedResponse {
            status,
            headers: out,
            body: Bytes::copy_from_slice(&raw[header_len..]),
            silent: false,
            length_at: 0,
        })
    }
}

/// A proxy's error responses: its `errorfile` overrides, else HAProxy's.
#[derive(Debug, Clone, Default)]
pub struct ErrorPages {
    overrides: HashMap<u16, CannedResponse>,
}

impl ErrorPages {
    pub fn new(overrides: HashMap<u16, CannedResponse>) -> Self {
        ErrorPages { overrides }
    }

    pub fn response(&self, status: u16) -> Response<ProxyBody> {
        self.canned(status).to_response()
    }

    /// The page for `status` as raw bytes on the wire, connection closing.
    pub fn wire(&self, status: u16) -> Bytes {
        self.canned(status).to_wire()
    }

    /// Whether the proxy has a page of its own for `status`.
    pub fn has(&self, status: u16) -> bool {
        self.overrides.contains_key(&status)
    }

    /// A backend's page for `status`, else the frontend's (`fallback`),
    /// else HAProxy's: the order in which HAProxy looks for a message.
    pub fn response_or(&self, fallback: &ErrorPages, status: u16) -> Response<ProxyBody> {
        match self.overrides.get(&status) {
            Some(canned) => canned.to_response(),
            None => fallback.response(status),
        }
    }

    fn canned(&self, status: u16) -> CannedResponse {
        match self.overrides.get(&status) {
            Some(canned) => canned.clone(),
            None => CannedResponse::builtin(status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pages_match_haproxy_byte_for_byte() {
        let page = CannedResponse::builtin(503);
        assert_eq!(page.status, 503);
        assert_eq!(&page.body[..], &b"<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"[..]);
        assert_eq!(
            page.body.len(),
            107,
            "HAProxy's content-length for its 503 page"
        );
        assert_eq!(CannedResponse::builtin(504).body.len(), 92);
        assert_eq!(CannedResponse::builtin(502).body.len(), 107);
    }

    #[test]
    fn pages_on_the_wire_are_haproxys_bytes() {
        let pages = ErrorPages::default();
        assert_eq!(&pages.wire(400)[..], &b"HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"[..]);
        assert_eq!(&pages.wire(408)[..], &b"HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n"[..]);
    }

    #[test]
    fn errorfiles_are_full_http_responses() {
        let page = CannedResponse::parse_http(b"HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-cache\r\nContent-Type: text/plain\r\nContent-Length: 99\r\n\r\nbusy\n").unwrap();
        assert_eq!(page.status, 503);
        assert_eq!(&page.body[..], b"busy\n");
        assert!(page
            .headers
            .iter()
            .all(|(n, _)| n != http::header::CONTENT_LENGTH));
        assert!(CannedResponse::parse_http(b"<html>oops</html>").is_err());
        assert!(CannedResponse::parse_http(b"HTTP/1.0 503 x\r\nA: b\r\n").is_err());
    }

    #[test]
    fn an_empty_errorfile_answers_nothing() {
        let page = CannedResponse::parse_errorfile(b"", 408).unwrap();
        assert!(page.silent);
        assert!(page.to_wire().is_empty());
        assert!(page
            .to_response()
            .extensions()
            .get::<SilentClose>()
            .is_some());
        assert!(CannedResponse::parse_errorfile(b"<html>", 408).is_err());
    }
}

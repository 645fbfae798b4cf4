//! A response on its way to the client, whose fields may still be a
//! server's as read (`wire::h1::server_fields`) rather than a `HeaderMap`.
//!
//! A response read on the gateway's own server connections keeps its
//! fields as the server wrote them. Field edits (`http-response` rules, a
//! persistence cookie: [`FieldsMut`]) leave them so: what the gateway adds
//! is kept apart and written after them. They are made into a map only
//! for what needs one: a trace, or hyper (which writes HTTP/2). The
//! HTTP/1 engine (`front/client_response.rs`) writes them out as they are.
//! Every way to the fields goes through this type, so none can see an
//! empty map where the server's fields are still bytes.

use bytes::Bytes;
use http::header::CONNECTION;
use http::response::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, Version};
use switchyard::wire::h1::server_fields::ServerFields;

use crate::message::body::ProxyBody;

pub struct ProxyResponse {
    parts: Parts,
    /// A server's fields not yet made into `parts.headers`. Meanwhile
    /// `parts.headers` holds what the gateway added, which goes after
    /// them (as `HeaderMap::append` would put it).
    server_fields: Option<ServerFields>,
    body: ProxyBody,
}

impl ProxyResponse {
    /// A server's response read on the gateway's own connection.
    pub fn from_server(
        status: StatusCode,
        version: Version,
        reason: Option<Bytes>,
        fields: ServerFields,
        body: ProxyBody,
    ) -> Self {
        let (mut parts, ()) = Response::new(()).into_parts();
        parts.status = status;
        parts.version = version;
        if let Some(reason) = reason {
            if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(reason) {
                parts.extensions.insert(reason);
            }
        }
        ProxyResponse {
            parts,
            server_fields: Some(fields),
            body,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.parts.status
    }

    /// The head, its fields made into a map first if need be.
    pub fn parts_mut(&mut self) -> &mut Parts {
        if let Some(fields) = self.server_fields.take() {
            let added = std::mem::replace(&mut self.parts.headers, fields.to_header_map());
            for (name, value) in &added {
                self.parts.headers.append(name, value.clone());
            }
        }
        &mut self.parts
    }

    /// Whether the response came as HTTP/1.0 with no length known, so its
    /// body ends with the connection: HTTP/1.0 has no chunking, and HAProxy
    /// passes such a response on as it came and closes after it.
    /// `head_request`: the request was `HEAD` (no body follows).
    pub fn http10_until_close(&self, head_request: bool) -> bool {
        self.parts.version == Version::HTTP_10
            && !switchyard::wire::h1::response_head::has_no_body(self.parts.status, head_request)
            && hyper::body::Body::size_hint(&self.body).exact().is_none()
            && !self.any_field_value(&http::header::CONTENT_LENGTH, |_| true)
    }

    /// Whether the response's body has a known end without chunks: a
    /// length in its fields or a body of known size.
    pub fn has_length(&self) -> bool {
        hyper::body::Body::size_hint(&self.body).exact().is_some()
            || self.any_field_value(&http::header::CONTENT_LENGTH, |_| true)
    }

    /// Whether the response is a server's HTTP/1.0 one.
    pub fn is_http10(&self) -> bool {
        self.parts.version == Version::HTTP_10
    }

    /// Adds `Connection: close` (HTTP/1: the connection closes after this
    /// response).
    pub fn close_connection(&mut self) {
        self.set_field(CONNECTION, HeaderValue::from_static("close"));
    }

    /// Whether the response says `Connection: close` (an error page or a
    /// rule: a server's `Connection` is read and left out).
    pub fn says_close(&self) -> bool {
        self.any_field_value(&CONNECTION, |v| {
            switchyard::wire::h1::lists_token(v, "close")
        })
    }

    /// Whether the response is not to be written: the connection closes
    /// without an answer (an empty errorfile, see
    /// [`crate::message::error_page::SilentClose`]).
    pub fn is_silent(&self) -> bool {
        self.parts
            .extensions
            .get::<crate::message::error_page::SilentClose>()
            .is_some()
    }

    /// Whether the head, as HTTP/1.1 writes it, fits the buffer
    /// (`tune.bufsize`; see `wire::h1::buffer_limits`).
    pub fn head_fits(&self) -> bool {
        use switchyard::wire::h1::buffer_limits::{head_len, max_rewritten};
        let line = "HTTP/1.1 200 ".len() + self.reason().len();
        let len = match &self.server_fields {
            Some(fields) => head_len(line, fields.iter().chain(self.added_fields())),
            None => head_len(line, self.added_fields()),
        };
        len <= max_rewritten()
    }

    /// The reason phrase: the server's as it came, else the status's own.
    fn reason(&self) -> &[u8] {
        self.parts
            .extensions
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| r.as_bytes())
            .or(self.parts.status.canonical_reason().map(str::as_bytes))
            .unwrap_or_default()
    }

    /// The fields the gateway added (all of them, for its own answers).
    fn added_fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()))
    }

    /// The head as HAProxy counts it in `%B` (`log::htx_size`), with the
    /// end of a chunked body (whose framing field the gateway read and
    /// left out) counted too. The body's data is counted as it passes.
    pub fn htx_size(&self) -> u64 {
        use crate::log::htx_size;
        let version: &[u8] = match self.parts.version {
            Version::HTTP_10 => b"HTTP/1.0",
            Version::HTTP_2 => b"HTTP/2.0",
            _ => b"HTTP/1.1",
        };
        let line = [
            version,
            self.parts.status.as_str().as_bytes(),
            self.reason(),
        ];
        let head = match &self.server_fields {
            Some(fields) => {
                htx_size::head(line, fields.iter().chain(self.added_fields()))
                    + fields.left_out_size()
            }
            None => htx_size::head(line, self.added_fields()),
        };
        let chunked = self.parts.version == Version::HTTP_11
            && hyper::body::Body::size_hint(&self.body).exact() != Some(0)
            && !self.any_field_value(&http::header::CONTENT_LENGTH, |_| true);
        head + if chunked {
            htx_size::CHUNKED_FIELD_AND_END
        } else {
            0
        }
    }

    /// Whether the body's ends are still to run (`ProxyBody::ends_pending`).
    pub fn ends_pending(&self) -> bool {
        self.body.ends_pending()
    }

    /// Something the gateway attaches to the response for its own use.
    pub fn insert_extension<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        self.parts.extensions.insert(value);
    }

    /// What [`ProxyResponse::insert_extension`] attached, if anything.
    pub fn extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.parts.extensions.get::<T>()
    }

    /// The same response with its body changed by `f`.
    pub fn map_body(mut self, f: impl FnOnce(ProxyBody) -> ProxyBody) -> Self {
        self.body = f(self.body);
        self
    }

    /// As an `http::Response`, for hyper.
    pub fn into_http(mut self) -> Response<ProxyBody> {
        self.parts_mut();
        let status = self.parts.status;
        let zero_length = self.parts.headers.get(http::header::CONTENT_LENGTH)
            == Some(&HeaderValue::from_static("0"));
        // Only a body with nothing attached: a streamed one's ends must
        // run when hyper has written it.
        let plain_empty = match &self.body {
            ProxyBody::Empty => true,
            ProxyBody::Full(_) => hyper::body::Body::is_end_stream(&self.body),
            _ => false,
        };
        if zero_length
            && plain_empty
            && !(status.is_informational()
                || status == StatusCode::NO_CONTENT
                || status == StatusCode::NOT_MODIFIED)
        {
            // Keeps `Content-Length: 0` where it is (`ProxyBody::EmptyPolled`).
            self.body = ProxyBody::EmptyPolled;
        }
        Response::from_parts(self.parts, self.body)
    }

    /// For writing out: the head, the server's fields still as read (they
    /// go before `parts.headers`), and the body.
    pub fn into_wire(self) -> (Parts, Option<ServerFields>, ProxyBody) {
        (self.parts, self.server_fields, self.body)
    }
}

/// Reading and editing response fields by name, on a `HeaderMap` or on a
/// [`ProxyResponse`] without making its server's fields into one.
pub trait FieldsMut {
    /// Whether a value of the fields named `name` passes `test`.
    fn any_field_value(&self, name: &HeaderName, test: impl FnMut(&[u8]) -> bool) -> bool;
    /// The values of the fields named `name`, in order.
    fn field_values(&self, name: &HeaderName) -> Vec<HeaderValue>;
    /// Adds a field after the others.
    fn append_field(&mut self, name: HeaderName, value: HeaderValue);
    /// Replaces the fields named `name` by one.
    fn set_field(&mut self, name: HeaderName, value: HeaderValue);
    /// Removes the fields named `name`.
    fn remove_field(&mut self, name: &HeaderName);
    /// Removes every field whose (lowercase) name passes `test`, the
    /// others keeping their order.
    fn remove_fields_where(&mut self, test: impl Fn(&str) -> bool);
}

impl FieldsMut for HeaderMap {
    fn any_field_value(&self, name: &HeaderName, mut test: impl FnMut(&[u8]) -> bool) -> bool {
        self.get_all(name).iter().any(|v| test(v.as_bytes()))
    }

    fn field_values(&self, name: &HeaderName) -> Vec<HeaderValue> {
        self.get_all(name).iter().cloned().collect()
    }

    fn append_field(&mut self, name: HeaderName, value: HeaderValue) {
        self.append(name, value);
    }

    /// As HAProxy's `set-header`: the old fields go, the new one goes last.
    fn set_field(&mut self, name: HeaderName, value: HeaderValue) {
        self.remove_field(&name);
        self.append(name, value);
    }

    fn remove_field(&mut self, name: &HeaderName) {
        if self.contains_key(name) {
            self.remove_fields_where(|n| n == name.as_str());
        }
    }

    /// `HeaderMap::remove` moves the last field into the removed one's
    /// place, which would reorder what the client sees: the map is rebuilt
    /// instead, in order (only when a field goes).
    fn remove_fields_where(&mut self, test: impl Fn(&str) -> bool) {
        if !self.keys().any(|n| test(n.as_str())) {
            return;
        }
        let old = std::mem::take(self);
        self.reserve(old.len());
        let mut current: Option<HeaderName> = None;
        for (name, value) in old {
            if let Some(name) = name {
                current = Some(name);
            }
            let name = current.as_ref().expect("the first entry has a name");
            if !test(name.as_str()) {
                self.append(name.clone(), value);
            }
        }
    }
}

impl FieldsMut for ProxyResponse {
    fn any_field_value(&self, name: &HeaderName, mut test: impl FnMut(&[u8]) -> bool) -> bool {
        let server = self.server_fields.as_ref();
        server.is_some_and(|f| f.values(name.as_str()).any(&mut test))
            || self.parts.headers.any_field_value(name, test)
    }

    fn field_values(&self, name: &HeaderName) -> Vec<HeaderValue> {
        let mut values: Vec<HeaderValue> = self
            .server_fields
            .iter()
            .flat_map(|f| f.values(name.as_str()))
            .filter_map(|v| HeaderValue::from_bytes(v).ok())
            .collect();
        values.extend(self.parts.headers.field_values(name));
        values
    }

    fn append_field(&mut self, name: HeaderName, value: HeaderValue) {
        self.parts.headers.append(name, value);
    }

    fn set_field(&mut self, name: HeaderName, value: HeaderValue) {
        if let Some(fields) = self.server_fields.as_mut() {
            fields.remove(name.as_str());
        }
        self.parts.headers.insert(name, value);
    }

    fn remove_field(&mut self, name: &HeaderName) {
        if let Some(fields) = self.server_fields.as_mut() {
            fields.remove(name.as_str());
        }
        self.parts.headers.remove(name);
    }

    fn remove_fields_where(&mut self, test: impl Fn(&str) -> bool) {
        if let Some(fields) = self.server_fields.as_mut() {
            fields.retain(|n, _| !std::str::from_utf8(n).is_ok_and(&test));
        }
        self.parts.headers.remove_fields_where(test);
    }
}

impl From<Response<ProxyBody>> for ProxyResponse {
    fn from(response: Response<ProxyBody>) -> Self {
        let (parts, body) = response.into_parts();
        ProxyResponse {
            parts,
            server_fields: None,
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_server(head: &'static str) -> ProxyResponse {
        let mut buf = bytes::BytesMut::from(head);
        let head = switchyard::wire::h1::response_head::take(&mut buf, false)
            .unwrap()
            .unwrap();
        ProxyResponse::from_server(
            head.status,
            head.version,
            head.reason,
            head.fields,
            ProxyBody::Empty,
        )
    }

    #[test]
    fn the_map_holds_the_servers_fields_then_the_gateways() {
        let mut r = from_server("HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 0\r\nX-A: 2\r\n\r\n");
        assert!(!r.says_close());
        r.close_connection();
        assert!(r.says_close());
        let names: Vec<String> = r
            .parts_mut()
            .headers
            .iter()
            .map(|(n, v)| format!("{n}={}", v.to_str().unwrap()))
            .collect();
        assert_eq!(
            names,
            ["x-a=1", "x-a=2", "content-length=0", "connection=close"]
        );
        let http = r.into_http();
        assert_eq!(http.headers().len(), 4);
    }

    /// The head as the HTTP/1 engine writes it, and as hyper would get it.
    fn written(r: ProxyResponse) -> (String, Vec<String>) {
        let mut copy = ProxyResponse {
            parts: r.parts.clone_head(),
            server_fields: r.server_fields.clone(),
            body: ProxyBody::Empty,
        };
        let (parts, fields, _) = r.into_wire();
        let mut out = Vec::new();
        switchyard::wire::h1::response_encode::encode_head(
            parts.version,
            parts.status,
            None,
            fields.as_ref(),
            &parts.headers,
            switchyard::wire::h1::response_encode::BodyFraming::AsFields,
            &mut out,
        );
        let map = copy
            .parts_mut()
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap()))
            .collect();
        (String::from_utf8(out).unwrap(), map)
    }

    trait CloneHead {
        fn clone_head(&self) -> Parts;
    }

    impl CloneHead for Parts {
        fn clone_head(&self) -> Parts {
            let (mut parts, ()) = Response::new(()).into_parts();
            parts.status = self.status;
            parts.headers = self.headers.clone();
            parts
        }
    }

    #[test]
    fn edits_leave_the_servers_fields_as_read_and_agree_with_the_map() {
        let mut r = from_server(
            "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nCache-Control: public\r\nX-Drop: 1\r\nContent-Length: 0\r\n\r\n",
        );
        let set_cookie = http::header::SET_COOKIE;
        assert!(r.any_field_value(&set_cookie, |v| v == b"a=1"));
        r.append_field(set_cookie.clone(), HeaderValue::from_static("SRV=s1"));
        r.set_field(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("private"),
        );
        r.remove_field(&HeaderName::from_static("x-drop"));
        assert_eq!(r.field_values(&set_cookie), ["a=1", "SRV=s1"]);
        assert!(r.server_fields.is_some(), "no map was made");
        let (wire, map) = written(r);
        assert_eq!(
            wire,
            "HTTP/1.1 200 OK\r\nset-cookie: a=1\r\ncontent-length: 0\r\n\
             set-cookie: SRV=s1\r\ncache-control: private\r\n\r\n"
        );
        assert_eq!(
            map,
            [
                "set-cookie: a=1",
                "set-cookie: SRV=s1",
                "content-length: 0",
                "cache-control: private"
            ]
        );
    }

    #[test]
    fn fields_removed_by_a_name_test_leave_the_others_in_order() {
        let mut r = from_server(
            "HTTP/1.1 200 OK\r\nX-Beg1: 1\r\nX-Keep: k\r\nX-Beg2: 2\r\nContent-Length: 0\r\n\r\n",
        );
        r.append_field(
            HeaderName::from_static("x-beg3"),
            HeaderValue::from_static("3"),
        );
        r.remove_fields_where(|n| n.starts_with("x-beg"));
        let (wire, map) = written(r);
        assert_eq!(
            wire,
            "HTTP/1.1 200 OK\r\nx-keep: k\r\ncontent-length: 0\r\n\r\n"
        );
        assert_eq!(map, ["x-keep: k", "content-length: 0"]);
    }

    #[test]
    fn removing_from_a_map_keeps_the_other_fields_in_order() {
        let mut map = HeaderMap::new();
        for (n, v) in [
            ("x-beg1", "1"),
            ("x-a", "a"),
            ("content-length", "2"),
            ("x-z", "z"),
        ] {
            map.append(n, HeaderValue::from_static(v));
        }
        map.remove_fields_where(|n| n.starts_with("x-beg"));
        map.set_field(
            HeaderName::from_static("x-a"),
            HeaderValue::from_static("b"),
        );
        let names: Vec<&str> = map.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["content-length", "x-z", "x-a"]);
    }

    #[test]
    fn an_unusual_reason_travels_with_the_head() {
        let r = from_server("HTTP/1.1 299 Fine\r\nContent-Length: 0\r\n\r\n");
        let (parts, fields, _) = r.into_wire();
        assert_eq!(
            parts
                .extensions
                .get::<hyper::ext::ReasonPhrase>()
                .map(|r| r.as_bytes()),
            Some(&b"Fine"[..])
        );
        assert_eq!(fields.map(|f| f.len()), Some(1));
        assert!(parts.headers.is_empty());
    }
}

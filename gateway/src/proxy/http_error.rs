//! `http-error status CODE …` messages as pages the gateway can send for
//! its own errors. A message with log-format parts (`lf-string`, `lf-file`,
//! a `hdr` with `%[…]`) needs the request: the rules engine renders it, for
//! the answers of `http-request` rules and, with the request head kept for
//! it, for the errors the gateway answers outside the rules
//! ([`OUTSIDE_RULES`], `HttpProxy::error_response`).

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use std::collections::HashMap;
use switchyard_grammar::ast::http_rule::{ReturnBody, ReturnSpec};
use switchyard_grammar::ast::log_format::{LogFormat, LogFormatPart};

use crate::message::error_page::CannedResponse;

/// The text of a format with no sample or variable in it.
fn literal(format: &LogFormat) -> Option<String> {
    format
        .parts
        .iter()
        .try_fold(String::new(), |mut out, part| {
            match part {
                LogFormatPart::Literal(s) => out.push_str(s),
                _ => return None,
            }
            Some(out)
        })
}

/// The statuses the gateway answers outside the rules: a server's failure
/// (500, 502, 503, 504) and a request refused by `option
/// http-restrict-req-hdr-names reject` (403).
pub const OUTSIDE_RULES: [u16; 5] = [403, 500, 502, 503, 504];

/// Whether `proxy` has a message with log-format parts for one of
/// [`OUTSIDE_RULES`].
pub fn has_dynamic(proxy: &switchyard_grammar::ast::proxy::Proxy) -> bool {
    proxy
        .http_errors
        .iter()
        .any(|m| OUTSIDE_RULES.contains(&m.spec.status) && is_dynamic(&m.spec))
}

/// Whether the message needs the request to be written.
pub fn is_dynamic(spec: &ReturnSpec) -> bool {
    matches!(spec.body, ReturnBody::LfString(_) | ReturnBody::LfFile(_))
        && !matches!(&spec.body, ReturnBody::LfString(f) if literal(f).is_some())
        || spec.headers.iter().any(|(_, f)| literal(f).is_none())
}

/// The message as a page, in HAProxy's field order (the `hdr` fields,
/// `content-length`, then `content-type` with a payload); `None` for a
/// dynamic one.
pub fn canned(
    spec: &ReturnSpec,
    files: &HashMap<String, Vec<u8>>,
) -> Option<Result<CannedResponse, String>> {
    if is_dynamic(spec) {
        return None;
    }
    let body = match &spec.body {
        ReturnBody::String(s) => Bytes::from(s.clone()),
        ReturnBody::LfString(f) => Bytes::from(literal(f).unwrap_or_default()),
        ReturnBody::File(w) => match files.get(&w.text) {
            Some(bytes) => Bytes::from(bytes.clone()),
            None => return Some(Err(format!("file {} was not loaded", w.text))),
        },
        // The file forms are `errorfile` entries (grammar); an lf-file is
        // dynamic.
        _ => Bytes::new(),
    };
    Some(build(spec, body))
}

fn build(spec: &ReturnSpec, body: Bytes) -> Result<CannedResponse, String> {
    let mut headers = Vec::new();
    for (name, format) in &spec.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name '{name}'"))?;
        let value = HeaderValue::from_str(&literal(format).unwrap_or_default())
            .map_err(|_| format!("invalid value for header '{name}'"))?;
        headers.push((name, value));
    }
    let length_at = headers.len();
    if let (Some(content_type), false) = (&spec.content_type, body.is_empty()) {
        let value = HeaderValue::from_str(content_type)
            .map_err(|_| format!("invalid content-type '{content_type}'"))?;
        headers.push((http::header::CONTENT_TYPE, value));
    }
    Ok(CannedResponse {
        status: StatusCode::from_u16(spec.status).map_err(|e| e.to_string())?,
        headers,
        body,
        silent: false,
        length_at,
    })
}

impl super::HttpProxy {
    /// The answer to an error of the gateway's own outside the rules, in
    /// HAProxy's order of messages: the backend's (rendered when it has
    /// log-format parts and the request head was kept for it), then the
    /// frontend's, then HAProxy's built-in page.
    pub(super) fn error_response(
        &self,
        route: Option<&super::BackendRoute>,
        status: u16,
        request: Option<&http::request::Parts>,
        conn: &super::ClientConn,
    ) -> http::Response<crate::message::body::ProxyBody> {
        if let Some(request) = request {
            if let Some(route) = route {
                if route.dynamic_errors {
                    let rendered = self.router.error_message(
                        &route.backend.name,
                        false,
                        status,
                        request,
                        conn,
                    );
                    if let Some(response) = rendered {
                        return response;
                    }
                }
                if route.errors.has(status) {
                    return route.errors.response(status);
                }
            }
            if self.dynamic_errors {
                if let Some(response) = self
                    .router
                    .error_message(&self.name, true, status, request, conn)
                {
                    return response;
                }
            }
        }
        match route {
            Some(route) => route.errors.response_or(&self.errors, status),
            None => self.errors.response(status),
        }
    }

    /// Whether an error answered outside the rules may need the request
    /// head (see [`HttpProxy::error_response`]).
    pub(super) fn errors_need_request(&self, route: Option<&super::BackendRoute>) -> bool {
        self.dynamic_errors || route.is_some_and(|r| r.dynamic_errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_grammar::word::Word;

    fn spec(body: ReturnBody, headers: Vec<(String, LogFormat)>) -> ReturnSpec {
        ReturnSpec {
            status: 503,
            content_type: Some("text/plain".into()),
            body,
            headers,
        }
    }

    fn format(text: &str) -> LogFormat {
        LogFormat::parse(&Word::new(text, switchyard_grammar::Span::default())).unwrap()
    }

    #[test]
    fn a_static_message_is_a_page_in_haproxys_field_order() {
        let s = spec(
            ReturnBody::String("busy".into()),
            vec![("x-a".into(), format("b"))],
        );
        let page = canned(&s, &HashMap::new()).unwrap().unwrap();
        let response = page.to_response();
        let names: Vec<_> = response.headers().keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["x-a", "content-length", "content-type"]);
        assert_eq!(response.headers()["content-length"], "4");
    }

    #[test]
    fn an_empty_message_has_no_content_type() {
        let s = spec(ReturnBody::None, Vec::new());
        let page = canned(&s, &HashMap::new()).unwrap().unwrap();
        let response = page.to_response();
        assert_eq!(response.headers()["content-length"], "0");
        assert!(response.headers().get("content-type").is_none());
    }

    #[test]
    fn a_message_with_samples_needs_the_request() {
        let body = ReturnBody::LfString(format("path %[path]"));
        assert!(is_dynamic(&spec(body, Vec::new())));
        let header = vec![("x-p".into(), format("%[path]"))];
        assert!(is_dynamic(&spec(ReturnBody::None, header)));
        assert!(canned(
            &spec(ReturnBody::LfString(format("plain")), Vec::new()),
            &HashMap::new()
        )
        .is_some());
    }
}

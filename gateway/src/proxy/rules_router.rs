//! The [`Router`] of a frontend, backed by the `rules` crate: the request
//! path asks the same `RuleSet::decide` that `switchyard test` asks.

use std::net::SocketAddr;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue};
use http::request::Parts;
use http::{Response, StatusCode};
use switchyard_rules::vars::Vars;
use switchyard_rules::{Answer, Outcome, RequestFacts, ResponseEdit, RuleSet, TlsFacts};

use crate::message::body::ProxyBody;
use crate::message::error_page::{CannedResponse, ErrorPages};
use crate::message::response::{FieldsMut, ProxyResponse};
use crate::message::target::absolute_target;
use crate::proxy::routing::{Router, Verdict};
use crate::proxy::ClientConn;

/// hyper's request head seen through the rules' eyes, without copying.
pub struct PartsFacts<'a> {
    parts: &'a Parts,
    src: SocketAddr,
    dst: SocketAddr,
    /// The client connection's TLS, for `ssl_fc*`.
    tls: Option<&'a TlsFacts>,
    /// The server that answered, for `srv_name`/`srv_id` in
    /// `http-response` rules.
    server: Option<&'a ServedBy>,
    /// An HTTP/1 absolute-form target as received (`http::Uri` has no
    /// string of the whole); `None` for the usual origin form.
    absolute: Option<String>,
    /// The transaction's variables, when the rules use any.
    vars: Option<&'a Arc<Vars>>,
}

impl<'a> PartsFacts<'a> {
    pub fn new(parts: &'a Parts, conn: &'a ClientConn) -> PartsFacts<'a> {
        PartsFacts {
            parts,
            src: conn.peer,
            dst: conn.local,
            tls: conn.tls.as_deref(),
            server: None,
            absolute: absolute_target(parts),
            vars: parts.extensions.get::<Arc<Vars>>(),
        }
    }

    /// The same facts with the server that answered.
    pub fn with_server(mut self, server: Option<&'a ServedBy>) -> PartsFacts<'a> {
        self.server = server;
        self
    }
}

/// The server a response came from: its name and id (HAProxy's numbering,
/// `stats/ids.rs`). Put on the response only when `http-response` rules
/// will read it.
#[derive(Debug, Clone)]
pub struct ServedBy {
    pub name: String,
    pub id: u32,
}

impl RequestFacts for PartsFacts<'_> {
    fn method(&self) -> &str {
        self.parts.method.as_str()
    }
    fn target(&self) -> &str {
        if let Some(absolute) = &self.absolute {
            return absolute;
        }
        self.parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/")
    }
    fn version(&self) -> &str {
        match self.parts.version {
            http::Version::HTTP_10 => "1.0",
            http::Version::HTTP_2 => "2.0",
            http::Version::HTTP_3 => "3.0",
            _ => "1.1",
        }
    }
    fn for_each_header<'s>(&'s self, f: &mut dyn FnMut(&'s str, &'s [u8])) {
        for (name, value) in &self.parts.headers {
            f(name.as_str(), value.as_bytes());
        }
    }
    fn src(&self) -> SocketAddr {
        self.src
    }
    fn dst(&self) -> SocketAddr {
        self.dst
    }
    fn tls(&self) -> Option<&TlsFacts> {
        self.tls
    }
    fn server(&self) -> Option<(&str, u32)> {
        self.server.map(|s| (s.name.as_str(), s.id))
    }
    fn vars(&self) -> Option<&Arc<Vars>> {
        self.vars
    }
}

pub struct RulesRouter {
    frontend: String,
    rules: Arc<RuleSet>,
    errors: ErrorPages,
    /// Sections with `http-response` rules (most configurations have
    /// none): asked per request, so not by a lookup.
    with_response_rules: Vec<String>,
    /// Whether the frontend has `http-after-response` rules.
    after_response: bool,
}

impl Router for RulesRouter {
    fn begin(&self, parts: &mut Parts, conn: &ClientConn) {
        if self.rules.uses_vars() {
            let vars = Vars::new(self.rules.proc_vars().clone(), conn.sess_vars().clone());
            parts.extensions.insert(Arc::new(vars));
        }
    }

    fn has_after_response(&self) -> bool {
        self.after_response
    }

    fn after_response(&self, request: &Parts, conn: &ClientConn, response: &mut ProxyResponse) {
        let facts = PartsFacts::new(request, conn);
        let edits = self.rules.after_response_edits(&self.frontend, &facts);
        apply_edits(edits, response);
    }

    fn route(&self, parts: &mut Parts, conn: &ClientConn) -> Verdict {
        let decision = {
            let facts = PartsFacts::new(parts, conn);
            match self.rules.decide(&self.frontend, &facts) {
                Some(d) => d,
                None => return Verdict::NoBackend,
            }
        };
        if let Some(rewritten) = decision.rewritten {
            apply_rewrite(parts, rewritten);
            // `tune.bufsize`: what the rules added must fit in the buffer
            // (HAProxy's strict mode: 500 when it does not).
            if !switchyard::wire::h1::buffer_limits::request_fits(parts) {
                let response = self
                    .error_message(&self.frontend, true, 500, parts, conn)
                    .unwrap_or_else(|| self.errors.response(500));
                return Verdict::Respond {
                    denied: false,
                    response,
                };
            }
        }
        if !decision.captures.is_empty() {
            let captured = super::capture::RuleCaptures(decision.captures);
            parts.extensions.insert(captured);
        }
        match decision.outcome {
            Outcome::Backend(name) => Verdict::Backend(name, decision.persist),
            Outcome::NoBackend => Verdict::NoBackend,
            Outcome::Answer(answer) => Verdict::Respond {
                denied: matches!(
                    answer.kind,
                    switchyard_rules::decision::AnswerKind::Deny
                        | switchyard_rules::decision::AnswerKind::Reject
                ),
                response: self.answer(answer),
            },
            // Only prometheus-exporter parses; the request path serves it
            // (`stats/prometheus.rs`).
            Outcome::Service(name) => Verdict::Service(name),
        }
    }

    fn has_response_rules(&self, backend: &str) -> bool {
        self.with_response_rules
            .iter()
            .any(|p| *p == self.frontend || p == backend)
    }

    fn on_response(
        &self,
        backend: &str,
        request: &Parts,
        conn: &ClientConn,
        response: &mut ProxyResponse,
    ) {
        let served_by = response.extension::<ServedBy>().cloned();
        let facts = PartsFacts::new(request, conn).with_server(served_by.as_ref());
        apply_edits(
            self.rules.response_edits(&self.frontend, backend, &facts),
            response,
        );
        // `tune.bufsize`: what the rules added must fit in the buffer
        // (HAProxy's strict mode: 500 when it does not).
        if !response.head_fits() {
            let rendered = self
                .error_message(backend, false, 500, request, conn)
                .or_else(|| self.error_message(&self.frontend, true, 500, request, conn));
            *response = rendered.unwrap_or_else(|| self.errors.response(500)).into();
        }
    }

    fn error_message(
        &self,
        section: &str,
        frontend: bool,
        status: u16,
        request: &Parts,
        conn: &ClientConn,
    ) -> Option<Response<ProxyBody>> {
        let facts = PartsFacts::new(request, conn);
        let answer = self
            .rules
            .error_message(section, frontend, status, &facts)?;
        Some(self.answer(answer))
    }
}

impl RulesRouter {
    pub fn new(frontend: String, rules: Arc<RuleSet>, errors: ErrorPages) -> RulesRouter {
        let with_response_rules = rules.with_response_rules().map(str::to_owned).collect();
        let after_response = rules.has_after_response(&frontend);
        RulesRouter {
            frontend,
            rules,
            errors,
            with_response_rules,
            after_response,
        }
    }

    fn answer(&self, answer: Answer) -> Response<ProxyBody> {
        if answer.kind == switchyard_rules::decision::AnswerKind::Reject {
            // Nothing is written: both engines drop the connection.
            let mut response = Response::new(ProxyBody::Empty);
            *response.status_mut() = StatusCode::FORBIDDEN;
            response
                .extensions_mut()
                .insert(crate::message::error_page::SilentClose);
            return response;
        }
        let mut response = match (&answer.body, answer.raw_http) {
            (None, _) => self.errors.response(answer.status),
            (Some(raw), true) => match CannedResponse::parse_errorfile(raw, answer.status) {
                Ok(canned) => canned.to_response(),
                Err(_) => self.errors.response(500),
            },
            (Some(body), false) => {
                let mut r = Response::new(ProxyBody::full(body.clone()));
                *r.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
                r
            }
        };
        *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
        // In the rules' order, which is HAProxy's (its `content-length`
        // included: the body is the one the rules made).
        for (name, value) in answer.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                response.headers_mut().append(n, v);
            }
        }
        response
    }
}

/// Applies response-side rules' edits, in order.
fn apply_edits(edits: Vec<ResponseEdit>, response: &mut ProxyResponse) {
    for edit in edits {
        match edit {
            ResponseEdit::Status(code, reason) => {
                let parts = response.parts_mut();
                if let Ok(status) = StatusCode::from_u16(code) {
                    parts.status = status;
                }
                match reason.and_then(|r| hyper::ext::ReasonPhrase::try_from(r.into_bytes()).ok()) {
                    Some(phrase) => {
                        parts.extensions.insert(phrase);
                    }
                    None => {
                        parts.extensions.remove::<hyper::ext::ReasonPhrase>();
                    }
                }
            }
            ResponseEdit::Set(name, value) => {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    response.set_field(n, v);
                }
            }
            ResponseEdit::Add(name, value) => {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    response.append_field(n, v);
                }
            }
            ResponseEdit::Del(matcher) => match matcher.exact_name() {
                Some(name) => {
                    if let Ok(n) = HeaderName::from_bytes(name.as_bytes()) {
                        response.remove_field(&n);
                    }
                }
                None => response.remove_fields_where(|n| matcher.matches(n)),
            },
        }
    }
}

/// Puts the rules' rewritten method, target and headers into `parts`.
fn apply_rewrite(parts: &mut Parts, rewritten: switchyard_rules::OwnedRequest) {
    if let Ok(method) = http::Method::from_bytes(rewritten.method.as_bytes()) {
        parts.method = method;
    }
    if let Ok(uri) = rewritten.target.parse() {
        parts.uri = uri;
    }
    let mut headers = http::HeaderMap::with_capacity(rewritten.headers.len());
    for (name, value) in rewritten.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.append(n, v);
        }
    }
    parts.headers = headers;
}

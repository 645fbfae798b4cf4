//! The seam between the request path and the rules engine: what the proxy
//! asks of a frontend's rules, and what it gets back.

use http::request::Parts;
use http::Response;

use switchyard_rules::decision::PersistOverride;

use crate::message::body::ProxyBody;
use crate::message::response::ProxyResponse;
use crate::proxy::ClientConn;

/// What the rules decided for a request.
pub enum Verdict {
    /// Forward to this backend (the request has been edited already), with
    /// what its `force-persist`/`ignore-persist` rules said.
    Backend(String, Option<PersistOverride>),
    /// Answer directly: deny, return, redirect, auth challenge…; `denied`
    /// for a deny (the log's `PR`, the others' being `LR`).
    Respond {
        response: Response<ProxyBody>,
        denied: bool,
    },
    /// No rule chose a backend and there is no `default_backend`.
    NoBackend,
    /// `http-request use-service NAME`.
    Service(String),
}

/// A frontend's compiled rules.
pub trait Router: Send + Sync {
    /// Prepares a request before anything answers it: its variables,
    /// when the rules use any.
    fn begin(&self, _request: &mut Parts, _conn: &ClientConn) {}

    /// Whether [`Router::after_response`] has anything to do (so the
    /// request head is kept only when needed).
    fn has_after_response(&self) -> bool {
        false
    }

    /// Runs the frontend's `http-after-response` rules on any response,
    /// the gateway's own included.
    fn after_response(&self, _request: &Parts, _conn: &ClientConn, _response: &mut ProxyResponse) {}

    /// Runs `http-request` rules, the switching rules and the chosen
    /// backend's `http-request` rules; may edit the request.
    fn route(&self, request: &mut Parts, conn: &ClientConn) -> Verdict;

    /// Whether [`Router::on_response`] has anything to do for `backend`
    /// (so the request head is kept only when needed).
    fn has_response_rules(&self, backend: &str) -> bool;

    /// Runs `http-response` rules of the backend and the frontend.
    fn on_response(
        &self,
        backend: &str,
        request: &Parts,
        conn: &ClientConn,
        response: &mut ProxyResponse,
    );

    /// The `http-error status STATUS` message of one section (a backend,
    /// or the frontend when `frontend`) rendered for `request`, when the
    /// section has one: the gateway's own errors outside the rules (a
    /// server's failure, a refused header name) with log-format parts.
    fn error_message(
        &self,
        _section: &str,
        _frontend: bool,
        _status: u16,
        _request: &Parts,
        _conn: &ClientConn,
    ) -> Option<http::Response<crate::message::body::ProxyBody>> {
        None
    }
}

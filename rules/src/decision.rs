//! What the rules decided for one request, and the trace `explain` prints.

use switchyard_grammar::Span;

use crate::request::OwnedRequest;

/// A response the gateway writes itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Headers to send, in order.
    pub headers: Vec<(String, String)>,
    /// `None`: use the proxy's error page for `status` (errorfile or built-in).
    pub body: Option<Vec<u8>>,
    /// The body is a complete HTTP response (an `errorfile`).
    pub raw_http: bool,
    pub kind: AnswerKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    Deny,
    /// `http-request reject`: no answer, the connection is closed.
    Reject,
    Return,
    Redirect,
    Auth,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Forward to this backend.
    Backend(String),
    /// Answer directly.
    Answer(Answer),
    /// `http-request use-service NAME`.
    Service(String),
    /// No rule chose a backend and there is no default: 503.
    NoBackend,
}

/// What a matching `force-persist` or `ignore-persist` rule of the chosen
/// backend says about the persistence cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersistOverride {
    /// Use the cookie's server even when it is down.
    Force,
    /// Neither read the cookie nor set one.
    Ignore,
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub outcome: Outcome,
    /// The request as rewritten by `http-request` actions, when any applied.
    pub rewritten: Option<OwnedRequest>,
    /// The line that decided the outcome (`use_backend`, `deny`, …), or the
    /// `default_backend` line.
    pub rule: Option<Span>,
    /// The chosen backend's first matching `force-persist`/`ignore-persist`.
    pub persist: Option<PersistOverride>,
}

impl Decision {
    pub fn backend(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Backend(b) => Some(b),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match &self.outcome {
            Outcome::Answer(a) => Some(a.status),
            Outcome::NoBackend => Some(503),
            _ => None,
        }
    }
}

/// One ACL as evaluated for a request.
#[derive(Debug, Clone)]
pub struct AclTrace {
    pub name: String,
    /// What the fetch returned (after converters), as text.
    pub fetched: Vec<String>,
    pub result: bool,
}

/// One rule as evaluated.
#[derive(Debug, Clone)]
pub struct RuleTrace {
    pub proxy: String,
    pub span: Span,
    /// `http-request`, `redirect`, `use_backend`, `default_backend`.
    pub kind: &'static str,
    /// Whether its condition held (true when it has none).
    pub matched: bool,
    pub acls: Vec<AclTrace>,
}

#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub rules: Vec<RuleTrace>,
}

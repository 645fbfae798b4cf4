//! What the rules decided for one request, and the trace `explain` prints.

use switchyard_grammar::Span;

use crate::request::OwnedRequest;

/// A response the gateway writes itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status line's code.
    pub status: u16,
    /// Headers to send, in order.
    pub headers: Vec<(String, String)>,
    /// `None`: use the proxy's error page for `status` (errorfile or built-in).
    pub body: Option<Vec<u8>>,
    /// The body is a complete HTTP response (an `errorfile`).
    pub raw_http: bool,
    /// Which kind of rule made the answer (logs and the gateway's reaction
    /// depend on it).
    pub kind: AnswerKind,
}

/// The kind of rule that answered a request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    /// `http-request deny`: 403 unless `deny_status` says otherwise.
    Deny,
    /// `http-request reject`: no answer, the connection is closed.
    Reject,
    /// `http-request return`.
    Return,
    /// `redirect` or `http-request redirect`.
    Redirect,
    /// `http-request auth`: 401 with a `WWW-Authenticate` challenge.
    Auth,
}

/// Where the rules send a request.
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

/// Everything the rules decided for one request: where it goes, how it was
/// rewritten, which line decided, and what the backend's persistence rules
/// say.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Where the request goes.
    pub outcome: Outcome,
    /// The request as rewritten by `http-request` actions, when any applied.
    pub rewritten: Option<OwnedRequest>,
    /// The line that decided the outcome (`use_backend`, `deny`, …), or the
    /// `default_backend` line.
    pub rule: Option<Span>,
    /// The chosen backend's first matching `force-persist`/`ignore-persist`.
    pub persist: Option<PersistOverride>,
    /// `http-request capture` results: the frontend's request slot and the
    /// text (not yet cut to the slot's length), in the order captured.
    pub captures: Vec<(usize, String)>,
}

impl Decision {
    /// The backend's name when the outcome is one.
    pub fn backend(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Backend(b) => Some(b),
            _ => None,
        }
    }

    /// The status the gateway answers with by itself (an answer's, or 503 for
    /// no backend); `None` when the request is forwarded or served.
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
    /// The ACL's name; an anonymous one (`{ fetch … }`) by its fetch in braces.
    pub name: String,
    /// What the fetch returned (after converters), as text.
    pub fetched: Vec<String>,
    /// Whether any of the ACL's lines matched.
    pub result: bool,
}

/// One rule as evaluated.
#[derive(Debug, Clone)]
pub struct RuleTrace {
    /// The section the rule sits in.
    pub proxy: String,
    /// Where the rule is written.
    pub span: Span,
    /// `http-request`, `redirect`, `use_backend`, `default_backend`.
    pub kind: &'static str,
    /// Whether its condition held (true when it has none).
    pub matched: bool,
    /// The ACLs its condition evaluated, in order (evaluation stops early, as
    /// HAProxy's does, so later ones may be missing).
    pub acls: Vec<AclTrace>,
}

/// Every rule evaluated for one request, in order: what `explain` prints.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// The rules in the order they ran.
    pub rules: Vec<RuleTrace>,
}

//! Health-check rule sequences: `http-check connect|send|expect|comment`
//! as HAProxy 2.6 runs them (`tcpcheck.c`): rules in order, each `connect`
//! opening a new connection, each `send` writing a request, each `expect`
//! judging the answer to the last one. The model is shared with the
//! rule-based checks to come (`tcp-check`): a step is a connect, a send or
//! an expect whatever the protocol; only the send's payload and the
//! expect's matcher are protocol-specific.

use crate::ast::log_format::LogFormat;
use crate::ast::proxy::HttpCheckSend;
use crate::span::Span;
use crate::word::Word;

/// One rule of a check sequence, with the `comment` that precedes it or
/// that it carries (reported when it fails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRule {
    pub step: CheckStep,
    pub comment: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckStep {
    Connect(CheckConnect),
    Send(CheckSend),
    Expect(CheckExpect),
    /// `http-check comment C`: the comment of the rule that follows.
    Comment(String),
}

/// What a `send` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckSend {
    /// `http-check send`: a request, merged with `option httpchk`'s.
    Http(HttpCheckSend),
}

/// `connect [default] [port N] [addr A] [send-proxy]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckConnect {
    /// `default`: the server's check options (its PROXY header) apply.
    pub default: bool,
    pub port: Option<u16>,
    /// `addr IP[:PORT]`: the address, and the port written with it.
    pub addr: Option<std::net::IpAddr>,
    pub addr_port: Option<u16>,
    pub send_proxy: bool,
}

/// `expect [min-recv N] [comment C] [ok-status S] [error-status S]
/// [tout-status S] [on-success FMT] [on-error FMT] [!] MATCH PATTERN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckExpect {
    /// At least this many body bytes before judging (`-1`: not set).
    pub min_recv: i64,
    pub negated: bool,
    pub matcher: ExpectMatcher,
    /// The check status on success when this rule ends the sequence
    /// (`L7OK`, `L6OK`, `L4OK`).
    pub ok_status: Option<String>,
    /// The check status when this rule fails (`L7RSP`, `L7STS`, `L6RSP`, `L4CON`).
    pub error_status: Option<String>,
    /// The check status when this rule times out (`L7TOUT`, `L6TOUT`, `L4TOUT`).
    pub tout_status: Option<String>,
    pub on_success: Option<LogFormat>,
    pub on_error: Option<LogFormat>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectMatcher {
    /// `status 200,300-399`: inclusive ranges.
    Status(Vec<(u16, u16)>),
    RStatus(Word),
    /// `string S`: the body contains S.
    String(Word),
    RString(Word),
    /// `string-lf FMT`: the body contains what FMT gives.
    StringLf(LogFormat),
    /// `hdr`/`fhdr name [-m M] N [value [-m M] V]`; `full` for `fhdr`
    /// (the whole value, commas included).
    Header {
        full: bool,
        name: HeaderPattern,
        value: Option<HeaderPattern>,
    },
}

/// A header name or value pattern: how to match (`-m`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderPattern {
    pub method: MatchMethod,
    pub pattern: Word,
    /// `name-lf`/`value-lf`: the pattern is a log-format string.
    pub format: Option<LogFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchMethod {
    Str,
    Beg,
    End,
    Sub,
    Reg,
}

impl ExpectMatcher {
    /// Whether judging needs the body (else the head is enough).
    pub fn needs_body(&self) -> bool {
        matches!(
            self,
            ExpectMatcher::String(_) | ExpectMatcher::RString(_) | ExpectMatcher::StringLf(_)
        )
    }

    /// HAProxy's status when the rule fails and `error-status` is not set.
    pub fn default_error_status(&self) -> &'static str {
        if self.needs_body() {
            "L7RSP"
        } else {
            "L7STS"
        }
    }
}

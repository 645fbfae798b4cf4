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
    /// What the rule does.
    pub step: CheckStep,
    /// `comment C`: the text reported when this rule fails.
    pub comment: Option<String>,
    /// Where the rule is written.
    pub span: Span,
}

/// The kind of a check rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckStep {
    /// `connect`: opens a new connection to the server.
    Connect(CheckConnect),
    /// `send`: writes a request on the connection.
    Send(CheckSend),
    /// `expect`: judges the answer to the last `send`.
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
    /// `port N`: the port connected to, instead of the server's check port.
    pub port: Option<u16>,
    /// `addr IP[:PORT]`: the address, and the port written with it.
    pub addr: Option<std::net::IpAddr>,
    /// The port written with `addr`, if any.
    pub addr_port: Option<u16>,
    /// `send-proxy`: the connection starts with a PROXY header.
    pub send_proxy: bool,
}

/// `expect [min-recv N] [comment C] [ok-status S] [error-status S]
/// [tout-status S] [on-success FMT] [on-error FMT] [!] MATCH PATTERN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckExpect {
    /// At least this many body bytes before judging (`-1`: not set).
    pub min_recv: i64,
    /// `!`: the rule passes when the match fails.
    pub negated: bool,
    /// What the answer is matched against.
    pub matcher: ExpectMatcher,
    /// The check status on success when this rule ends the sequence
    /// (`L7OK`, `L6OK`, `L4OK`).
    pub ok_status: Option<String>,
    /// The check status when this rule fails (`L7RSP`, `L7STS`, `L6RSP`, `L4CON`).
    pub error_status: Option<String>,
    /// The check status when this rule times out (`L7TOUT`, `L6TOUT`, `L4TOUT`).
    pub tout_status: Option<String>,
    /// `on-success FMT`: the check's report when the rule passes.
    pub on_success: Option<LogFormat>,
    /// `on-error FMT`: the check's report when it fails.
    pub on_error: Option<LogFormat>,
}

/// What an `expect` rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectMatcher {
    /// `status 200,300-399`: inclusive ranges.
    Status(Vec<(u16, u16)>),
    /// `rstatus REGEX`: the status code matches the regex.
    RStatus(Word),
    /// `string S`: the body contains S.
    String(Word),
    /// `rstring REGEX`: the body matches the regex.
    RString(Word),
    /// `string-lf FMT`: the body contains what FMT gives.
    StringLf(LogFormat),
    /// `hdr`/`fhdr name [-m M] N [value [-m M] V]`; `full` for `fhdr`
    /// (the whole value, commas included).
    Header {
        /// `fhdr` (true): each whole field value; `hdr` (false): each
        /// comma-separated value.
        full: bool,
        /// The header name pattern.
        name: HeaderPattern,
        /// The value pattern; `None`: the name alone decides.
        value: Option<HeaderPattern>,
    },
}

/// A header name or value pattern: how to match (`-m`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderPattern {
    /// How the pattern is compared (`-m`; `str` by default).
    pub method: MatchMethod,
    /// The pattern as written.
    pub pattern: Word,
    /// `name-lf`/`value-lf`: the pattern is a log-format string.
    pub format: Option<LogFormat>,
}

/// How an `hdr`/`fhdr` pattern compares (`-m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchMethod {
    /// `str`: equal.
    Str,
    /// `beg`: starts with the pattern.
    Beg,
    /// `end`: ends with the pattern.
    End,
    /// `sub`: contains the pattern.
    Sub,
    /// `reg`: the regex matches.
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

//! Health-check rule sequences: `http-check connect|send|expect|comment`
//! and `tcp-check connect|send|send-lf|send-binary|send-binary-lf|expect|
//! comment` as HAProxy 2.6 runs them (`tcpcheck.c`): rules in order, each
//! `connect` opening a new connection, each `send` writing a request, each
//! `expect` judging the answer to the last one. A step is a connect, a
//! send or an expect whatever the protocol; only the send's payload and the
//! expect's matcher are protocol-specific. The protocol checks (`option
//! redis-check`, `mysql-check`…) are [`CheckOption`]s: HAProxy builds them
//! as fixed `tcp-check` sequences, and so does `switchyard-rules`.

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
    /// `tcp-check send|send-binary` (bytes as written, or decoded from
    /// hexadecimal), `send-lf|send-binary-lf` (rendered at each check).
    Bytes(Vec<u8>),
    /// `send-lf FMT` / `send-binary-lf FMT`.
    Format {
        /// The log-format string.
        format: LogFormat,
        /// `send-binary-lf`: what it gives is hexadecimal, decoded.
        binary: bool,
    },
}

/// `option tcp-check` or one of the protocol checks HAProxy builds as a
/// fixed tcp-check sequence. The last check option of a section wins (with
/// `option httpchk`), as in HAProxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOption {
    /// `option tcp-check`: the section's `tcp-check` rules (a bare connect
    /// without any).
    Tcp,
    /// `option redis-check`: PING, `+PONG`.
    Redis,
    /// `option mysql-check [user U [post-41|pre-41]]`.
    Mysql {
        /// The user logging in (none: the handshake alone is read).
        user: Option<String>,
        /// The 4.1 login packet (else the older one, `pre-41`).
        post41: bool,
    },
    /// `option pgsql-check user U`.
    Pgsql {
        /// The user of the startup message.
        user: String,
    },
    /// `option smtpchk [HELO|EHLO domain]`: the greeting command.
    Smtp {
        /// `HELO localhost` unless given.
        command: String,
    },
    /// `option ldap-check`: an anonymous bind.
    Ldap,
    /// `option ssl-hello-chk`: an SSLv3 CLIENT HELLO.
    SslHello,
}

/// `connect [default] [port N] [addr A] [send-proxy] [ssl] [sni S]
/// [alpn A] [linger]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckConnect {
    /// `default`: the server's check options (PROXY header, TLS, SNI,
    /// ALPN) apply.
    pub default: bool,
    /// `port N`: the port connected to, instead of the server's check port.
    pub port: Option<u16>,
    /// `addr IP[:PORT]`: the address, and the port written with it.
    pub addr: Option<std::net::IpAddr>,
    /// The port written with `addr`, if any.
    pub addr_port: Option<u16>,
    /// `send-proxy`: the connection starts with a PROXY header.
    pub send_proxy: bool,
    /// `ssl`: the connection is TLS (verification as the server's
    /// `verify`, none unless set).
    pub ssl: bool,
    /// `sni NAME`: the server name sent in the TLS handshake.
    pub sni: Option<String>,
    /// `alpn h2,http/1.1`: the protocols offered, in order.
    pub alpn: Option<Vec<String>>,
    /// `linger`: close cleanly (FIN) rather than with a reset.
    pub linger: bool,
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
    /// `binary HEX` (tcp-check): the answer contains these bytes.
    Binary(Vec<u8>),
    /// `rbinary RE` (tcp-check): RE matches the answer in hexadecimal.
    RBinary(Word),
    /// `binary-lf FMT` (tcp-check): the answer contains what FMT gives,
    /// decoded from hexadecimal.
    BinaryLf(LogFormat),
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
            ExpectMatcher::String(_)
                | ExpectMatcher::RString(_)
                | ExpectMatcher::StringLf(_)
                | ExpectMatcher::Binary(_)
                | ExpectMatcher::RBinary(_)
                | ExpectMatcher::BinaryLf(_)
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

/// Decodes hexadecimal text (HAProxy's `parse_binary`), `None` when invalid.
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

//! A backend's health-check rules compiled once at load: the sequence
//! HAProxy 2.6 runs (implicit `connect` first, `option httpchk`'s request
//! merged into the first `send`, an implicit `expect status 200-399` after
//! the last; `tcp-check` rules as written; the protocol checks' fixed
//! sequences from [`protocol`]), its regular expressions compiled (an
//! invalid one is refused at `-c` with its place) and its log-format
//! strings ready to render. The gateway's check engine walks
//! [`CheckProgram::steps`]; nothing here touches a socket.

pub mod protocol;

use regex::Regex;
use switchyard_grammar::ast::check_rule::{
    CheckConnect, CheckOption, CheckRule, CheckSend, CheckStep, ExpectMatcher, MatchMethod,
};
use switchyard_grammar::ast::log_format::LogFormat;
use switchyard_grammar::ast::proxy::{HttpCheckRequest, Proxy};
use switchyard_grammar::Word;

use crate::compile::{Fmt, ProxyCompiler};
use crate::request::RequestFacts;
use crate::RuleSet;

/// Text written as is, or rendered at each check.
#[derive(Debug, Clone)]
pub enum CheckText {
    /// Text without `%`: written as it is.
    Fixed(String),
    /// A log-format string (`uri-lf`, `body-lf`, `hdr` values): rendered for
    /// each check.
    Format(Fmt),
}

/// One step of the sequence, with the comment reported if it fails and
/// its number in HAProxy's messages ("at step N"; 0 for the implicit
/// first connect).
#[derive(Debug, Clone)]
pub struct Step {
    /// What the step does.
    pub action: Action,
    /// `comment C`: the text reported when the step fails.
    pub comment: Option<String>,
    /// The step's number in HAProxy's messages (0: the implicit connect).
    pub id: usize,
}

/// What one step of a check sequence does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Opens a new connection (`connect`).
    Connect(CheckConnect),
    /// Writes bytes on the connection (`send`).
    Send(Send),
    /// Judges the answer to the last request (`expect`).
    Expect(Expect),
}

/// What a `send` writes.
#[derive(Debug, Clone)]
pub enum Send {
    /// `http-check send`: an HTTP request.
    Http(HttpSend),
    /// `tcp-check send`/`send-binary` and the protocol checks' requests.
    Bytes(Vec<u8>),
    /// `send-lf` (the text) or `send-binary-lf` (the text decoded from
    /// hexadecimal), rendered at each check.
    Format {
        /// The compiled log-format.
        fmt: Fmt,
        /// `send-binary-lf`: the text is hexadecimal, decoded.
        binary: bool,
    },
    /// `option ssl-hello-chk`'s SSLv3 CLIENT HELLO, dated at each check
    /// ([`protocol::ssl_client_hello`]).
    SslClientHello,
}

/// Which rules a program runs, for how answers are read and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgramKind {
    /// `option httpchk`: answers are HTTP responses.
    #[default]
    Http,
    /// `option tcp-check`: raw bytes, HAProxy's "TCPCHK …" messages.
    Tcp,
    /// A protocol check (`option redis-check`…): raw bytes, the
    /// protocol's own messages.
    Protocol,
}

/// A message of an `expect` rule (`on-success`, `on-error`).
#[derive(Debug, Clone)]
pub enum Message {
    /// A log-format rendered at each check.
    Format(Fmt),
    /// A fixed text (a protocol check's).
    Text(String),
    /// The answer from byte `skip` (a protocol check's
    /// `%[res.payload(skip,0)]`), leading blanks trimmed with
    /// `trim_blanks`, cut at the first CR or LF with `cut_crlf`.
    Payload {
        /// Bytes of the answer skipped.
        skip: usize,
        /// Leading spaces trimmed.
        trim_blanks: bool,
        /// Cut at the first CR or LF.
        cut_crlf: bool,
    },
}

/// An HTTP check request.
#[derive(Debug, Clone)]
pub struct HttpSend {
    /// The method (`OPTIONS` unless `meth` or `option httpchk` says otherwise).
    pub method: String,
    /// The request target.
    pub uri: CheckText,
    /// The version written in the request line (`HTTP/1.0` by default).
    pub version: String,
    /// Header fields in order, their values possibly log-format strings.
    pub headers: Vec<(String, CheckText)>,
    /// The body, sent with its `Content-Length`.
    pub body: Option<CheckText>,
}

/// One `expect` rule, compiled.
#[derive(Debug, Clone)]
pub struct Expect {
    /// At least this many body bytes before judging (`-1`: not set).
    pub min_recv: i64,
    /// `!`: the step passes when the match fails.
    pub negated: bool,
    /// What the answer is matched against.
    pub matcher: Matcher,
    /// The check status on success when this step ends the sequence.
    pub ok_status: Option<String>,
    /// The check status when this step fails.
    pub error_status: Option<String>,
    /// The check status when this step times out.
    pub tout_status: Option<String>,
    /// `on-success FMT`: the check's report when the step passes.
    pub on_success: Option<Message>,
    /// `on-error FMT`: the check's report when it fails.
    pub on_error: Option<Message>,
    /// The check's code is the number the answer starts with (SMTP's
    /// `status-code res.payload(0,3)`).
    pub code_from_answer: bool,
}

impl Expect {
    /// An expect rule with HAProxy's defaults around `matcher`.
    pub fn new(matcher: Matcher) -> Expect {
        Expect {
            min_recv: -1,
            negated: false,
            matcher,
            ok_status: None,
            error_status: None,
            tout_status: None,
            on_success: None,
            on_error: None,
            code_from_answer: false,
        }
    }
}

/// What an `expect` compares, with its patterns compiled at load.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// `status`: the status code lies in one of the inclusive ranges.
    Status(Vec<(u16, u16)>),
    /// `rstatus`: the status code matches the regex.
    RStatus(Regex),
    /// `string`: in the body (HTTP) or anywhere in the answer (tcp-check).
    Body(String),
    /// `rstring`: the body matches the regex.
    RBody(Regex),
    /// `string-lf`: the body contains what the format gives at this check.
    BodyFormat(Fmt),
    /// `hdr`/`fhdr`: a header field matches.
    Header {
        /// `fhdr` (true): each whole field value; `hdr`: each comma-separated
        /// value.
        full: bool,
        /// The header name pattern.
        name: HeaderMatch,
        /// The value pattern; `None`: the name alone decides.
        value: Option<HeaderMatch>,
    },
    /// `binary HEX`: the answer contains these bytes.
    Bytes(Vec<u8>),
    /// `rbinary RE`: RE matches the answer written in upper-case hexadecimal.
    RHex(Regex),
    /// `binary-lf FMT`: the answer contains FMT's text decoded from hexadecimal.
    BytesFormat(Fmt),
    /// A protocol's own reading of the answer (HAProxy's `expect custom`).
    Custom(protocol::Custom),
}

impl Matcher {
    /// Whether judging needs the body (else the head is enough).
    pub fn needs_body(&self) -> bool {
        matches!(
            self,
            Matcher::Body(_) | Matcher::RBody(_) | Matcher::BodyFormat(_)
        )
    }
}

/// How a header name or value is matched.
#[derive(Debug, Clone)]
pub enum HeaderMatch {
    /// A text or log-format pattern and how it compares (`-m`).
    Text(MatchMethod, CheckText),
    /// A regex (`-m reg`), compiled at load.
    Regex(Regex),
}

/// The compiled sequence of one backend.
#[derive(Debug, Clone, Default)]
pub struct CheckProgram {
    /// Which rules the program runs (how answers are read and reported).
    pub kind: ProgramKind,
    /// The steps in order, HAProxy's implicit `connect` and merges included.
    pub steps: Vec<Step>,
}

/// The implicit first `connect` (HAProxy's, with the server's check
/// options).
fn implicit_connect() -> Step {
    Step {
        action: Action::Connect(CheckConnect {
            default: true,
            ..CheckConnect::default()
        }),
        comment: None,
        id: 0,
    }
}

impl ProxyCompiler<'_> {
    /// The backend's HTTP check sequence (`option httpchk` and its
    /// `http-check` rules), or `None` without `option httpchk`.
    pub(crate) fn http_checks(&mut self, proxy: &Proxy) -> Option<CheckProgram> {
        let request = proxy.httpchk.as_ref()?;
        let mut merged = false;
        let mut steps = self.rule_steps(&proxy.http_check_rules, |this, send| {
            let CheckSend::Http(send) = send else {
                // The grammar gives raw sends to tcp-check only.
                return Some(None);
            };
            // The first `send` completes `option httpchk`'s line; later
            // ones start from HAProxy's defaults.
            let base = if merged {
                HttpCheckRequest::bare(send.span)
            } else {
                request.clone()
            };
            merged = true;
            Some(Some(Send::Http(this.http_send(&base.with(send))?)))
        })?;
        if !merged {
            let send = self.http_send(request)?;
            let at = usize::from(matches!(
                steps.first().map(|s| &s.action),
                Some(Action::Connect(_))
            ));
            steps.insert(
                at,
                Step {
                    action: Action::Send(Send::Http(send)),
                    comment: None,
                    id: at,
                },
            );
        }
        if !matches!(steps.first().map(|s| &s.action), Some(Action::Connect(_))) {
            steps.insert(0, implicit_connect());
        }
        let last_send = steps
            .iter()
            .rposition(|s| matches!(s.action, Action::Send(_)));
        let expects_after = last_send.is_some_and(|at| {
            steps[at..]
                .iter()
                .any(|s| matches!(s.action, Action::Expect(_)))
        });
        if !expects_after {
            let id = steps.len();
            steps.push(Step {
                action: Action::Expect(Expect::new(Matcher::Status(vec![(200, 399)]))),
                comment: None,
                id,
            });
        }
        Some(CheckProgram {
            kind: ProgramKind::Http,
            steps,
        })
    }

    /// The backend's check sequence for `option tcp-check` (its
    /// `tcp-check` rules after an implicit connect, or the connect alone)
    /// or a protocol check, or `None` without one of them.
    pub(crate) fn tcp_checks(&mut self, proxy: &Proxy) -> Option<CheckProgram> {
        match proxy.check_option.as_ref()? {
            CheckOption::Tcp => self.tcp_check_rules(&proxy.tcp_check_rules),
            option => Some(protocol::program(option)),
        }
    }

    fn tcp_check_rules(&mut self, rules: &[CheckRule]) -> Option<CheckProgram> {
        let mut steps = self.rule_steps(rules, |this, send| match send {
            CheckSend::Bytes(bytes) => Some(Some(Send::Bytes(bytes.clone()))),
            CheckSend::Format { format, binary } => Some(Some(Send::Format {
                fmt: this.fmt(format)?,
                binary: *binary,
            })),
            // The grammar gives HTTP sends to http-check only.
            CheckSend::Http(_) => Some(None),
        })?;
        if !matches!(steps.first().map(|s| &s.action), Some(Action::Connect(_))) {
            steps.insert(0, implicit_connect());
        }
        Some(CheckProgram {
            kind: ProgramKind::Tcp,
            steps,
        })
    }

    /// `rules` as steps, each `comment` rule naming the next rule, `send`
    /// compiling the sends (`None`: invalid; `Some(None)`: not for this
    /// kind). Every rule is compiled, so that `-c` reports each error;
    /// `None` if one is invalid.
    fn rule_steps(
        &mut self,
        rules: &[CheckRule],
        mut send: impl FnMut(&mut Self, &CheckSend) -> Option<Option<Send>>,
    ) -> Option<Vec<Step>> {
        let mut steps = Vec::new();
        let mut comment = None;
        let mut invalid = false;
        for (index, rule) in rules.iter().enumerate() {
            let action = match &rule.step {
                CheckStep::Comment(text) => {
                    comment = Some(text.clone());
                    continue;
                }
                CheckStep::Connect(c) => Some(Action::Connect(c.clone())),
                CheckStep::Send(s) => match send(self, s) {
                    Some(Some(s)) => Some(Action::Send(s)),
                    Some(None) => continue,
                    None => None,
                },
                CheckStep::Expect(e) => self.expect(e).map(Action::Expect),
            };
            let Some(action) = action else {
                invalid = true;
                continue;
            };
            steps.push(Step {
                action,
                comment: rule.comment.clone().or(comment.take()),
                id: index + 1,
            });
        }
        (!invalid).then_some(steps)
    }

    fn text(&mut self, fixed: &str, format: Option<&LogFormat>) -> Option<CheckText> {
        Some(match format {
            Some(f) => CheckText::Format(self.fmt(f)?),
            None => CheckText::Fixed(fixed.to_owned()),
        })
    }

    fn http_send(&mut self, request: &HttpCheckRequest) -> Option<HttpSend> {
        let mut headers = Vec::new();
        for (name, value) in &request.headers {
            // Header values are log-format strings (HAProxy's `hdr <name> <fmt>`).
            let format = LogFormat::parse(&Word::new(value.clone(), request.span)).ok();
            headers.push((name.clone(), self.text(value, format.as_ref())?));
        }
        let body = match (&request.body_lf, &request.body) {
            (Some(f), _) => Some(self.text("", Some(f))?),
            (None, Some(b)) => Some(CheckText::Fixed(b.clone())),
            (None, None) => None,
        };
        Some(HttpSend {
            method: request.method.clone(),
            uri: self.text(&request.uri, request.uri_lf.as_ref())?,
            version: request.version.clone(),
            headers,
            body,
        })
    }

    fn expect(&mut self, e: &switchyard_grammar::ast::check_rule::CheckExpect) -> Option<Expect> {
        let matcher = match &e.matcher {
            ExpectMatcher::Status(ranges) => Matcher::Status(ranges.clone()),
            ExpectMatcher::RStatus(w) => Matcher::RStatus(self.regex(w)?),
            ExpectMatcher::String(w) => Matcher::Body(w.text.clone()),
            ExpectMatcher::RString(w) => Matcher::RBody(self.regex(w)?),
            ExpectMatcher::StringLf(f) => Matcher::BodyFormat(self.fmt(f)?),
            ExpectMatcher::Binary(bytes) => Matcher::Bytes(bytes.clone()),
            ExpectMatcher::RBinary(w) => Matcher::RHex(self.regex(w)?),
            ExpectMatcher::BinaryLf(f) => Matcher::BytesFormat(self.fmt(f)?),
            ExpectMatcher::Header { full, name, value } => {
                // Header names match without case, their regex too.
                let mut part = |p: &switchyard_grammar::ast::check_rule::HeaderPattern,
                                is_name: bool| {
                    Some(match p.method {
                        MatchMethod::Reg => {
                            let re = self.regex(&p.pattern)?;
                            HeaderMatch::Regex(if is_name {
                                regex::RegexBuilder::new(re.as_str())
                                    .case_insensitive(true)
                                    .build()
                                    .ok()?
                            } else {
                                re
                            })
                        }
                        m => HeaderMatch::Text(m, self.text(&p.pattern.text, p.format.as_ref())?),
                    })
                };
                let name = part(name, true)?;
                let value = match value {
                    Some(v) => Some(part(v, false)?),
                    None => None,
                };
                Matcher::Header {
                    full: *full,
                    name,
                    value,
                }
            }
        };
        Some(Expect {
            min_recv: e.min_recv,
            negated: e.negated,
            matcher,
            ok_status: e.ok_status.clone(),
            error_status: e.error_status.clone(),
            tout_status: e.tout_status.clone(),
            on_success: match &e.on_success {
                Some(f) => Some(Message::Format(self.fmt(f)?)),
                None => None,
            },
            on_error: match &e.on_error {
                Some(f) => Some(Message::Format(self.fmt(f)?)),
                None => None,
            },
            code_from_answer: false,
        })
    }
}

impl RuleSet {
    /// The compiled check sequence of backend `name` (`option httpchk`,
    /// `option tcp-check` or a protocol check).
    pub fn checks(&self, name: &str) -> Option<&CheckProgram> {
        self.proxy(name)?.checks.as_ref()
    }

    /// Renders a check's text for one check (`facts`: its connection and
    /// server).
    pub fn check_text(&self, text: &CheckText, facts: &dyn RequestFacts) -> String {
        match text {
            CheckText::Fixed(s) => s.clone(),
            CheckText::Format(f) => self.render(f, facts),
        }
    }

    /// Renders a log-format of a check (`on-success`, `on-error`, `string-lf`).
    pub fn check_format(&self, fmt: &Fmt, facts: &dyn RequestFacts) -> String {
        self.render(fmt, facts)
    }

    /// An `expect` rule's message for the `answer` it judged.
    pub fn check_message(
        &self,
        message: &Message,
        answer: &[u8],
        facts: &dyn RequestFacts,
    ) -> String {
        match message {
            Message::Format(f) => self.render(f, facts),
            Message::Text(t) => t.clone(),
            Message::Payload {
                skip,
                trim_blanks,
                cut_crlf,
            } => {
                // A C string in HAProxy: it ends at the first NUL.
                let bytes = answer.get(*skip..).unwrap_or_default();
                let bytes = bytes.split(|b| *b == 0).next().unwrap_or_default();
                let text = String::from_utf8_lossy(bytes);
                let text = if *trim_blanks {
                    text.trim_start_matches(' ')
                } else {
                    &text
                };
                let text = if *cut_crlf {
                    text.split(['\r', '\n']).next().unwrap_or_default()
                } else {
                    text
                };
                text.to_owned()
            }
        }
    }
}

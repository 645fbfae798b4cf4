//! A backend's health-check rules compiled once at load: the sequence
//! HAProxy 2.6 runs (implicit `connect` first, `option httpchk`'s request
//! merged into the first `send`, an implicit `expect status 200-399` after
//! the last), its regular expressions compiled (an invalid one is refused
//! at `-c` with its place) and its log-format strings ready to render. The
//! gateway's check engine walks [`CheckProgram::steps`]; nothing here
//! touches a socket.

use regex::Regex;
use switchyard_grammar::ast::check_rule::{
    CheckConnect, CheckSend, CheckStep, ExpectMatcher, MatchMethod,
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

/// One step of the sequence, with the comment reported if it fails.
#[derive(Debug, Clone)]
pub struct Step {
    /// What the step does.
    pub action: Action,
    /// `comment C`: the text reported when the step fails.
    pub comment: Option<String>,
}

/// What one step of a check sequence does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Opens a new connection (`connect`).
    Connect(CheckConnect),
    /// Writes a request on the connection (`send`).
    Send(HttpSend),
    /// Judges the answer to the last request (`expect`).
    Expect(Expect),
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
    pub on_success: Option<Fmt>,
    /// `on-error FMT`: the check's report when it fails.
    pub on_error: Option<Fmt>,
}

/// What an `expect` compares, with its patterns compiled at load.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// `status`: the status code lies in one of the inclusive ranges.
    Status(Vec<(u16, u16)>),
    /// `rstatus`: the status code matches the regex.
    RStatus(Regex),
    /// `string`: the body contains the text.
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
    /// The steps in order, HAProxy's implicit `connect` and merges included.
    pub steps: Vec<Step>,
}

impl ProxyCompiler<'_> {
    /// The backend's HTTP check sequence (`option httpchk` and its
    /// `http-check` rules), or `None` without `option httpchk`.
    pub(crate) fn http_checks(&mut self, proxy: &Proxy) -> Option<CheckProgram> {
        let request = proxy.httpchk.as_ref()?;
        let mut steps = Vec::new();
        let mut comment = None;
        let mut merged = false;
        let mut invalid = false;
        for rule in &proxy.http_check_rules {
            let action = match &rule.step {
                CheckStep::Comment(text) => {
                    comment = Some(text.clone());
                    continue;
                }
                CheckStep::Connect(c) => Action::Connect(c.clone()),
                CheckStep::Send(CheckSend::Http(send)) => {
                    // The first `send` completes `option httpchk`'s line;
                    // later ones start from HAProxy's defaults.
                    let base = if merged {
                        HttpCheckRequest::bare(send.span)
                    } else {
                        request.clone()
                    };
                    merged = true;
                    match self.http_send(&base.with(send)) {
                        Some(send) => Action::Send(send),
                        None => {
                            invalid = true;
                            continue;
                        }
                    }
                }
                // Every rule is compiled, so that `-c` reports each error.
                CheckStep::Expect(e) => match self.expect(e) {
                    Some(expect) => Action::Expect(expect),
                    None => {
                        invalid = true;
                        continue;
                    }
                },
            };
            steps.push(Step {
                action,
                comment: rule.comment.clone().or(comment.take()),
            });
        }
        if invalid {
            return None;
        }
        if !merged {
            let send = self.http_send(request)?;
            let at = usize::from(matches!(
                steps.first().map(|s| &s.action),
                Some(Action::Connect(_))
            ));
            steps.insert(
                at,
                Step {
                    action: Action::Send(send),
                    comment: None,
                },
            );
        }
        if !matches!(steps.first().map(|s| &s.action), Some(Action::Connect(_))) {
            steps.insert(
                0,
                Step {
                    action: Action::Connect(CheckConnect {
                        default: true,
                        ..CheckConnect::default()
                    }),
                    comment: None,
                },
            );
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
            steps.push(Step {
                action: Action::Expect(Expect {
                    min_recv: -1,
                    negated: false,
                    matcher: Matcher::Status(vec![(200, 399)]),
                    ok_status: None,
                    error_status: None,
                    tout_status: None,
                    on_success: None,
                    on_error: None,
                }),
                comment: None,
            });
        }
        Some(CheckProgram { steps })
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
                Some(f) => Some(self.fmt(f)?),
                None => None,
            },
            on_error: match &e.on_error {
                Some(f) => Some(self.fmt(f)?),
                None => None,
            },
        })
    }
}

impl RuleSet {
    /// The compiled HTTP check sequence of backend `name`.
    pub fn http_checks(&self, name: &str) -> Option<&CheckProgram> {
        self.proxy(name)?.http_checks.as_ref()
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
}

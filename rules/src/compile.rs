//! Compiling a proxy's ACLs and rules: every fetch resolved, every pattern
//! compiled, every file read, every error located — once, at startup.

use crate::decision::PersistOverride;
use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;
use switchyard_grammar::ast::acl::AclExpr;
use switchyard_grammar::ast::condition::{AclRef, Condition, Polarity};
use switchyard_grammar::ast::http_rule::{HttpAction, HttpRule, Redirect, ReturnBody, ReturnSpec};
use switchyard_grammar::ast::log_format::{LogFormat, LogFormatPart};
use switchyard_grammar::ast::proxy::{BackendTarget, Proxy};
use switchyard_grammar::ast::sample::SampleExpr;
use switchyard_grammar::ast::stats::StatsVerdict;
use switchyard_grammar::ast::var::{SetVarCond, VarName, VarSource};
use switchyard_grammar::validate::PREDEFINED_ACLS;
use switchyard_grammar::{Diagnostic, Diagnostics, FileAccess, Span, Word};

use crate::converter::{Converter, ConverterError, MapFile, CONVERTER_NAMES};
use crate::fetch::Fetch;
use crate::header_match::HeaderNameMatch;
use crate::keyword::{default_method, resolve, FetchError, FETCH_NAMES};
use crate::pattern::{MatchMethod, Matcher};
use crate::request::UriPart;
use crate::value::SampleType;

/// A fetch and its converters.
#[derive(Debug, Clone)]
pub struct Expr {
    pub fetch: Fetch,
    pub converters: Vec<Converter>,
    pub text: String,
}

/// One `acl` line (or an anonymous ACL).
#[derive(Debug, Clone)]
pub struct AclLine {
    pub expr: Expr,
    pub method: MatchMethod,
    pub icase: bool,
    pub matcher: crate::pattern_file::LineMatcher,
    /// The patterns as written (and the files' at startup), for indexing
    /// and tracing.
    pub patterns: Vec<String>,
    /// How many of `patterns` are written on the line (the rest came from
    /// `-f` files).
    pub inline_patterns: usize,
    pub span: Span,
}

/// All lines of one ACL name, ORed; anonymous ACLs have one line.
#[derive(Debug, Clone)]
pub struct Acl {
    pub name: String,
    pub lines: Vec<AclLine>,
}

pub type AclId = usize;

#[derive(Debug, Clone)]
pub struct Term {
    pub negated: bool,
    pub acl: AclId,
}

/// A compiled `if`/`unless` condition.
#[derive(Debug, Clone)]
pub struct Cond {
    pub unless: bool,
    pub alternatives: Vec<Vec<Term>>,
    pub span: Span,
}

/// A compiled log-format string.
#[derive(Debug, Clone)]
pub enum FmtPart {
    Lit(String),
    Sample(Expr),
    Var(String),
}

pub type Fmt = Vec<FmtPart>;

#[derive(Debug, Clone)]
pub enum Body {
    None,
    /// The proxy's error page for the status (`default-errorfiles`, or an
    /// `errorfiles NAME` section without a file for it).
    ErrorPage,
    Text(String),
    Format(Fmt),
    Bytes(Arc<Vec<u8>>),
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Body,
    pub headers: Vec<(String, Fmt)>,
    /// `errorfile` bodies are full HTTP responses.
    pub raw_http: bool,
}

#[derive(Debug, Clone)]
pub struct RedirectAction {
    pub kind: switchyard_grammar::ast::http_rule::RedirectKind,
    pub target: Fmt,
    pub code: u16,
    pub drop_query: bool,
    pub append_slash: bool,
    pub set_cookie: Option<String>,
    pub clear_cookie: Option<String>,
    pub ignore_empty: bool,
}

#[derive(Debug, Clone)]
pub enum Action {
    Allow,
    Deny(Reply),
    /// Closes the client's connection without an answer.
    Reject,
    Return(Reply),
    Redirect(RedirectAction),
    SetHeader(String, Fmt),
    AddHeader(String, Fmt),
    DelHeader(HeaderNameMatch),
    ReplaceHeader(String, Regex, Fmt),
    ReplaceValue(String, Regex, Fmt),
    /// `set-path` or `set-pathq`.
    SetPath(Fmt, UriPart),
    /// `replace-path`, `replace-pathq` or `replace-uri`.
    ReplacePath(Regex, Fmt, UriPart),
    SetQuery(Fmt),
    SetUri(Fmt),
    SetMethod(Fmt),
    SetStatus(u16, Option<String>),
    Auth(Option<String>),
    UseService(String),
    /// `set-var`/`set-var-fmt`: the variable, its conditions, the value.
    SetVar(VarName, Vec<SetVarCond>, VarValue),
    /// `unset-var`.
    UnsetVar(VarName),
    /// `http-request capture SAMPLE id N` (a `len` one was given its
    /// slot's number when read): the frontend's request slot N.
    Capture(Expr, usize),
}

/// What a `set-var` stores.
#[derive(Debug, Clone)]
pub enum VarValue {
    /// A sample expression's value, of its type.
    Expr(Expr),
    /// A log-format string's text.
    Fmt(Fmt),
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub action: Action,
    pub cond: Option<Cond>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Target {
    Named(String),
    Dynamic(Fmt),
}

#[derive(Debug, Clone)]
pub struct SwitchRule {
    pub target: Target,
    pub cond: Option<Cond>,
    pub span: Span,
}

/// `force-persist if COND` / `ignore-persist if COND`, in file order.
#[derive(Debug, Clone)]
pub struct PersistRule {
    pub kind: PersistOverride,
    pub cond: Cond,
    pub span: Span,
}

/// A compiled `tcp-request connection|content` rule.
#[derive(Debug, Clone)]
pub struct TcpRule {
    pub accept: bool,
    pub cond: Option<Cond>,
    pub span: Span,
}

/// Everything one proxy decides with.
#[derive(Debug, Clone)]
pub struct ProxyRules {
    pub name: String,
    pub acls: Vec<Acl>,
    pub http_request: Vec<Rule>,
    pub redirects: Vec<Rule>,
    pub http_response: Vec<Rule>,
    /// `http-after-response` rules: on every response of a frontend, the
    /// gateway's own included.
    pub http_after_response: Vec<Rule>,
    pub switching: Vec<SwitchRule>,
    pub tcp_connection: Vec<TcpRule>,
    pub tcp_content: Vec<TcpRule>,
    pub default_backend: Option<(String, Span)>,
    pub persist: Vec<PersistRule>,
    /// `stats admin if COND`: the page's admin forms for requests matching
    /// any of them.
    pub stats_admin: Vec<Cond>,
    /// `stats http-request` rules, in order: the first that matches
    /// decides who gets the statistics page.
    pub stats_access: Vec<(StatsVerdict, Option<Cond>)>,
    /// `monitor fail if|unless COND`: the monitor answer fails (503) for
    /// requests matching any of them.
    pub monitor_fail: Vec<Cond>,
    pub is_backend: bool,
    pub is_frontend: bool,
    /// `http-error status CODE …`: the messages that replace the proxy's
    /// own error pages in the answers of its rules.
    pub error_messages: Vec<Reply>,
    /// The string patterns of the ACL lines, grouped per fetch.
    pub sets: crate::pattern_sets::PatternSets,
    /// Which switching rules a request's group answers leave possible.
    pub index: crate::index::SwitchIndex,
    /// The health-check sequence (`option httpchk` and its `http-check`
    /// rules, `option tcp-check` and its `tcp-check` rules, or a protocol
    /// check), compiled.
    pub checks: Option<crate::check::CheckProgram>,
    /// The HTTP decision known without looking at the request: no
    /// `http-request`, `redirect` or switching rule here, and no
    /// persistence, `http-request` or `redirect` rule in the backend the
    /// request goes to (`default_backend`, or a listen section itself).
    /// Set by [`crate::RuleSet::compile`] once every proxy is known.
    pub fixed_decision: Option<FixedDecision>,
    /// Whether a rule here sets or reads a variable: a transaction then
    /// needs its variable store.
    pub uses_vars: bool,
}

/// Where every HTTP request of a proxy without rules goes
/// ([`ProxyRules::fixed_decision`]).
#[derive(Debug, Clone)]
pub enum FixedDecision {
    /// `default_backend` (its line), or a listen section itself.
    Backend(String, Option<Span>),
    /// A frontend with no backend.
    NoBackend,
}

impl ProxyRules {
    /// Whether nothing of this proxy is checked for a request routed to it
    /// (as its own frontend, or as the backend chosen).
    fn checks_nothing_as_backend(&self) -> bool {
        self.persist.is_empty() && self.http_request.is_empty() && self.redirects.is_empty()
    }

    /// [`ProxyRules::fixed_decision`], given how the backends are found.
    pub(crate) fn fixed<'a>(
        &'a self,
        backend: impl Fn(&str) -> Option<&'a ProxyRules>,
    ) -> Option<FixedDecision> {
        if !(self.http_request.is_empty() && self.redirects.is_empty() && self.switching.is_empty())
        {
            return None;
        }
        let (name, span) = match &self.default_backend {
            Some((name, span)) => (name, Some(*span)),
            None if self.is_backend => (&self.name, None),
            None => return Some(FixedDecision::NoBackend),
        };
        let target = match name == &self.name {
            true => Some(self),
            false => backend(name),
        };
        target
            .is_none_or(ProxyRules::checks_nothing_as_backend)
            .then(|| FixedDecision::Backend(name.clone(), span))
    }
}

/// Compiles `proxy`; errors go to `diags`.
pub(crate) struct ProxyCompiler<'a> {
    pub fs: &'a dyn FileAccess,
    pub userlist: &'a dyn Fn(&str) -> Option<usize>,
    pub maps: &'a mut HashMap<String, Arc<MapFile>>,
    pub files: &'a HashMap<String, Vec<u8>>,
    pub diags: &'a mut Diagnostics,
    /// Where `-f` files are registered, shared by path (none: each line
    /// keeps a fixed copy).
    pub pattern_files: Option<&'a mut Vec<Arc<crate::pattern_file::PatternFile>>>,
    acls: Vec<Acl>,
    names: HashMap<String, AclId>,
    /// A `var()` fetch or a variable action was compiled.
    uses_vars: bool,
}

impl<'a> ProxyCompiler<'a> {
    pub fn new(
        fs: &'a dyn FileAccess,
        userlist: &'a dyn Fn(&str) -> Option<usize>,
        maps: &'a mut HashMap<String, Arc<MapFile>>,
        files: &'a HashMap<String, Vec<u8>>,
        diags: &'a mut Diagnostics,
    ) -> Self {
        ProxyCompiler {
            fs,
            userlist,
            maps,
            files,
            diags,
            pattern_files: None,
            acls: Vec::new(),
            names: HashMap::new(),
            uses_vars: false,
        }
    }

    pub fn compile(mut self, proxy: &Proxy) -> ProxyRules {
        // Health checks compiled once: a bad regex or log-format is refused
        // here, at `-c`, as HAProxy does.
        let checks = match self.http_checks(proxy) {
            Some(program) => Some(program),
            None => self.tcp_checks(proxy),
        };
        for def in &proxy.acls {
            if let Some(line) = self.acl_line(&def.expr) {
                match self.names.get(&def.name.text) {
                    Some(&id) => self.acls[id].lines.push(line),
                    None => {
                        self.names.insert(def.name.text.clone(), self.acls.len());
                        self.acls.push(Acl {
                            name: def.name.text.clone(),
                            lines: vec![line],
                        });
                    }
                }
            }
        }
        let http_request = proxy
            .http_request
            .iter()
            .filter_map(|r| self.rule(r))
            .collect();
        let redirects = proxy
            .redirects
            .iter()
            .filter_map(|r| self.rule(r))
            .collect();
        let mut http_response = Vec::new();
        for r in &proxy.http_response {
            if self.response_action_supported(r) {
                if let Some(rule) = self.rule(r) {
                    http_response.push(rule);
                }
            }
        }
        let http_after_response = proxy
            .http_after_response
            .iter()
            .filter_map(|r| self.rule(r))
            .collect();
        if let (Some(first), false) = (proxy.http_after_response.first(), proxy.kind.is_frontend())
        {
            self.error(
                first.span,
                "'http-after-response' in a backend section is not supported by switchyard yet"
                    .into(),
                Some("write the rules in the frontend (or listen) section".into()),
            );
        }
        let mut switching = Vec::new();
        for u in &proxy.use_backends {
            let target = match &u.target {
                BackendTarget::Named(w) => Target::Named(w.text.clone()),
                BackendTarget::Dynamic(f) => match self.fmt(f) {
                    Some(f) => Target::Dynamic(f),
                    None => continue,
                },
            };
            let cond = match &u.condition {
                Some(c) => match self.cond(c) {
                    Some(c) => Some(c),
                    None => continue,
                },
                None => None,
            };
            switching.push(SwitchRule {
                target,
                cond,
                span: u.span,
            });
        }
        // HAProxy keeps both kinds in one list, evaluated in file order.
        let mut written: Vec<(PersistOverride, &Condition)> = proxy
            .force_persist
            .iter()
            .map(|c| (PersistOverride::Force, c))
            .chain(
                proxy
                    .ignore_persist
                    .iter()
                    .map(|c| (PersistOverride::Ignore, c)),
            )
            .collect();
        written.sort_by_key(|(_, c)| (c.span.line, c.span.column));
        let mut persist = Vec::new();
        for (kind, c) in written {
            if let Some(cond) = self.cond(c) {
                persist.push(PersistRule {
                    kind,
                    cond,
                    span: c.span,
                });
            }
        }
        let tcp_connection = self.tcp_rules(&proxy.tcp_request_connection);
        let tcp_content = self.tcp_rules(&proxy.tcp_request_content);
        let stats_admin = proxy
            .stats
            .admin
            .iter()
            .filter_map(|c| self.cond(c))
            .collect();
        let stats_access = proxy
            .stats
            .http_request
            .iter()
            .filter_map(|r| match &r.condition {
                None => Some((r.verdict.clone(), None)),
                Some(c) => Some((r.verdict.clone(), Some(self.cond(c)?))),
            })
            .collect();
        let monitor_fail = proxy
            .monitor_fail
            .iter()
            .filter_map(|c| self.cond(c))
            .collect();
        let error_messages = proxy
            .http_errors
            .iter()
            .filter_map(|h| self.reply(&h.spec))
            .collect();
        ProxyRules {
            error_messages,
            persist,
            stats_admin,
            stats_access,
            monitor_fail,
            tcp_connection,
            tcp_content,
            name: proxy.name.clone(),
            acls: self.acls,
            http_request,
            redirects,
            http_response,
            http_after_response,
            switching,
            default_backend: proxy
                .default_backend
                .as_ref()
                .map(|w| (w.text.clone(), w.span)),
            is_backend: proxy.kind.is_backend(),
            is_frontend: proxy.kind.is_frontend(),
            sets: crate::pattern_sets::PatternSets::default(),
            index: crate::index::SwitchIndex::default(),
            checks,
            fixed_decision: None,
            uses_vars: self.uses_vars,
        }
    }

    fn tcp_rules(&mut self, rules: &[switchyard_grammar::ast::tcp_rule::TcpRule]) -> Vec<TcpRule> {
        use switchyard_grammar::ast::tcp_rule::TcpAction;
        let mut out = Vec::new();
        for r in rules {
            let cond = match &r.condition {
                Some(c) => match self.cond(c) {
                    Some(c) => Some(c),
                    None => continue,
                },
                None => None,
            };
            out.push(TcpRule {
                accept: r.action == TcpAction::Accept,
                cond,
                span: r.span,
            });
        }
        out
    }

    /// `http-response` rules Switchyard runs: header actions and `allow`.
    fn response_action_supported(&mut self, rule: &HttpRule) -> bool {
        let supported = matches!(
            rule.action,
            HttpAction::Allow
                | HttpAction::SetHeader { .. }
                | HttpAction::AddHeader { .. }
                | HttpAction::DelHeader { .. }
                | HttpAction::SetVar(_)
                | HttpAction::UnsetVar(_)
                | HttpAction::SetStatus { .. }
        );
        if !supported {
            self.error(
                rule.span,
                "this 'http-response' action is not supported by switchyard yet".into(),
                Some(
                    "switchyard runs http-response allow, set-header, add-header, del-header, set-status, set-var, set-var-fmt and unset-var"
                        .into(),
                ),
            );
        }
        supported
    }

    fn error(&mut self, span: Span, message: String, help: Option<String>) {
        let mut d = Diagnostic::error(span, message);
        if let Some(h) = help {
            d = d.with_help(h);
        }
        self.diags.push(d);
    }

    pub fn expr(
        &mut self,
        sample: &SampleExpr,
        word: Option<&Word>,
    ) -> Option<(Expr, Option<MatchMethod>)> {
        let span = word.map(|w| w.span).unwrap_or(sample.fetch.span);
        let resolved = match resolve(&sample.fetch, self.userlist) {
            Ok(r) => r,
            Err(FetchError::Unknown) => {
                let help = crate::suggest(&sample.fetch.name, FETCH_NAMES);
                self.error(
                    Span {
                        len: sample.fetch.name.chars().count() as u32,
                        ..span
                    },
                    format!("unknown fetch method '{}'", sample.fetch.name),
                    help,
                );
                return None;
            }
            Err(FetchError::MissingArgument(what)) => {
                self.error(
                    span,
                    format!(
                        "fetch '{}' expects {what} (missing argument)",
                        sample.fetch.name
                    ),
                    (!what.contains("e.g.")).then(|| format!("e.g. '{}(host)'", sample.fetch.name)),
                );
                return None;
            }
            Err(FetchError::Invalid(message)) => {
                self.error(span, message, None);
                return None;
            }
            Err(FetchError::UnknownUserlist(name)) => {
                self.error(
                    span,
                    format!("no userlist named '{name}'"),
                    Some(format!("declare it with 'userlist {name}' and its users")),
                );
                return None;
            }
        };
        self.uses_vars |= matches!(resolved.fetch, Fetch::Var { .. });
        let mut converters = Vec::new();
        let mut prev_type = resolved.fetch.sample_type();
        for call in &sample.converters {
            let converter = if let Some(method) = Converter::map_method(&call.name) {
                let Some(path) = call.args.first().filter(|p| !p.is_empty()) else {
                    self.error(
                        call.span,
                        format!(
                            "converter '{}' expects a map file (missing argument)",
                            call.name
                        ),
                        None,
                    );
                    return None;
                };
                let map = match self.maps.get(path) {
                    Some(m) => m.clone(),
                    None => match self.fs.read(path) {
                        Ok(bytes) => {
                            let m =
                                Arc::new(MapFile::parse(path, &String::from_utf8_lossy(&bytes)));
                            self.maps.insert(path.clone(), m.clone());
                            m
                        }
                        Err(e) => {
                            self.error(call.span, format!("cannot open file '{path}': {e}"), Some("relative paths are read from the current directory, as HAProxy does".into()));
                            return None;
                        }
                    },
                };
                match Converter::map(method, map, call.args.get(1).cloned()) {
                    Ok(c) => c,
                    Err(e) => {
                        self.error(call.span, e, None);
                        return None;
                    }
                }
            } else {
                match Converter::parse(&call.name, &call.args) {
                    Ok(c) => c,
                    Err(e) => {
                        let help = matches!(e, ConverterError::Unknown(_))
                            .then(|| crate::suggest(&call.name, CONVERTER_NAMES))
                            .flatten();
                        self.error(call.span, e.to_string(), help);
                        return None;
                    }
                }
            };
            for var in converter.variables() {
                if let Err(e) = switchyard_grammar::ast::var::VarName::parse(var) {
                    self.error(
                        call.span,
                        format!("invalid args in converter '{}' : {e}", call.name),
                        None,
                    );
                    return None;
                }
            }
            // HAProxy's check: the previous output must cast to this input.
            if !prev_type.casts_to(converter.input_type()) {
                self.error(
                    call.span,
                    format!("converter '{}' cannot be applied", call.name),
                    Some(format!(
                        "it takes {}, and what comes before it gives {}",
                        converter.input_type().name(),
                        prev_type.name()
                    )),
                );
                return None;
            }
            prev_type = converter.output_type();
            converters.push(converter);
        }
        let text = word
            .map(|w| w.text.clone())
            .unwrap_or_else(|| sample.fetch.name.clone());
        Some((
            Expr {
                fetch: resolved.fetch,
                converters,
                text,
            },
            resolved.method,
        ))
    }

    fn acl_line(&mut self, acl: &AclExpr) -> Option<AclLine> {
        let (expr, keyword_method) = self.expr(&acl.fetch, Some(&acl.fetch_word))?;
        let method = match &acl.flags.match_method {
            Some(w) => match MatchMethod::parse(&w.text) {
                Some(m) => m,
                None => {
                    self.error(w.span, format!("unknown match method '{}'", w.text), Some("use str, beg, end, sub, reg, dom, dir, len, found, int, ip, bool or bin".into()));
                    return None;
                }
            },
            None => keyword_method.unwrap_or_else(|| {
                // As HAProxy: the method of the type the last converter
                // returns.
                match expr.converters.last() {
                    None => default_method(expr.fetch.kind()),
                    Some(c) => match c.output_type() {
                        SampleType::Sint => MatchMethod::Int,
                        SampleType::Bool => MatchMethod::Bool,
                        SampleType::Addr | SampleType::Ipv4 | SampleType::Ipv6 => MatchMethod::Ip,
                        SampleType::Bin => MatchMethod::Bin,
                        _ => MatchMethod::Str,
                    },
                }
            }),
        };
        let inline: Vec<String> = acl.patterns.iter().map(|w| w.text.clone()).collect();
        let inline_patterns = inline.len();
        let mut patterns = inline.clone();
        let mut files = Vec::new();
        for file in &acl.flags.files {
            match self.fs.read(&file.text) {
                Ok(bytes) => {
                    let mut lines = Vec::new();
                    for line in String::from_utf8_lossy(&bytes).lines() {
                        let line = line.trim();
                        if line.is_empty() || line.starts_with('#') {
                            continue;
                        }
                        let pattern = if acl.flags.map_files {
                            line.split_whitespace().next().unwrap_or(line)
                        } else {
                            line
                        };
                        patterns.push(pattern.to_owned());
                        lines.push(line.to_owned());
                    }
                    if let Some(registry) = self.pattern_files.as_deref_mut() {
                        let shared = match registry.iter().find(|f| f.path == file.text) {
                            Some(f) => f.clone(),
                            None => {
                                let f = Arc::new(crate::pattern_file::PatternFile::new(
                                    &file.text, &lines,
                                ));
                                registry.push(f.clone());
                                f
                            }
                        };
                        if let Ok(mut used) = shared.used_by.lock() {
                            used.push(acl.span.line);
                        }
                        files.push(shared);
                    }
                }
                Err(e) => {
                    self.error(
                        file.span,
                        format!("cannot open file '{}': {e}", file.text),
                        Some(
                            "relative paths are read from the current directory, as HAProxy does"
                                .into(),
                        ),
                    );
                    return None;
                }
            }
        }
        let matcher = match Matcher::compile(method, &patterns, acl.flags.ignore_case) {
            Ok(m) => m,
            Err(e) => {
                let span = acl
                    .patterns
                    .iter()
                    .find(|w| e.contains(&w.text))
                    .map(|w| w.span)
                    .unwrap_or(acl.span);
                let help = if method == MatchMethod::Reg {
                    Some(
                        "write a regular expression the 'regex' crate accepts (RE2 syntax)"
                            .to_owned(),
                    )
                } else {
                    None
                };
                self.error(span, e, help);
                return None;
            }
        };
        let matcher = if files.is_empty() {
            crate::pattern_file::LineMatcher::Fixed(matcher)
        } else {
            match crate::pattern_file::LiveMatcher::new(
                method,
                acl.flags.ignore_case,
                inline,
                acl.flags.map_files,
                files,
            ) {
                Ok(live) => crate::pattern_file::LineMatcher::Live(live),
                Err(e) => {
                    self.error(acl.span, e, None);
                    return None;
                }
            }
        };
        Some(AclLine {
            expr,
            method,
            icase: acl.flags.ignore_case,
            matcher,
            patterns,
            inline_patterns,
            span: acl.span,
        })
    }

    fn acl_id(&mut self, acl: &AclRef) -> Option<AclId> {
        match acl {
            AclRef::Named(w) => {
                if let Some(&id) = self.names.get(&w.text) {
                    return Some(id);
                }
                let Some(line) = predefined(&w.text) else {
                    if PREDEFINED_ACLS.contains(&w.text.as_str()) {
                        self.error(
                            w.span,
                            format!(
                                "predefined ACL '{}' is not supported by switchyard yet",
                                w.text
                            ),
                            Some("it needs TCP content inspection".into()),
                        );
                    }
                    return None;
                };
                let id = self.acls.len();
                self.names.insert(w.text.clone(), id);
                let line = self.acl_line_from_text(&line, w.span)?;
                self.acls.push(Acl {
                    name: w.text.clone(),
                    lines: vec![line],
                });
                Some(id)
            }
            AclRef::Anonymous(expr) => {
                let line = self.acl_line(expr)?;
                self.acls.push(Acl {
                    name: format!("{{ {} }}", expr.fetch_word.text),
                    lines: vec![line],
                });
                Some(self.acls.len() - 1)
            }
        }
    }

    fn acl_line_from_text(&mut self, text: &str, span: Span) -> Option<AclLine> {
        let words: Vec<Word> = text.split(' ').map(|t| Word::new(t, span)).collect();
        let expr = AclExpr::parse(&words).ok()?;
        self.acl_line(&expr)
    }

    pub fn cond(&mut self, c: &Condition) -> Option<Cond> {
        let mut alternatives = Vec::new();
        for alt in &c.alternatives {
            let mut terms = Vec::new();
            for t in alt {
                // Unknown names were reported by the grammar's validation.
                terms.push(Term {
                    negated: t.negated,
                    acl: self.acl_id(&t.acl)?,
                });
            }
            alternatives.push(terms);
        }
        Some(Cond {
            unless: c.polarity == Polarity::Unless,
            alternatives,
            span: c.span,
        })
    }

    pub fn fmt(&mut self, f: &LogFormat) -> Option<Fmt> {
        let mut out = Vec::new();
        for part in &f.parts {
            out.push(match part {
                LogFormatPart::Literal(s) => FmtPart::Lit(s.clone()),
                LogFormatPart::Sample { expr, .. } => FmtPart::Sample(self.expr(expr, None)?.0),
                LogFormatPart::Variable { name, .. } => FmtPart::Var(name.clone()),
            });
        }
        Some(out)
    }

    pub(crate) fn regex(&mut self, w: &Word) -> Option<Regex> {
        match Regex::new(&w.text) {
            Ok(r) => Some(r),
            Err(e) => {
                self.error(
                    w.span,
                    format!(
                        "invalid regex '{}': {}",
                        w.text,
                        e.to_string().lines().last().unwrap_or_default().trim()
                    ),
                    None,
                );
                None
            }
        }
    }

    fn reply(&mut self, spec: &ReturnSpec) -> Option<Reply> {
        let (body, raw_http) = match &spec.body {
            ReturnBody::None => (Body::None, false),
            // `errorfiles NAME` is resolved by the grammar; one left (its
            // section is missing, an error already) answers the same.
            ReturnBody::DefaultErrorfiles | ReturnBody::Errorfiles(_) => (Body::ErrorPage, false),
            ReturnBody::String(s) => (Body::Text(s.clone()), false),
            ReturnBody::LfString(f) => (Body::Format(self.fmt(f)?), false),
            ReturnBody::File(w) | ReturnBody::LfFile(w) | ReturnBody::Errorfile(w) => {
                let bytes = match self.files.get(&w.text) {
                    Some(b) => b.clone(),
                    None => match self.fs.read(&w.text) {
                        Ok(b) => b,
                        Err(e) => {
                            self.error(w.span, format!("cannot open file '{}': {e}", w.text), None);
                            return None;
                        }
                    },
                };
                match &spec.body {
                    // The file's text is a log-format string, evaluated
                    // for each answer as HAProxy does.
                    ReturnBody::LfFile(w) => (Body::Format(self.lf_file(w, &bytes)?), false),
                    ReturnBody::Errorfile(_) => (Body::Bytes(Arc::new(bytes)), true),
                    _ => (Body::Bytes(Arc::new(bytes)), false),
                }
            }
        };
        let mut headers = Vec::new();
        for (name, value) in &spec.headers {
            headers.push((name.clone(), self.fmt(value)?));
        }
        Some(Reply {
            status: spec.status,
            content_type: spec.content_type.clone(),
            body,
            headers,
            raw_http,
        })
    }

    /// An `lf-file`'s contents compiled as a log-format string; an error
    /// points at the file's name in the rule.
    fn lf_file(&mut self, file: &Word, bytes: &[u8]) -> Option<Fmt> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            self.error(
                file.span,
                format!(
                    "'{}' is not UTF-8 text, which a log-format file must be",
                    file.text
                ),
                Some("use 'file' for a payload sent as it is".into()),
            );
            return None;
        };
        let word = Word {
            text: text.to_owned(),
            span: file.span,
            quoted: true,
        };
        match LogFormat::parse(&word) {
            Ok(format) => self.fmt(&format),
            Err(diagnostic) => {
                self.error(
                    file.span,
                    format!(
                        "the log-format in '{}' is invalid: {}",
                        file.text, diagnostic.message
                    ),
                    diagnostic.help.clone(),
                );
                None
            }
        }
    }

    fn redirect(&mut self, r: &Redirect) -> Option<RedirectAction> {
        Some(RedirectAction {
            kind: r.kind,
            target: self.fmt(&r.target)?,
            code: r.code,
            drop_query: r.drop_query,
            append_slash: r.append_slash,
            set_cookie: r.set_cookie.clone(),
            clear_cookie: r.clear_cookie.clone(),
            ignore_empty: r.ignore_empty,
        })
    }

    fn rule(&mut self, rule: &HttpRule) -> Option<Rule> {
        let action = match &rule.action {
            HttpAction::Allow => Action::Allow,
            HttpAction::Deny(spec) => Action::Deny(self.reply(spec)?),
            HttpAction::Reject => Action::Reject,
            HttpAction::Return(spec) => Action::Return(self.reply(spec)?),
            HttpAction::Redirect(r) => Action::Redirect(self.redirect(r)?),
            HttpAction::SetHeader { name, value } => {
                Action::SetHeader(name.to_ascii_lowercase(), self.fmt(value)?)
            }
            HttpAction::AddHeader { name, value } => {
                Action::AddHeader(name.to_ascii_lowercase(), self.fmt(value)?)
            }
            HttpAction::DelHeader { name, method } => {
                let m = match method {
                    Some(w) => match MatchMethod::parse(&w.text).filter(|m| {
                        matches!(
                            m,
                            MatchMethod::Str
                                | MatchMethod::Beg
                                | MatchMethod::End
                                | MatchMethod::Sub
                                | MatchMethod::Reg
                        )
                    }) {
                        Some(m) => Some(m),
                        None => {
                            self.error(
                                w.span,
                                format!("unsupported match method '{}' for del-header", w.text),
                                Some("use str, beg, end, sub or reg".into()),
                            );
                            return None;
                        }
                    },
                    None => None,
                };
                match HeaderNameMatch::compile(name, m) {
                    Ok(matcher) => Action::DelHeader(matcher),
                    Err(e) => {
                        self.error(
                            method.as_ref().map_or(rule.span, |w| w.span),
                            format!("invalid del-header pattern '{name}': {e}"),
                            None,
                        );
                        return None;
                    }
                }
            }
            HttpAction::ReplaceHeader {
                name,
                regex,
                replacement,
            } => Action::ReplaceHeader(
                name.to_ascii_lowercase(),
                self.regex(regex)?,
                self.fmt(replacement)?,
            ),
            HttpAction::ReplaceValue {
                name,
                regex,
                replacement,
            } => Action::ReplaceValue(
                name.to_ascii_lowercase(),
                self.regex(regex)?,
                self.fmt(replacement)?,
            ),
            HttpAction::SetPath(f) => Action::SetPath(self.fmt(f)?, UriPart::Path),
            HttpAction::SetPathq(f) => Action::SetPath(self.fmt(f)?, UriPart::PathQuery),
            HttpAction::ReplacePath { regex, replacement } => {
                Action::ReplacePath(self.regex(regex)?, self.fmt(replacement)?, UriPart::Path)
            }
            HttpAction::ReplacePathq { regex, replacement } => Action::ReplacePath(
                self.regex(regex)?,
                self.fmt(replacement)?,
                UriPart::PathQuery,
            ),
            HttpAction::ReplaceUri { regex, replacement } => {
                Action::ReplacePath(self.regex(regex)?, self.fmt(replacement)?, UriPart::Whole)
            }
            HttpAction::SetQuery(f) => Action::SetQuery(self.fmt(f)?),
            HttpAction::SetUri(f) => Action::SetUri(self.fmt(f)?),
            HttpAction::SetMethod(f) => Action::SetMethod(self.fmt(f)?),
            HttpAction::SetStatus { status, reason } => Action::SetStatus(*status, reason.clone()),
            HttpAction::Auth { realm } => Action::Auth(realm.clone()),
            HttpAction::UseService(w) => Action::UseService(w.text.clone()),
            HttpAction::SetVar(set) => {
                self.uses_vars = true;
                let value = match &set.source {
                    VarSource::Expr(expr, word) => VarValue::Expr(self.expr(expr, Some(word))?.0),
                    VarSource::Fmt(f) => VarValue::Fmt(self.fmt(f)?),
                };
                Action::SetVar(set.var.clone(), set.conds.clone(), value)
            }
            HttpAction::UnsetVar(var) => {
                self.uses_vars = true;
                Action::UnsetVar(var.clone())
            }
            HttpAction::Capture { sample, slot } => {
                use switchyard_grammar::ast::capture::CaptureTarget;
                let id = match slot {
                    CaptureTarget::Id(id) | CaptureTarget::New(id) => *id,
                };
                Action::Capture(self.expr(sample, None)?.0, id)
            }
        };
        let cond = match &rule.condition {
            Some(c) => Some(self.cond(c)?),
            None => None,
        };
        Some(Rule {
            action,
            cond,
            span: rule.span,
        })
    }
}

/// HAProxy's predefined ACLs, as ACL lines.
fn predefined(name: &str) -> Option<String> {
    if !PREDEFINED_ACLS.contains(&name) {
        return None;
    }
    Some(
        match name {
            "TRUE" => "always_true",
            "FALSE" => "always_false",
            "HTTP" => "req.proto_http",
            "HTTP_1.0" => "req.ver 1.0",
            "HTTP_1.1" => "req.ver 1.1",
            "HTTP_2.0" => "req.ver 2.0",
            "HTTP_CONTENT" => "hdr_val(content-length) gt 0",
            "HTTP_URL_ABS" => "url_reg ^[^/:]*://",
            "HTTP_URL_SLASH" => "url_beg /",
            "HTTP_URL_STAR" => "url *",
            "LOCALHOST" => "src 127.0.0.1/8 ::1",
            "METH_CONNECT" => "method CONNECT",
            "METH_DELETE" => "method DELETE",
            "METH_GET" => "method GET HEAD",
            "METH_HEAD" => "method HEAD",
            "METH_OPTIONS" => "method OPTIONS",
            "METH_POST" => "method POST",
            "METH_PUT" => "method PUT",
            "METH_TRACE" => "method TRACE",
            "REQ_CONTENT" => "req.len gt 0",
            // RDP_COOKIE and WAIT_END need TCP content inspection.
            _ => return None,
        }
        .to_owned(),
    )
}

//! Evaluation: HAProxy's order (`http-request` rules, `redirect` rules,
//! `use_backend` first match, `default_backend`, then the backend's own
//! `http-request` rules), each ACL evaluated at most once per request.

use regex::{Captures, Regex};
use smallvec::SmallVec;
use switchyard_grammar::ast::stats::StatsVerdict;
use switchyard_grammar::Span;

use crate::compile::{
    Action, Body, Cond, Expr, FixedDecision, Fmt, FmtPart, ProxyRules, RedirectAction, Reply, Rule,
    Target, VarValue,
};
use crate::decision::{AclTrace, Answer, AnswerKind, Decision, Outcome, RuleTrace, Trace};
use crate::fetch::{last_value, AuthResult};
use crate::index::Candidates;
use crate::pattern_sets::Matched;
use crate::request::{path_of, query_of, OwnedRequest, RequestFacts};
use crate::value::Value;
use crate::RuleSet;
use switchyard_grammar::ast::var::{VarName, VarScope};

/// How the rules are walked for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// ACLs answered by their pattern groups; only the switching rules the
    /// groups' answers leave possible are checked.
    Indexed,
    /// The same ACL answers, every rule checked in order (for a trace).
    InOrder,
    /// Every ACL line matched on its own, every rule in order: the
    /// reference the other two are tested against.
    Reference,
}

/// The ACL answers known so far in one request. A request usually
/// evaluates a few ACLs of however many the proxy has (10,000 host rules:
/// one), so they are kept as a short list on the stack; a request that
/// evaluates more (a long `http-request` list, the reference evaluation)
/// moves to a table by ACL id. A table made per request for every ACL of
/// the proxy cost 10,000 instructions per request in scenario 3
/// (docs/performance.md).
#[derive(Default)]
struct Memo {
    few: SmallVec<[(u32, bool); MEMO_LIST]>,
    /// By ACL id, once `few` is full.
    many: Vec<Option<bool>>,
}

/// How many answers [`Memo`] keeps in its list.
const MEMO_LIST: usize = 16;

impl Memo {
    fn get(&self, id: usize) -> Option<bool> {
        if !self.many.is_empty() {
            return self.many.get(id).copied().flatten();
        }
        self.few
            .iter()
            .find(|&&(acl, _)| acl as usize == id)
            .map(|&(_, answer)| answer)
    }

    fn set(&mut self, id: usize, answer: bool) {
        if self.many.is_empty() && self.few.len() < MEMO_LIST {
            self.few.push((id as u32, answer));
            return;
        }
        for (acl, answer) in self.few.drain(..) {
            Self::put(&mut self.many, acl as usize, answer);
        }
        Self::put(&mut self.many, id, answer);
    }

    fn put(many: &mut Vec<Option<bool>>, id: usize, answer: bool) {
        if many.len() <= id {
            many.resize(id + 1, None);
        }
        many[id] = Some(answer);
    }

    fn clear(&mut self) {
        self.few.clear();
        self.many.fill(None);
    }
}

/// Per-request state: ACL results so far, and the trace when explaining.
pub(crate) struct Eval<'a> {
    set: &'a RuleSet,
    proxy: &'a ProxyRules,
    /// ACL results by id: `None` until evaluated.
    memo: Memo,
    /// Whether ACL lines are answered by their pattern groups.
    use_groups: bool,
    /// Per pattern group: the lines that matched, once searched.
    answers: SmallVec<[Option<Matched>; 4]>,
    trace: Option<&'a mut Trace>,
    acl_traces: Vec<AclTrace>,
}

impl<'a> Eval<'a> {
    pub fn new(set: &'a RuleSet, proxy: &'a ProxyRules, trace: Option<&'a mut Trace>) -> Self {
        Eval {
            set,
            proxy,
            memo: Memo::default(),
            use_groups: true,
            answers: SmallVec::from_elem(None, proxy.sets.groups().len()),
            trace,
            acl_traces: Vec::new(),
        }
    }

    pub fn proxy(&self) -> &'a ProxyRules {
        self.proxy
    }

    /// The lines of pattern group `group` that match `req`, searched once.
    pub fn group_answer(&mut self, group: usize, req: &dyn RequestFacts) -> &Matched {
        let (set, proxy) = (self.set, self.proxy);
        self.answers[group].get_or_insert_with(|| proxy.sets.groups()[group].matched(set, req))
    }

    /// Forgets every answer: the request was edited.
    fn forget(&mut self) {
        self.memo.clear();
        self.answers.fill(None);
    }

    fn tracing(&self) -> bool {
        self.trace.is_some()
    }

    /// Whether ACL `id` matches; computed once per request.
    fn acl(&mut self, id: usize, req: &dyn RequestFacts) -> bool {
        if let Some(r) = self.memo.get(id) {
            return r;
        }
        let acl = &self.proxy.acls[id];
        let mut fetched = Vec::new();
        let tracing = self.tracing();
        let mut result = false;
        for (n, line) in acl.lines.iter().enumerate() {
            let placed = match self.use_groups {
                true => self.proxy.sets.placement(id, n),
                false => None,
            };
            if let Some(p) = placed {
                result = self.group_answer(p.group, req).contains(p.slot);
                if tracing {
                    self.set
                        .expr_each(&line.expr, req, &mut |value| fetched.push(value.to_text()));
                }
            } else {
                // Each value is matched as it is fetched (HAProxy tries
                // header occurrences in turn); an ACL with no pattern on a
                // string fetch never matches, as in HAProxy; `-m found` and
                // booleans need none.
                self.set.expr_each(&line.expr, req, &mut |value| {
                    if tracing {
                        fetched.push(value.to_text());
                    }
                    if !result && line.matcher.matches_one(&value) {
                        result = true;
                    }
                });
            }
            if result {
                break;
            }
        }
        self.memo.set(id, result);
        if self.tracing() {
            self.acl_traces.push(AclTrace {
                name: acl.name.clone(),
                fetched,
                result,
            });
        }
        result
    }

    fn cond(&mut self, cond: &Cond, req: &dyn RequestFacts) -> bool {
        let mut any = false;
        for alt in &cond.alternatives {
            let mut all = true;
            for term in alt {
                if self.acl(term.acl, req) == term.negated {
                    all = false;
                    break;
                }
            }
            if all {
                any = true;
                break;
            }
        }
        any != cond.unless
    }

    /// Evaluates an optional condition and records the rule in the trace.
    fn check(
        &mut self,
        cond: Option<&Cond>,
        req: &dyn RequestFacts,
        span: Span,
        kind: &'static str,
    ) -> bool {
        let matched = match cond {
            Some(c) => self.cond(c, req),
            None => true,
        };
        if let Some(trace) = self.trace.as_deref_mut() {
            trace.rules.push(RuleTrace {
                proxy: self.proxy.name.clone(),
                span,
                kind,
                matched,
                acls: std::mem::take(&mut self.acl_traces),
            });
        }
        matched
    }

    /// The first matching `force-persist`/`ignore-persist` rule's kind.
    fn persist_rule(
        &mut self,
        rules: &[crate::compile::PersistRule],
        current: &Current<'_>,
    ) -> Option<crate::decision::PersistOverride> {
        rules
            .iter()
            .find(|r| {
                let kind = match r.kind {
                    crate::decision::PersistOverride::Force => "force-persist",
                    crate::decision::PersistOverride::Ignore => "ignore-persist",
                };
                self.check(Some(&r.cond), current.facts(), r.span, kind)
            })
            .map(|r| r.kind)
    }

    /// Runs a list of `http-request` (or legacy `redirect`) rules. Returns a
    /// final outcome, or `None` to continue; `rewritten` receives edits.
    fn run_rules(
        &mut self,
        rules: &[Rule],
        kind: &'static str,
        req: &mut Current<'_>,
    ) -> Option<(Outcome, Span)> {
        for rule in rules {
            if !self.check(rule.cond.as_ref(), req.facts(), rule.span, kind) {
                continue;
            }
            match &rule.action {
                Action::Allow => return None,
                Action::Deny(reply) => {
                    return Some((
                        Outcome::Answer(self.set.reply(
                            reply,
                            AnswerKind::Deny,
                            &self.proxy.error_messages,
                            req.facts(),
                        )),
                        rule.span,
                    ))
                }
                Action::Reject => {
                    let answer = Answer {
                        status: 403,
                        headers: Vec::new(),
                        body: None,
                        raw_http: false,
                        kind: AnswerKind::Reject,
                    };
                    return Some((Outcome::Answer(answer), rule.span));
                }
                Action::Return(reply) => {
                    return Some((
                        Outcome::Answer(self.set.reply(
                            reply,
                            AnswerKind::Return,
                            &self.proxy.error_messages,
                            req.facts(),
                        )),
                        rule.span,
                    ))
                }
                Action::Redirect(r) => {
                    // `ignore-empty` with an empty target: the rule does
                    // nothing and the next one runs.
                    if let Some(answer) = self.set.redirect(r, req.facts()) {
                        return Some((Outcome::Answer(answer), rule.span));
                    }
                }
                Action::Auth(realm) => {
                    let realm = realm.clone().unwrap_or_else(|| self.proxy.name.clone());
                    let answer = Answer {
                        status: 401,
                        headers: vec![(
                            "www-authenticate".into(),
                            format!("Basic realm=\"{realm}\""),
                        )],
                        body: None,
                        raw_http: false,
                        kind: AnswerKind::Auth,
                    };
                    return Some((Outcome::Answer(answer), rule.span));
                }
                Action::UseService(name) => {
                    return Some((Outcome::Service(name.clone()), rule.span))
                }
                Action::SetStatus(..) => {}
                Action::SetVar(..) | Action::UnsetVar(..) => {
                    self.set.var_action(&rule.action, req.facts());
                    // Later rules see the variable: forget ACL results.
                    self.forget();
                }
                Action::Capture(expr, slot) => {
                    if let Some(text) = self.set.sample(expr, req.facts()) {
                        req.captures.push((*slot, text));
                    }
                }
                edit => {
                    let owned = req.own();
                    self.set.apply_edit(edit, owned);
                    // Later rules see the edited request: forget ACL results.
                    self.forget();
                }
            }
        }
        None
    }
}

/// The request being decided: the caller's view until an edit makes an
/// owned copy.
pub(crate) struct Current<'r> {
    original: &'r dyn RequestFacts,
    owned: Option<OwnedRequest>,
    /// What `http-request capture` rules stored, by request slot.
    captures: Vec<(usize, String)>,
}

impl<'r> Current<'r> {
    pub fn new(original: &'r dyn RequestFacts) -> Self {
        Current {
            original,
            owned: None,
            captures: Vec::new(),
        }
    }

    pub fn facts(&self) -> &dyn RequestFacts {
        match &self.owned {
            Some(o) => o,
            None => self.original,
        }
    }

    fn own(&mut self) -> &mut OwnedRequest {
        let original = self.original;
        self.owned.get_or_insert_with(|| owned_copy(original))
    }
}

fn owned_copy(req: &dyn RequestFacts) -> OwnedRequest {
    let mut headers = Vec::new();
    req.for_each_header(&mut |n, v| {
        headers.push((n.to_owned(), String::from_utf8_lossy(v).into_owned()))
    });
    OwnedRequest {
        method: req.method().to_owned(),
        target: req.target().to_owned(),
        version: req.version().to_owned(),
        headers,
        src: req.src(),
        dst: req.dst(),
        tls: req.tls().cloned(),
        body: Vec::new(),
        vars: req.vars().cloned(),
    }
}

impl RuleSet {
    /// Every value of an expression, fetched and through its converters,
    /// passed to `f` as it comes; and whether more buffered data could still
    /// change them (see [`crate::fetch::Fetch::values_may_change`]).
    pub(crate) fn expr_each<'r>(
        &self,
        expr: &Expr,
        req: &'r dyn RequestFacts,
        f: &mut dyn FnMut(Value<'r>),
    ) -> bool {
        let auth = |list: usize, r: &dyn RequestFacts| self.authenticate(list, r);
        if expr.converters.is_empty() {
            return expr.fetch.values_may_change(req, &auth, f);
        }
        let vars = converter_vars(req);
        expr.fetch.values_may_change(req, &auth, &mut |value| {
            if let Some(value) = expr
                .converters
                .iter()
                .try_fold(value, |v, c| c.apply_in(v, vars))
            {
                f(value)
            }
        })
    }

    /// The sample an expression yields in a log-format (its last value).
    fn sample(&self, expr: &Expr, req: &dyn RequestFacts) -> Option<String> {
        let auth = |list: usize, r: &dyn RequestFacts| self.authenticate(list, r);
        let value = last_value(&expr.fetch, req, &auth)?;
        let vars = converter_vars(req);
        expr.converters
            .iter()
            .try_fold(value, |v, c| c.apply_in(v, vars))
            .map(|v| v.to_text())
    }

    pub(crate) fn render(&self, fmt: &Fmt, req: &dyn RequestFacts) -> String {
        let mut out = String::new();
        for part in fmt {
            match part {
                FmtPart::Lit(s) => out.push_str(s),
                FmtPart::Sample(expr) => out.push_str(&self.sample(expr, req).unwrap_or_default()),
                FmtPart::Var(name) => out.push_str(&variable(name, req)),
            }
        }
        out
    }

    /// A `deny`/`return` answer, its fields in HAProxy's order: the `hdr`
    /// ones, then `content-length`, then `content-type` (only with a
    /// non-empty payload: HAProxy sends no type for nothing).
    ///
    /// An answer with the proxy's error page (a `deny` without a body,
    /// `default-errorfiles`) takes the proxy's `http-error` message for
    /// the status when it has one (`messages`).
    pub(crate) fn reply(
        &self,
        reply: &Reply,
        kind: AnswerKind,
        messages: &[Reply],
        req: &dyn RequestFacts,
    ) -> Answer {
        let error_page = matches!(
            (&reply.body, kind),
            (Body::ErrorPage, _) | (Body::None, AnswerKind::Deny)
        );
        if let Some(message) = messages
            .iter()
            .find(|m| error_page && m.status == reply.status)
        {
            // A message without a payload is an empty one, as for `return`.
            let answer = self.reply(message, AnswerKind::Return, &[], req);
            return Answer { kind, ..answer };
        }
        let mut headers = Vec::new();
        for (name, fmt) in &reply.headers {
            headers.push((name.to_ascii_lowercase(), self.render(fmt, req)));
        }
        let body = match &reply.body {
            Body::None => None,
            Body::ErrorPage => {
                return Answer {
                    status: reply.status,
                    headers,
                    body: None,
                    raw_http: false,
                    kind,
                }
            }
            Body::Text(s) => Some(s.clone().into_bytes()),
            Body::Format(f) => Some(self.render(f, req).into_bytes()),
            Body::Bytes(b) => Some(b.as_ref().clone()),
        };
        // `return` without a body sends an empty one; `deny` uses the error page.
        let body = match (kind, body) {
            (AnswerKind::Return, None) => Some(Vec::new()),
            (_, b) => b,
        };
        // An `errorfile` payload is a whole response, with its own fields.
        if let (Some(body), false) = (&body, reply.raw_http) {
            headers.push(("content-length".to_owned(), body.len().to_string()));
            if let (Some(ct), false) = (&reply.content_type, body.is_empty()) {
                headers.push(("content-type".to_owned(), ct.clone()));
            }
        }
        Answer {
            status: reply.status,
            headers,
            body,
            raw_http: reply.raw_http,
            kind,
        }
    }

    fn redirect(&self, r: &RedirectAction, req: &dyn RequestFacts) -> Option<Answer> {
        use switchyard_grammar::ast::http_rule::RedirectKind;
        let target = self.render(&r.target, req);
        if r.ignore_empty && target.is_empty() {
            return None;
        }
        let path = path_of(req.target());
        let query = query_of(req.target());
        let mut rest = path.to_owned();
        if r.append_slash && !rest.ends_with('/') {
            rest.push('/');
        }
        if let (false, Some(q)) = (r.drop_query, query) {
            rest.push('?');
            rest.push_str(q);
        }
        let location = match r.kind {
            RedirectKind::Location => target,
            RedirectKind::Prefix if target == "/" => rest,
            RedirectKind::Prefix => format!("{}{rest}", target.trim_end_matches('/')),
            RedirectKind::Scheme => {
                let mut host = String::new();
                crate::fetch::header_values(req, "host", false, &mut |v| {
                    if host.is_empty() {
                        host = v.into_owned();
                    }
                });
                format!("{target}://{host}{rest}")
            }
        };
        // HAProxy's order; `no-cache` only on the redirects a cache may
        // keep by default otherwise (302, 303, 307), as HAProxy sends it.
        let mut headers = vec![
            ("content-length".to_owned(), "0".to_owned()),
            ("location".to_owned(), location),
        ];
        if matches!(r.code, 302 | 303 | 307) {
            headers.push(("cache-control".into(), "no-cache".into()));
        }
        if let Some(c) = &r.set_cookie {
            headers.push(("set-cookie".into(), format!("{c}; path=/;")));
        }
        if let Some(c) = &r.clear_cookie {
            headers.push(("set-cookie".into(), format!("{c}; path=/; Max-Age=0;")));
        }
        Some(Answer {
            status: r.code,
            headers,
            body: Some(Vec::new()),
            raw_http: false,
            kind: AnswerKind::Redirect,
        })
    }

    fn apply_edit(&self, action: &Action, req: &mut OwnedRequest) {
        match action {
            Action::SetHeader(name, fmt) => {
                let value = self.render(fmt, req);
                req.headers.retain(|(n, _)| n != name);
                req.headers.push((name.clone(), value));
            }
            Action::AddHeader(name, fmt) => {
                let value = self.render(fmt, req);
                req.headers.push((name.clone(), value));
            }
            Action::DelHeader(matcher) => {
                req.headers.retain(|(n, _)| !matcher.matches(n));
            }
            Action::ReplaceHeader(name, re, fmt) => {
                let template = self.render(fmt, req);
                for (n, v) in req.headers.iter_mut() {
                    if n == name {
                        if let Some(new) = replace_whole(re, v, &template) {
                            *v = new;
                        }
                    }
                }
            }
            Action::ReplaceValue(name, re, fmt) => {
                let template = self.render(fmt, req);
                for (n, v) in req.headers.iter_mut() {
                    if n == name {
                        let parts: Vec<String> = v
                            .split(',')
                            .map(|p| {
                                let p = p.trim();
                                replace_whole(re, p, &template).unwrap_or_else(|| p.to_owned())
                            })
                            .collect();
                        *v = parts.join(", ");
                    }
                }
            }
            Action::SetPath(fmt, part) => {
                let new = self.render(fmt, req);
                let (before, _, after) = part.split(&req.target);
                req.target = format!("{before}{new}{after}");
            }
            Action::ReplacePath(re, fmt, part) => {
                let template = self.render(fmt, req);
                let (before, value, after) = part.split(&req.target);
                if let Some(new) = replace_whole(re, value, &template) {
                    req.target = format!("{before}{new}{after}");
                }
            }
            Action::SetQuery(fmt) => {
                let query = self.render(fmt, req);
                let path = req
                    .target
                    .split_once('?')
                    .map(|(p, _)| p.to_owned())
                    .unwrap_or_else(|| req.target.clone());
                req.target = if query.is_empty() {
                    path
                } else {
                    format!("{path}?{query}")
                };
            }
            Action::SetUri(fmt) => req.target = self.render(fmt, req),
            Action::SetMethod(fmt) => req.method = self.render(fmt, req),
            _ => {}
        }
    }

    /// Checks Basic credentials against userlist `list`.
    pub(crate) fn authenticate(&self, list: usize, req: &dyn RequestFacts) -> AuthResult {
        let Some((user, pass)) = req.basic_credentials() else {
            return AuthResult::Invalid;
        };
        match self.userlists.get(list).and_then(|l| l.check(&user, &pass)) {
            Some(groups) => AuthResult::Valid(groups),
            None => AuthResult::Invalid,
        }
    }

    /// Runs `proxy`'s rules for `req`.
    pub(crate) fn run(
        &self,
        frontend: &ProxyRules,
        req: &dyn RequestFacts,
        strategy: Strategy,
        trace: Option<&mut Trace>,
    ) -> Decision {
        self.run_with(frontend, req, strategy, trace, true)
    }

    /// [`RuleSet::run`]; without `http`, only the switching rules run (a
    /// TCP connection).
    pub(crate) fn run_with(
        &self,
        frontend: &ProxyRules,
        req: &dyn RequestFacts,
        strategy: Strategy,
        trace: Option<&mut Trace>,
        http: bool,
    ) -> Decision {
        // A proxy without rules: nothing to evaluate (unless traced).
        if let (Some(fixed), None) = (&frontend.fixed_decision, &trace) {
            let (outcome, rule) = match fixed {
                FixedDecision::Backend(name, rule) => (Outcome::Backend(name.clone()), *rule),
                FixedDecision::NoBackend => (Outcome::NoBackend, None),
            };
            return Decision {
                outcome,
                rewritten: None,
                rule: rule.filter(|&span| span != Span::default()),
                persist: None,
                captures: Vec::new(),
            };
        }
        let mut current = Current::new(req);
        if self.uses_vars && req.vars().is_none() {
            // A fixture or `explain`: the decision keeps its variables.
            current.own().vars = Some(std::sync::Arc::new(self.new_vars()));
        }
        let mut eval = Eval::new(self, frontend, trace);
        eval.use_groups = strategy != Strategy::Reference;
        let finish = |current: Current<'_>, outcome, rule| Decision {
            outcome,
            rewritten: current.owned,
            rule,
            persist: None,
            captures: current.captures,
        };
        let no_rules: &[crate::compile::Rule] = &[];
        let (http_request, redirects) = if http {
            (&frontend.http_request[..], &frontend.redirects[..])
        } else {
            (no_rules, no_rules)
        };
        if let Some((outcome, span)) = eval.run_rules(http_request, "http-request", &mut current) {
            return finish(current, outcome, Some(span));
        }
        if let Some((outcome, span)) = eval.run_rules(redirects, "redirect", &mut current) {
            return finish(current, outcome, Some(span));
        }
        let mut decided: Option<(String, Span)> = None;
        let mut candidates = match strategy {
            Strategy::Indexed => Some(Candidates::new(&frontend.index)),
            _ => None,
        };
        let mut in_order = 0..frontend.switching.len();
        loop {
            let next = match &mut candidates {
                Some(c) => c.next(&mut eval, current.facts()),
                None => in_order.next(),
            };
            let Some(i) = next else {
                break;
            };
            let rule = &frontend.switching[i];
            if eval.check(
                rule.cond.as_ref(),
                current.facts(),
                rule.span,
                "use_backend",
            ) {
                let name = match &rule.target {
                    Target::Named(n) => n.clone(),
                    Target::Dynamic(f) => self.render(f, current.facts()),
                };
                // A dynamic name that names no backend falls through, as HAProxy does.
                if matches!(rule.target, Target::Dynamic(_))
                    && self.proxy(&name).is_none_or(|p| !p.is_backend)
                {
                    continue;
                }
                decided = Some((name, rule.span));
                break;
            }
        }
        if decided.is_none() {
            if let Some((name, span)) = &frontend.default_backend {
                if let Some(trace) = eval.trace.as_deref_mut() {
                    trace.rules.push(RuleTrace {
                        proxy: frontend.name.clone(),
                        span: *span,
                        kind: "default_backend",
                        matched: true,
                        acls: Vec::new(),
                    });
                }
                decided = Some((name.clone(), *span));
            }
        }
        let (backend_name, span) = match decided {
            Some(d) => d,
            // A listen section is its own backend.
            None if frontend.is_backend => (frontend.name.clone(), Span::default()),
            None => return finish(current, Outcome::NoBackend, None),
        };
        let rule = if span == Span::default() {
            None
        } else {
            Some(span)
        };
        let mut persist = None;
        if backend_name == frontend.name {
            persist = eval.persist_rule(&frontend.persist, &current);
        } else if let Some(backend) = self.proxy(&backend_name) {
            let trace = eval.trace.take();
            let mut backend_eval = Eval::new(self, backend, trace);
            backend_eval.use_groups = eval.use_groups;
            persist = backend_eval.persist_rule(&backend.persist, &current);
            if http {
                if let Some((outcome, span)) =
                    backend_eval.run_rules(&backend.http_request, "http-request", &mut current)
                {
                    return finish(current, outcome, Some(span));
                }
                if let Some((outcome, span)) =
                    backend_eval.run_rules(&backend.redirects, "redirect", &mut current)
                {
                    return finish(current, outcome, Some(span));
                }
            }
        }
        let mut decision = finish(current, Outcome::Backend(backend_name), rule);
        decision.persist = persist;
        decision
    }
}

/// Replaces the whole `value` with `template` (`\1` groups) when `re` matches.
fn replace_whole(re: &Regex, value: &str, template: &str) -> Option<String> {
    let caps: Captures<'_> = re.captures(value)?;
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                chars.next();
                out.push_str(caps.get(d as usize).map(|m| m.as_str()).unwrap_or(""));
                continue;
            }
        }
        out.push(c);
    }
    Some(out)
}

/// The log-format `%` variables that make sense before a server is chosen.
fn variable(name: &str, req: &dyn RequestFacts) -> String {
    match name {
        "ci" => crate::fetch::canonical(req.src().ip()).to_string(),
        "cp" => req.src().port().to_string(),
        "fi" => req.dst().ip().to_string(),
        "fp" => req.dst().port().to_string(),
        "HM" => req.method().to_owned(),
        "HU" => req.target().to_owned(),
        "HP" => path_of(req.target()).to_owned(),
        "HQ" => query_of(req.target())
            .map(|q| format!("?{q}"))
            .unwrap_or_default(),
        "HV" => format!("HTTP/{}", req.version()),
        "pid" => std::process::id().to_string(),
        _ => "-".to_owned(),
    }
}

impl RuleSet {
    /// Whether `stats admin` lets request `req` change servers from the
    /// statistics page of `proxy`.
    pub fn stats_admin(&self, proxy: &str, req: &dyn RequestFacts) -> bool {
        let Some(rules) = self.frontend(proxy).or_else(|| self.proxy(proxy)) else {
            return false;
        };
        let mut eval = Eval::new(self, rules, None);
        rules.stats_admin.iter().any(|c| eval.cond(c, req))
    }

    /// The verdict of the first `stats http-request` rule of `proxy` that
    /// matches `req`; none when no rule does.
    pub fn stats_access(&self, proxy: &str, req: &dyn RequestFacts) -> Option<StatsVerdict> {
        let rules = self.frontend(proxy).or_else(|| self.proxy(proxy))?;
        let mut eval = Eval::new(self, rules, None);
        rules
            .stats_access
            .iter()
            .find(|(_, cond)| cond.as_ref().is_none_or(|c| eval.cond(c, req)))
            .map(|(verdict, _)| verdict.clone())
    }

    /// Whether a `monitor fail` condition of `frontend` holds for `req`:
    /// its monitor answer is then 503 instead of 200.
    pub fn monitor_fails(&self, frontend: &str, req: &dyn RequestFacts) -> bool {
        let Some(rules) = self.frontend(frontend) else {
            return false;
        };
        let mut eval = Eval::new(self, rules, None);
        rules.monitor_fail.iter().any(|c| eval.cond(c, req))
    }
}

impl RuleSet {
    /// Runs a `set-var`, `set-var-fmt` or `unset-var` action on `req`'s
    /// variables (none: the configuration's `proc` ones only).
    pub(crate) fn var_action(&self, action: &Action, req: &dyn RequestFacts) {
        let scope = |var: &VarName| match req.vars() {
            Some(vars) => Some(vars.scope(var.scope)),
            None => (var.scope == VarScope::Proc).then_some(&*self.proc_vars),
        };
        match action {
            Action::SetVar(var, conds, value) => {
                let Some(map) = scope(var) else { return };
                let value = match value {
                    VarValue::Expr(expr) => {
                        let auth = |list: usize, r: &dyn RequestFacts| self.authenticate(list, r);
                        let Some(sample) = last_value(&expr.fetch, req, &auth) else {
                            return;
                        };
                        let vars = converter_vars(req);
                        match expr
                            .converters
                            .iter()
                            .try_fold(sample, |v, c| c.apply_in(v, vars))
                        {
                            Some(v) => v,
                            None => return,
                        }
                    }
                    VarValue::Fmt(fmt) => Value::Str(self.render(fmt, req).into()),
                };
                map.set_if(&var.name, value, conds);
            }
            Action::UnsetVar(var) => {
                if let Some(map) = scope(var) {
                    map.unset(&var.name);
                }
            }
            _ => {}
        }
    }

    /// Runs `proxy`'s `http-response` rules (header actions) into `edits`.
    pub(crate) fn response_rules(
        &self,
        proxy: &ProxyRules,
        req: &dyn RequestFacts,
        edits: &mut Vec<crate::ResponseEdit>,
    ) {
        self.rules_to_edits(proxy, &proxy.http_response, req, edits);
    }

    /// Runs response-side `rules` of `proxy` into `edits`.
    pub(crate) fn rules_to_edits(
        &self,
        proxy: &ProxyRules,
        rules: &[Rule],
        req: &dyn RequestFacts,
        edits: &mut Vec<crate::ResponseEdit>,
    ) {
        let mut eval = Eval::new(self, proxy, None);
        for rule in rules {
            if !eval.check(rule.cond.as_ref(), req, rule.span, "http-response") {
                continue;
            }
            match &rule.action {
                Action::Allow => return,
                Action::SetHeader(name, fmt) => edits.push(crate::ResponseEdit::Set(
                    name.clone(),
                    self.render(fmt, req),
                )),
                Action::AddHeader(name, fmt) => edits.push(crate::ResponseEdit::Add(
                    name.clone(),
                    self.render(fmt, req),
                )),
                Action::DelHeader(matcher) => edits.push(crate::ResponseEdit::Del(matcher.clone())),
                Action::SetVar(..) | Action::UnsetVar(..) => {
                    self.var_action(&rule.action, req);
                    eval.forget();
                }
                Action::SetStatus(code, reason) => {
                    edits.push(crate::ResponseEdit::Status(*code, reason.clone()))
                }
                // Refused at compile time.
                _ => {}
            }
        }
    }
}

/// The variables a converter's arguments may name: the transaction's, or
/// none where no store exists.
fn converter_vars(req: &dyn RequestFacts) -> &dyn crate::converter::VarLookup {
    match req.vars() {
        Some(vars) => vars.as_ref(),
        None => &crate::converter::NoVars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_keeps_every_answer_past_its_list() {
        let mut memo = Memo::default();
        let ids: Vec<usize> = (0..3 * MEMO_LIST).map(|i| i * 7 % 101).collect();
        for (n, &id) in ids.iter().enumerate() {
            assert_eq!(memo.get(id), None);
            memo.set(id, n % 3 == 0);
            for (m, &seen) in ids[..=n].iter().enumerate() {
                assert_eq!(
                    memo.get(seen),
                    Some(m % 3 == 0),
                    "id {seen} after {n} answers"
                );
            }
        }
        assert_eq!(memo.get(1000), None);
        memo.clear();
        assert!(ids.iter().all(|&id| memo.get(id).is_none()));
        memo.set(5, true);
        assert_eq!(memo.get(5), Some(true));
    }
}

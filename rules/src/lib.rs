//! Switchyard's rules engine: `acl` lines and the rules that use them,
//! compiled into a decision structure that gives HAProxy's first-match
//! answer with a cost that stays flat as rules grow (see [`index`]).
//! The gateway's request path, `switchyard test` and `switchyard explain`
//! all call [`RuleSet::decide`] (or [`RuleSet::explain`], the same
//! evaluation with a trace). No networking here.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod check;
pub(crate) mod client_hello;
pub(crate) mod compile;
pub mod converter;
pub mod cookie;
pub mod decision;
mod eval;
pub mod fetch;
pub mod fetch_internal;
pub mod fixture;
pub(crate) mod header_match;
pub mod index;
pub(crate) mod keyword;
pub mod multi_regex;
pub mod pattern;
pub mod pattern_file;
pub mod pattern_sets;
pub mod request;
pub(crate) mod stream;
pub mod userlist;
pub(crate) mod value;
pub mod vars;
mod vars_cli;

use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::sync::Arc;

use switchyard_grammar::{Config, Diagnostics, FileAccess};

pub use decision::{Answer, AnswerKind, Decision, Outcome, Trace};
pub use request::{ClientCertFacts, OwnedRequest, RequestFacts, StreamFacts, TlsFacts};
pub use stream::TcpVerdict;

use compile::{ProxyCompiler, ProxyRules};
use eval::Strategy;
use userlist::CompiledUserlist;

/// The compiled rules of a whole configuration.
#[derive(Debug, Clone)]
pub struct RuleSet {
    proxies: Vec<ProxyRules>,
    by_name: FxHashMap<String, usize>,
    /// Frontends (and listen sections) by name: every request looks its
    /// frontend up, and a linear search would grow with the backends.
    frontends_by_name: FxHashMap<String, usize>,
    userlists: Vec<CompiledUserlist>,
    /// Every map file the rules use, by path; shared with the converters,
    /// so a change through the runtime API applies to the next request.
    maps: Vec<Arc<converter::MapFile>>,
    /// Every ACL pattern file (`-f`), in the order first read; shared with
    /// the ACL lines reading it, as `maps` are.
    pattern_files: Vec<Arc<pattern_file::PatternFile>>,
    /// The `proc.` variables, shared by every transaction.
    proc_vars: Arc<vars::VarMap>,
    /// Whether any rule sets or reads a variable.
    uses_vars: bool,
}

/// One `acl` line (or anonymous ACL) as the runtime API's `show acl` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclSummary {
    /// The section the ACL is in.
    pub proxy: String,
    /// The ACL's name.
    pub name: String,
    /// The fetch as written (`path_beg`, `hdr(host)`…).
    pub fetch: String,
    /// The configuration line it is written on.
    pub line: u32,
    /// The line's own patterns first, then those its files held at startup.
    pub patterns: Vec<String>,
    /// How many of `patterns` are the line's own.
    pub inline_patterns: usize,
}

impl RuleSet {
    /// Compiles every proxy's ACLs and rules; all errors are collected.
    pub fn compile(config: &Config, fs: &dyn FileAccess) -> Result<RuleSet, Diagnostics> {
        let mut diags = Diagnostics::new();
        let userlists: Vec<CompiledUserlist> = config
            .userlists
            .iter()
            .map(|u| CompiledUserlist::compile(u, &mut diags))
            .collect();
        let names: Vec<String> = userlists.iter().map(|u| u.name.clone()).collect();
        let lookup = |name: &str| names.iter().position(|n| n == name);
        let mut maps = HashMap::new();
        let mut pattern_files = Vec::new();
        let mut proxies = Vec::new();
        let mut by_name = FxHashMap::default();
        let mut frontends_by_name = FxHashMap::default();
        for proxy in &config.proxies {
            let mut compiler =
                ProxyCompiler::new(fs, &lookup, &mut maps, &config.files, &mut diags);
            compiler.pattern_files = Some(&mut pattern_files);
            let mut rules = compiler.compile(proxy);
            rules.sets = pattern_sets::PatternSets::build(&rules.acls, &mut diags);
            rules.index = index::SwitchIndex::build(&rules);
            // A frontend and a backend may share a name: the backend wins the
            // name lookup (it is what use_backend names), frontends are
            // found by position too.
            if proxy.kind.is_backend() || !by_name.contains_key(&proxy.name) {
                by_name.insert(proxy.name.clone(), proxies.len());
            }
            if rules.is_frontend {
                frontends_by_name
                    .entry(proxy.name.clone())
                    .or_insert(proxies.len());
            }
            proxies.push(rules);
        }
        if diags.has_errors() {
            return Err(diags);
        }
        let fixed: Vec<_> = proxies
            .iter()
            .map(|p| p.fixed(|name| by_name.get(name).map(|&i| &proxies[i])))
            .collect();
        for (proxy, fixed) in proxies.iter_mut().zip(fixed) {
            proxy.fixed_decision = fixed;
        }
        let mut maps: Vec<Arc<converter::MapFile>> = maps.into_values().collect();
        maps.sort_by(|a, b| a.path.cmp(&b.path));
        let uses_vars = proxies.iter().any(|p| p.uses_vars);
        Ok(RuleSet {
            proc_vars: Arc::default(),
            uses_vars,
            proxies,
            by_name,
            frontends_by_name,
            userlists,
            maps,
            pattern_files,
        })
    }

    /// Whether a rule sets or reads a variable: each transaction then
    /// needs a store ([`RuleSet::new_vars`]).
    pub fn uses_vars(&self) -> bool {
        self.uses_vars
    }

    /// The `proc.` variables (the runtime API's `get var`/`set var`).
    pub fn proc_vars(&self) -> &Arc<vars::VarMap> {
        &self.proc_vars
    }

    /// A new transaction's variables, on a connection of its own (its
    /// `sess.` ones die with it).
    pub fn new_vars(&self) -> vars::Vars {
        vars::Vars::new(self.proc_vars.clone(), Arc::default())
    }

    /// The ACL pattern files, in the order the configuration reads them.
    pub fn pattern_files(&self) -> &[Arc<pattern_file::PatternFile>] {
        &self.pattern_files
    }

    /// The map files the rules use, sorted by path.
    pub fn maps(&self) -> &[Arc<converter::MapFile>] {
        &self.maps
    }

    /// Every ACL line of every proxy, in file order.
    pub fn acl_summaries(&self) -> Vec<AclSummary> {
        let mut out: Vec<AclSummary> = self
            .proxies
            .iter()
            .flat_map(|p| {
                p.acls.iter().flat_map(move |acl| {
                    acl.lines.iter().map(move |line| AclSummary {
                        proxy: p.name.clone(),
                        name: acl.name.clone(),
                        fetch: line.expr.text.clone(),
                        line: line.span.line,
                        patterns: line.patterns.clone(),
                        inline_patterns: line.inline_patterns,
                    })
                })
            })
            .collect();
        out.sort_by_key(|a| a.line);
        out
    }

    pub(crate) fn proxy(&self, name: &str) -> Option<&ProxyRules> {
        self.by_name.get(name).map(|&i| &self.proxies[i])
    }

    /// The frontend (or listen) section named `name`.
    fn frontend(&self, name: &str) -> Option<&ProxyRules> {
        self.frontends_by_name.get(name).map(|&i| &self.proxies[i])
    }

    /// Names of the frontends, in file order.
    pub fn frontends(&self) -> impl Iterator<Item = &str> {
        self.proxies
            .iter()
            .filter(|p| p.is_frontend)
            .map(|p| p.name.as_str())
    }

    /// Decides `req` arriving on `frontend`; `None` if there is no such frontend.
    pub fn decide(&self, frontend: &str, req: &dyn RequestFacts) -> Option<Decision> {
        Some(self.run(self.frontend(frontend)?, req, Strategy::Indexed, None))
    }

    /// The same decision, from the same ACL answers (each pattern group
    /// searched once), with every rule before the deciding one checked in
    /// order and traced.
    pub fn explain(&self, frontend: &str, req: &dyn RequestFacts) -> Option<(Decision, Trace)> {
        let mut trace = Trace::default();
        let proxy = self.frontend(frontend)?;
        let decision = self.run(proxy, req, Strategy::InOrder, Some(&mut trace));
        Some((decision, trace))
    }

    /// The plain in-order evaluation, each ACL line matched on its own,
    /// kept as the reference the indexed evaluation is tested against.
    pub fn decide_linear(&self, frontend: &str, req: &dyn RequestFacts) -> Option<Decision> {
        Some(self.run(self.frontend(frontend)?, req, Strategy::Reference, None))
    }

    /// The sections (frontends, backends, listens) with `http-response`
    /// rules: usually none, so that a router can tell without a lookup per
    /// request.
    pub fn with_response_rules(&self) -> impl Iterator<Item = &str> {
        self.proxies
            .iter()
            .filter(|p| !p.http_response.is_empty())
            .map(|p| p.name.as_str())
    }

    /// Header edits of `http-response` rules (the backend's, then the
    /// frontend's): (name, value) to set, and names to delete, in order.
    pub fn response_edits(
        &self,
        frontend: &str,
        backend: &str,
        req: &dyn RequestFacts,
    ) -> Vec<ResponseEdit> {
        let mut edits = Vec::new();
        if let Some(vars) = req.vars() {
            // Response processing: the request's `req.` variables are gone.
            vars.end_request();
        }
        let mut proxies = Vec::new();
        if let Some(b) = self.proxy(backend) {
            proxies.push(b);
        }
        if let Some(f) = self.frontend(frontend) {
            if f.name != backend {
                proxies.push(f);
            }
        }
        for proxy in proxies {
            self.response_rules(proxy, req, &mut edits);
        }
        edits
    }

    /// Whether `frontend` has `http-after-response` rules (usually not:
    /// asked once per request).
    pub fn has_after_response(&self, frontend: &str) -> bool {
        self.frontend(frontend)
            .is_some_and(|p| !p.http_after_response.is_empty())
    }

    /// The edits of `frontend`'s `http-after-response` rules, for any
    /// response (a server's or the gateway's own).
    pub fn after_response_edits(
        &self,
        frontend: &str,
        req: &dyn RequestFacts,
    ) -> Vec<ResponseEdit> {
        let mut edits = Vec::new();
        if let Some(proxy) = self.frontend(frontend) {
            if let Some(vars) = req.vars() {
                vars.end_request();
            }
            self.rules_to_edits(proxy, &proxy.http_after_response, req, &mut edits);
        }
        edits
    }

    /// A section's `http-error status STATUS` message, its log-format parts
    /// (`lf-string`, `lf-file`, `hdr … %[…]`) rendered for `req`: the
    /// answer the gateway gives for an error of its own (a server's
    /// failure, a refused request) when the section has one. `frontend`
    /// says which of two sections of the same name is meant.
    pub fn error_message(
        &self,
        proxy: &str,
        frontend: bool,
        status: u16,
        req: &dyn RequestFacts,
    ) -> Option<Answer> {
        let section = if frontend {
            self.frontend(proxy)
        } else {
            self.proxy(proxy)
        }?;
        // The last message for a status is the one HAProxy keeps.
        let message = section
            .error_messages
            .iter()
            .rev()
            .find(|m| m.status == status)?;
        Some(self.reply(message, AnswerKind::Return, &[], req))
    }
}

/// One `http-response` header action, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseEdit {
    /// `set-status CODE [reason TEXT]`: the new status and reason phrase
    /// (`None`: the code's usual one).
    Status(u16, Option<String>),
    /// `http-response set-header`: replace every field of the name with this
    /// one.
    Set(String, String),
    /// `http-response add-header`: append this field.
    Add(String, String),
    /// Deletes every field whose name matches.
    Del(header_match::HeaderNameMatch),
}

/// "did you mean …?" help, shared by the compiler's messages.
pub(crate) fn suggest(word: &str, candidates: &[&str]) -> Option<String> {
    switchyard_grammar::suggest::did_you_mean(word, candidates)
        .map(|s| format!("did you mean '{s}'?"))
}

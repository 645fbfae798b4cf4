//! From raw sections to the validated [`Config`]: defaults inheritance,
//! `listen` as frontend plus backend, references between sections and
//! HAProxy's warnings.

use std::collections::HashMap;

use crate::ast::global::Global;
use crate::ast::http_rule::{HttpAction, ReturnBody};
use crate::ast::proxy::{HttpErrors, Mode, Proxy, ProxyKind};
use crate::ast::userlist::Userlist;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::env::Environment;
use crate::keyword;
use crate::reader::{read_files, RawSection, SectionKind};
use crate::span::{SourceMap, Span};

/// Reads the files a keyword names (`errorfile`, ACL `-f`, maps). The
/// grammar crate does no I/O itself; the binary passes the file system and
/// tests pass a map.
pub trait FileAccess {
    /// The whole content of the file at `path`, as the configuration wrote it.
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>>;
}

/// A [`FileAccess`] with no files: every read is `NotFound`. For
/// configurations held in memory (tests, benchmarks) that name no file.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

impl FileAccess for NoFiles {
    fn read(&self, _path: &str) -> std::io::Result<Vec<u8>> {
        Err(std::io::ErrorKind::NotFound.into())
    }
}

/// The whole configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `global` section's settings (defaults when there is none).
    pub global: Global,
    /// `frontend`, `backend` and `listen` sections in file order.
    pub proxies: Vec<Proxy>,
    /// `userlist` sections, for `http_auth` and `stats auth`.
    pub userlists: Vec<Userlist>,
    /// The environment after every `setenv`/`unsetenv` of `global`.
    pub env: Environment,
    /// Contents of the files named by `errorfile`, by path as written.
    pub files: HashMap<String, Vec<u8>>,
    /// `http-errors` sections.
    pub http_errors: Vec<HttpErrors>,
}

/// A configuration together with its sources and diagnostics; usable when
/// `diagnostics.has_errors()` is false.
#[derive(Debug)]
pub struct LoadedConfig {
    /// The validated configuration (complete only without errors).
    pub config: Config,
    /// The text of every file read, for quoting in messages.
    pub sources: SourceMap,
    /// Every error, warning and notice found while loading.
    pub diagnostics: Diagnostics,
}

impl Config {
    /// The `frontend`, `backend` or `listen` section named `name`.
    pub fn proxy(&self, name: &str) -> Option<&Proxy> {
        self.proxies.iter().find(|p| p.name == name)
    }

    /// The backend (or listen) section named `name`.
    pub fn backend(&self, name: &str) -> Option<&Proxy> {
        self.proxies
            .iter()
            .find(|p| p.kind.is_backend() && p.name == name)
    }

    /// The sections that take connections: frontends and listens.
    pub fn frontends(&self) -> impl Iterator<Item = &Proxy> {
        self.proxies.iter().filter(|p| p.kind.is_frontend())
    }

    /// The sections that have servers: backends and listens.
    pub fn backends(&self) -> impl Iterator<Item = &Proxy> {
        self.proxies.iter().filter(|p| p.kind.is_backend())
    }

    /// The `userlist` section named `name`.
    pub fn userlist(&self, name: &str) -> Option<&Userlist> {
        self.userlists.iter().find(|u| u.name == name)
    }
}

/// Reads, parses and validates configuration `files` (name, text) in order.
pub fn load(files: &[(String, String)], env: Environment, fs: &dyn FileAccess) -> LoadedConfig {
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let read = read_files(files, env, &mut sources, &mut diags);
    let mut config = Config {
        global: Global::default(),
        proxies: Vec::new(),
        userlists: Vec::new(),
        env: read.env,
        files: HashMap::new(),
        http_errors: Vec::new(),
    };
    build_sections(&read.sections, &mut config, &mut diags);
    resolve_http_errors(&mut config, &mut diags);
    crate::validate::validate(&mut config, fs, &mut diags);
    LoadedConfig {
        config,
        sources,
        diagnostics: diags,
    }
}

fn build_sections(sections: &[RawSection], config: &mut Config, diags: &mut Diagnostics) {
    let builtin = Proxy::new(ProxyKind::Defaults, String::new(), Span::default());
    let mut last_defaults = builtin.clone();
    let mut named_defaults: HashMap<String, Proxy> = HashMap::new();
    let mut rules_users = RulesUsers::default();
    for section in sections {
        let header = &section.header;
        let args = header.args();
        match section.kind {
            SectionKind::Global => {
                if let Some(extra) = args.first() {
                    diags.push(Diagnostic::error(
                        extra.span,
                        format!("unexpected word '{}' after 'global'", extra.text),
                    ));
                }
                keyword::global::apply_all(&section.directives, &mut config.global, diags);
            }
            SectionKind::HttpErrors => {
                if let Some(section) = http_errors_section(section, &config.http_errors, diags) {
                    config.http_errors.push(section);
                }
            }
            SectionKind::FcgiApp => keyword::fcgi_app::check(section, diags),
            SectionKind::Userlist => {
                if let Some(list) = keyword::userlist::build(section, diags) {
                    config.userlists.push(list);
                }
            }
            SectionKind::Defaults
            | SectionKind::Frontend
            | SectionKind::Backend
            | SectionKind::Listen => {
                let kind = match section.kind {
                    SectionKind::Defaults => ProxyKind::Defaults,
                    SectionKind::Frontend => ProxyKind::Frontend,
                    SectionKind::Backend => ProxyKind::Backend,
                    _ => ProxyKind::Listen,
                };
                let Some(header_info) = parse_header(section, kind, diags) else {
                    continue;
                };
                let base = match &header_info.from {
                    Some(from) => {
                        match named_defaults.get(&from.text) {
                            Some(d) => d,
                            None => {
                                diags.push(Diagnostic::error(from.span, format!("no defaults section named '{}'", from.text))
                                .with_help("declare 'defaults NAME' above this section, or remove 'from'"));
                                &last_defaults
                            }
                        }
                    }
                    // A new defaults section starts from HAProxy's built-in
                    // values; proxies start from the last defaults section.
                    None if kind == ProxyKind::Defaults => &builtin,
                    None => &last_defaults,
                };
                if base.defines_rules() {
                    if let Err(diag) =
                        rules_users.admit(base, kind, &header_info.name, header_info.span)
                    {
                        diags.push(diag);
                    }
                }
                let mut proxy =
                    Proxy::inherit(base, kind, header_info.name.clone(), header_info.span);
                keyword::proxy::apply_all(&section.directives, &mut proxy, diags);
                // As HAProxy: the bases set in `global` by now apply (once:
                // a defaults section's `default-server` is rebased in the
                // proxies that inherit it).
                if let Some(warning) = proxy.apply_dispatch() {
                    diags.push(warning);
                }
                if kind != ProxyKind::Defaults {
                    proxy.apply_file_bases(
                        config.global.crt_base.as_ref(),
                        config.global.ca_base.as_ref(),
                    );
                    proxy.apply_tls_defaults(&config.global);
                }
                if kind == ProxyKind::Defaults {
                    if !header_info.name.is_empty() {
                        named_defaults.insert(header_info.name.clone(), proxy.clone());
                    }
                    last_defaults = proxy;
                } else {
                    config.proxies.push(proxy);
                }
            }
        }
    }
}

/// Who uses each named defaults section that has TCP/HTTP rules: HAProxy
/// lets such a section serve frontends or backends, not both, never a
/// `listen` or another defaults section, and no backend when it has
/// `tcp-request connection`/`session` rules.
#[derive(Default)]
struct RulesUsers {
    /// By defaults section name: the first frontend and the first backend.
    by_defaults: HashMap<String, (Option<String>, Option<String>)>,
}

impl RulesUsers {
    fn admit(
        &mut self,
        base: &Proxy,
        kind: ProxyKind,
        name: &str,
        span: Span,
    ) -> Result<(), Diagnostic> {
        let defaults = &base.name;
        let refuse = |why: String| {
            Err(Diagnostic::error(span, why).with_help(format!(
                "move the rules of defaults section '{defaults}' into the sections that need them, or use another defaults section here"
            )))
        };
        let users = self.by_defaults.entry(defaults.clone()).or_default();
        match kind {
            ProxyKind::Defaults => refuse(format!(
                "a defaults section cannot inherit from defaults section '{defaults}', which has TCP/HTTP rules"
            )),
            ProxyKind::Listen => refuse(format!(
                "listen '{name}' cannot use defaults section '{defaults}', which has TCP/HTTP rules"
            )),
            ProxyKind::Frontend => match &users.1 {
                Some(backend) => refuse(format!(
                    "frontend '{name}' cannot use defaults section '{defaults}', which has TCP/HTTP rules and is already used by backend '{backend}'"
                )),
                None => {
                    users.0.get_or_insert_with(|| name.to_owned());
                    Ok(())
                }
            },
            ProxyKind::Backend if !base.tcp_request_connection.is_empty() => refuse(format!(
                "backend '{name}' cannot use defaults section '{defaults}', which has 'tcp-request connection' rules"
            )),
            ProxyKind::Backend => match &users.0 {
                Some(frontend) => refuse(format!(
                    "backend '{name}' cannot use defaults section '{defaults}', which has TCP/HTTP rules and is already used by frontend '{frontend}'"
                )),
                None => {
                    users.1.get_or_insert_with(|| name.to_owned());
                    Ok(())
                }
            },
        }
    }
}

/// `http-errors NAME` and its `errorfile CODE FILE` lines.
fn http_errors_section(
    section: &RawSection,
    known: &[HttpErrors],
    diags: &mut Diagnostics,
) -> Option<HttpErrors> {
    let header = &section.header;
    let name = match header.args() {
        [name] => name.clone(),
        [] => {
            diags.push(
                Diagnostic::error(
                    header.keyword().span,
                    "'http-errors' expects a name (missing argument)",
                )
                .with_help("write 'http-errors NAME'"),
            );
            return None;
        }
        [_, extra, ..] => {
            diags.push(Diagnostic::error(
                extra.span,
                format!(
                    "unexpected word '{}' after the http-errors name",
                    extra.text
                ),
            ));
            return None;
        }
    };
    if known.iter().any(|k| k.name.text == name.text) {
        diags.push(Diagnostic::error(
            name.span,
            format!("http-errors section '{}' is already defined", name.text),
        ));
        return None;
    }
    let mut errorfiles = Vec::new();
    for directive in &section.directives {
        let kw = directive.keyword();
        if !kw.is("errorfile") {
            diags.push(
                Diagnostic::error(
                    kw.span,
                    format!("unknown keyword '{}' in 'http-errors' section", kw.text),
                )
                .with_help("an http-errors section holds 'errorfile CODE FILE' lines"),
            );
            continue;
        }
        match keyword::proxy::parse_errorfile(directive) {
            Ok(e) => errorfiles.push(e),
            Err(d) => diags.push(d),
        }
    }
    Some(HttpErrors { name, errorfiles })
}

/// Once every section is read: each proxy's `errorfiles NAME` imports, and
/// the `errorfiles NAME` of its `deny`/`return` rules, become the files
/// they name.
fn resolve_http_errors(config: &mut Config, diags: &mut Diagnostics) {
    let sections = &config.http_errors;
    for proxy in &mut config.proxies {
        for d in proxy.resolve_errorfile_imports(sections) {
            diags.push(d);
        }
        for rule in proxy
            .http_request
            .iter_mut()
            .chain(proxy.http_response.iter_mut())
        {
            let (HttpAction::Deny(spec) | HttpAction::Return(spec)) = &mut rule.action else {
                continue;
            };
            let ReturnBody::Errorfiles(name) = &spec.body else {
                continue;
            };
            let Some(section) = sections.iter().find(|s| s.name.text == name.text) else {
                diags.push(
                    Diagnostic::error(
                        name.span,
                        format!("no http-errors section named '{}'", name.text),
                    )
                    .with_help(
                        "declare 'http-errors NAME' with its 'errorfile' lines, or fix the name",
                    ),
                );
                continue;
            };
            // The section's file for the status, else the proxy's page.
            spec.body = match section
                .errorfiles
                .iter()
                .rev()
                .find(|e| e.status == spec.status)
            {
                Some(e) => ReturnBody::Errorfile(e.path.clone()),
                None => ReturnBody::DefaultErrorfiles,
            };
        }
    }
}

struct Header {
    name: String,
    span: Span,
    from: Option<crate::word::Word>,
}

/// `frontend NAME [from DEFAULTS]`, `defaults [NAME] [from DEFAULTS]`.
fn parse_header(section: &RawSection, kind: ProxyKind, diags: &mut Diagnostics) -> Option<Header> {
    let header = &section.header;
    let args = header.args();
    let (name, rest) = match args.split_first() {
        Some((n, rest)) if !n.is("from") => (Some(n), rest),
        _ => (None, args),
    };
    let from = match rest {
        [] => None,
        [f, d] if f.is("from") => Some(d.clone()),
        [f] if f.is("from") => {
            diags.push(Diagnostic::error(
                f.span,
                "'from' expects the name of a defaults section (missing argument)",
            ));
            None
        }
        [extra, ..] => {
            diags.push(
                Diagnostic::error(
                    extra.span,
                    format!("unexpected word '{}' in the section header", extra.text),
                )
                .with_help(format!("write '{} NAME [from DEFAULTS]'", kind.keyword())),
            );
            None
        }
    };
    match name {
        Some(n) => {
            if let Some(bad) = n
                .text
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || "-_.:".contains(*c)))
            {
                diags.push(
                    Diagnostic::error(
                        n.span,
                        format!(
                            "invalid character '{bad}' in {} name '{}'",
                            kind.keyword(),
                            n.text
                        ),
                    )
                    .with_help("names use letters, digits, '-', '_', '.' and ':'"),
                );
            }
            Some(Header {
                name: n.text.clone(),
                span: n.span,
                from,
            })
        }
        None if kind == ProxyKind::Defaults => Some(Header {
            name: String::new(),
            span: header.keyword().span,
            from,
        }),
        None => {
            diags.push(
                Diagnostic::error(
                    header.keyword().span,
                    format!("'{}' expects a name (missing argument)", kind.keyword()),
                )
                .with_help(format!("e.g. '{} web'", kind.keyword())),
            );
            None
        }
    }
}

impl Proxy {
    /// Whether the proxy works on HTTP (rules, stats and cookies need it).
    pub fn is_http(&self) -> bool {
        self.mode() == Mode::Http
    }
}

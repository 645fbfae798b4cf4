//! Checks that span sections: names unique, references resolved, files
//! readable, modes compatible, and HAProxy's warnings about missing timeouts.

use std::collections::{HashMap, HashSet};

use crate::ast::condition::Condition;
use crate::ast::http_rule::{HttpAction, ReturnBody};
use crate::ast::proxy::{BackendTarget, Mode, Proxy, ProxyKind};
use crate::ast::server::Server;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{Config, FileAccess};
use crate::suggest::did_you_mean;

pub mod observe;
pub mod track;

/// ACL names HAProxy defines in every proxy.
pub const PREDEFINED_ACLS: &[&str] = &[
    "FALSE",
    "HTTP",
    "HTTP_1.0",
    "HTTP_1.1",
    "HTTP_2.0",
    "HTTP_CONTENT",
    "HTTP_URL_ABS",
    "HTTP_URL_SLASH",
    "HTTP_URL_STAR",
    "LOCALHOST",
    "METH_CONNECT",
    "METH_DELETE",
    "METH_GET",
    "METH_HEAD",
    "METH_OPTIONS",
    "METH_POST",
    "METH_PUT",
    "METH_TRACE",
    "RDP_COOKIE",
    "REQ_CONTENT",
    "TRUE",
    "WAIT_END",
];

/// Checks the references between sections once all are read (backends,
/// userlists, `http-errors` names, ACLs against HAProxy's predefined ones,
/// the files named), adding to `diags` what HAProxy warns or refuses.
pub fn validate(config: &mut Config, fs: &dyn FileAccess, diags: &mut Diagnostics) {
    check_names(config, diags);
    for proxy in &config.proxies {
        check_backend_references(config, proxy, diags);
        check_acl_references(proxy, diags);
        check_servers(proxy, diags);
        check_http_check(proxy, diags);
        check_tcp_check(proxy, diags);
        check_mode(proxy, diags);
        check_connection_rule_fetches(proxy, diags);
        check_timeouts(proxy, diags);
        check_userlists(config, proxy, diags);
        track::check_tracking(config, proxy, diags);
        observe::check_observe(proxy, diags);
        if proxy.kind.is_frontend() {
            let c = &proxy.captures;
            let request = crate::ast::capture::check_ids(c, &proxy.http_request, false);
            let response = crate::ast::capture::check_ids(c, &proxy.http_response, true);
            request
                .into_iter()
                .chain(response)
                .for_each(|d| diags.push(d));
        }
    }
    load_files(config, fs, diags);
}

fn check_names(config: &Config, diags: &mut Diagnostics) {
    // A frontend and a backend may share a name; a listen conflicts with both.
    let mut frontends: HashMap<&str, &Proxy> = HashMap::new();
    let mut backends: HashMap<&str, &Proxy> = HashMap::new();
    for p in &config.proxies {
        let clash = (p
            .kind
            .is_frontend()
            .then(|| frontends.get(p.name.as_str()))
            .flatten())
        .or_else(|| {
            p.kind
                .is_backend()
                .then(|| backends.get(p.name.as_str()))
                .flatten()
        });
        if let Some(first) = clash {
            diags.push(
                Diagnostic::error(p.name_span, format!("duplicate proxy name '{}'", p.name))
                    .with_help(format!(
                        "{} '{}' is already declared at line {}; rename one of them",
                        first.kind.keyword(),
                        first.name,
                        first.name_span.line
                    )),
            );
            continue;
        }
        if p.kind.is_frontend() {
            frontends.insert(&p.name, p);
        }
        if p.kind.is_backend() {
            backends.insert(&p.name, p);
        }
    }
    let mut lists = HashSet::new();
    for u in &config.userlists {
        if !lists.insert(&u.name) {
            diags.push(Diagnostic::error(
                u.span,
                format!("duplicate userlist name '{}'", u.name),
            ));
        }
    }
}

fn check_backend_references(config: &Config, proxy: &Proxy, diags: &mut Diagnostics) {
    let names: Vec<&str> = config.backends().map(|b| b.name.as_str()).collect();
    let mut check = |word: &crate::word::Word| match config.backend(&word.text) {
        Some(backend) => {
            if proxy.mode() == Mode::Http && backend.mode() == Mode::Tcp {
                diags.push(
                    Diagnostic::error(
                        word.span,
                        format!(
                            "HTTP {} '{}' cannot use TCP backend '{}'",
                            proxy.kind.keyword(),
                            proxy.name,
                            backend.name
                        ),
                    )
                    .with_help(format!(
                        "add 'mode http' to backend '{}' (or to the defaults section)",
                        backend.name
                    )),
                );
            }
        }
        None => {
            let diag = Diagnostic::error(word.span, format!("no backend named '{}'", word.text));
            diags.push(match did_you_mean(&word.text, &names) {
                Some(s) => diag.with_help(format!("did you mean '{s}'?")),
                None if config.proxy(&word.text).is_some() => diag.with_help(format!(
                    "'{}' is a frontend; declare a backend or listen section",
                    word.text
                )),
                None => diag.with_help("declare it with 'backend NAME' and its servers"),
            });
        }
    };
    if !proxy.kind.is_frontend() {
        return;
    }
    for rule in &proxy.use_backends {
        if let BackendTarget::Named(word) = &rule.target {
            check(word);
        }
    }
    if let Some(word) = &proxy.default_backend {
        check(word);
    }
}

fn conditions(proxy: &Proxy) -> impl Iterator<Item = &Condition> {
    let rules = proxy
        .http_request
        .iter()
        .chain(&proxy.http_response)
        .chain(&proxy.redirects);
    rules
        .filter_map(|r| r.condition.as_ref())
        .chain(
            proxy
                .use_backends
                .iter()
                .filter_map(|u| u.condition.as_ref()),
        )
        .chain(
            proxy
                .tcp_request_connection
                .iter()
                .chain(&proxy.tcp_request_content)
                .filter_map(|r| r.condition.as_ref()),
        )
        .chain(&proxy.force_persist)
        .chain(&proxy.ignore_persist)
        .chain(&proxy.stats.admin)
        .chain(
            proxy
                .stats
                .http_request
                .iter()
                .filter_map(|r| r.condition.as_ref()),
        )
        .chain(&proxy.monitor_fail)
}

fn check_acl_references(proxy: &Proxy, diags: &mut Diagnostics) {
    let declared: HashSet<&str> = proxy.acls.iter().map(|a| a.name.text.as_str()).collect();
    let mut known: Vec<&str> = declared.iter().copied().collect();
    known.extend(PREDEFINED_ACLS);
    for condition in conditions(proxy) {
        for name in condition.named_acls() {
            if !declared.contains(name.text.as_str())
                && !PREDEFINED_ACLS.contains(&name.text.as_str())
            {
                let diag = Diagnostic::error(
                    name.span,
                    format!(
                        "no ACL named '{}' in {} '{}'",
                        name.text,
                        proxy.kind.keyword(),
                        proxy.name
                    ),
                );
                diags.push(match did_you_mean(&name.text, &known) {
                    Some(s) => diag.with_help(format!("did you mean '{s}'?")),
                    None => diag.with_help(format!(
                        "declare it with 'acl {} FETCH PATTERN' in this section",
                        name.text
                    )),
                });
            }
        }
    }
}

/// `agent-check` needs `agent-port` (HAProxy refuses the server without).
fn check_agent(proxy: &Proxy, server: &Server, diags: &mut Diagnostics) {
    let options = proxy.server_options(server);
    if options.agent_check == Some(true) && options.agent_port.is_none() {
        diags.push(
            Diagnostic::error(
                server.name.span,
                format!(
                    "server '{}' has 'agent-check' but no agent port",
                    server.name.text
                ),
            )
            .with_help("add 'agent-port PORT' to the server line or its default-server"),
        );
    }
}

/// HAProxy runs an HTTP check over HTTP/2 when `check-alpn` agrees on
/// `h2`; Switchyard's HTTP checks speak HTTP/1.1 only, so that offer is
/// refused rather than sent and then not spoken.
fn check_http_check_alpn(proxy: &Proxy, server: &Server, diags: &mut Diagnostics) {
    let options = proxy.server_options(server);
    let offers_h2 = options.check_alpn.iter().flatten().any(|p| p == "h2");
    if offers_h2 && proxy.httpchk.is_some() {
        diags.push(
            Diagnostic::error(
                server.name.span,
                format!(
                    "'server {}/{}' : 'check-alpn h2' with HTTP health checks is not supported by switchyard yet (its HTTP checks speak HTTP/1.1)",
                    proxy.name, server.name.text
                ),
            )
            .with_help("offer 'check-alpn http/1.1', or check over TCP"),
        );
    }
}

fn check_servers(proxy: &Proxy, diags: &mut Diagnostics) {
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for bind in proxy.binds.iter().filter(|b| b.options.ssl) {
        check_tls_versions(&bind.options.tls, bind.keyword.span, diags);
        let o = &bind.options;
        if let Some(verify) = o.verify.as_ref().filter(|v| v.text != "none") {
            if o.ca_file.is_none() {
                diags.push(
                    Diagnostic::error(
                        verify.span,
                        format!(
                            "'verify {}' is enabled but no CA file specified",
                            verify.text
                        ),
                    )
                    .with_help(
                        "add 'ca-file FILE', the CAs that sign the client certificates to accept",
                    ),
                );
            }
        }
    }
    for s in &proxy.servers {
        check_server_verify(proxy, s, diags);
        check_agent(proxy, s, diags);
        check_http_check_alpn(proxy, s, diags);
        let o = proxy.server_options(s);
        if o.ssl == Some(true) || o.check_ssl == Some(true) {
            check_tls_versions(&o.tls, s.name.span, diags);
        }
        if let Some(line) = seen.insert(&s.name.text, s.name.span.line) {
            diags.push(Diagnostic::error(s.name.span, format!("duplicate server name '{}' in backend '{}'", s.name.text, proxy.name))
                .with_help(format!("another server has this name at line {line}; server names are unique within a backend")));
        }
    }
    if proxy.cookie.is_some()
        && proxy
            .servers
            .iter()
            .any(|s| proxy.server_options(s).cookie.is_none())
        && !proxy.servers.is_empty()
    {
        // HAProxy derives nothing here: a server without a cookie value is
        // simply never selected by persistence. Say so once.
        if proxy
            .servers
            .iter()
            .all(|s| proxy.server_options(s).cookie.is_none())
        {
            diags.push(
                Diagnostic::warning(
                    proxy
                        .cookie
                        .as_ref()
                        .map(|c| c.span)
                        .unwrap_or(proxy.name_span),
                    format!(
                        "'cookie' in '{}' has no effect: no server has a 'cookie VALUE'",
                        proxy.name
                    ),
                )
                .with_help("add 'cookie VALUE' to each server line"),
            );
        }
    }
}

/// HAProxy ignores `http-check` rules without `option httpchk`, and says so.
fn check_http_check(proxy: &Proxy, diags: &mut Diagnostics) {
    let enabled = proxy.httpchk.is_some();
    check_rules(
        proxy,
        &proxy.http_check_rules,
        "http-check",
        "httpchk",
        enabled,
        diags,
    );
}

/// The same for `tcp-check` rules without `option tcp-check` (a protocol
/// check such as `option redis-check` runs its own rules instead).
fn check_tcp_check(proxy: &Proxy, diags: &mut Diagnostics) {
    let enabled = proxy.check_option == Some(crate::ast::check_rule::CheckOption::Tcp);
    check_rules(
        proxy,
        &proxy.tcp_check_rules,
        "tcp-check",
        "tcp-check",
        enabled,
        diags,
    );
}

fn check_rules(
    proxy: &Proxy,
    rules: &[crate::ast::check_rule::CheckRule],
    family: &str,
    option: &str,
    enabled: bool,
    diags: &mut Diagnostics,
) {
    use crate::ast::check_rule::CheckStep;
    // A `connect` anywhere makes it mandatory first (comments aside).
    let mut steps = rules
        .iter()
        .filter(|r| !matches!(r.step, CheckStep::Comment(_)));
    let first_is_connect = steps
        .next()
        .is_some_and(|r| matches!(r.step, CheckStep::Connect(_)));
    if let Some(late) = steps
        .find(|r| matches!(r.step, CheckStep::Connect(_)))
        .filter(|_| !first_is_connect)
    {
        diags.push(
            Diagnostic::error(
                late.span,
                format!("'{family} connect': the first step must also be a 'connect' when there is a 'connect' step"),
            )
            .with_help(format!("start the rules with '{family} connect' (comments may come before it)")),
        );
    }
    if !proxy.kind.is_backend() || enabled {
        return;
    }
    if let Some(rule) = rules.first() {
        diags.push(
            Diagnostic::warning(
                rule.span,
                format!(
                    "backend '{}' uses {family} rules without 'option {option}', so the rules are ignored",
                    proxy.name
                ),
            )
            .with_help(format!("add 'option {option}' to the backend")),
        );
    }
}

/// A line's own TLS versions laid over `global`'s defaults must leave
/// TLSv1.2 or TLSv1.3 (each setting alone was checked where written).
fn check_tls_versions(
    policy: &crate::ast::tls::TlsPolicy,
    span: crate::span::Span,
    diags: &mut Diagnostics,
) {
    if let Err(why) = policy.versions() {
        diags.push(Diagnostic::error(span, why).with_help(
            "with ssl-default-bind-options/ssl-default-server-options, check which versions the line and the defaults disable together",
        ));
    }
}

/// HAProxy 2.6 verifies server certificates by default (`ssl-server-verify
/// required`), and refuses a TLS server with nothing to verify against.
fn check_server_verify(proxy: &Proxy, server: &Server, diags: &mut Diagnostics) {
    let o = proxy.server_options(server);
    let tls = o.ssl == Some(true) || o.check_ssl == Some(true);
    let verify_none = o.verify.as_ref().is_some_and(|v| v.text == "none");
    if tls && !verify_none && o.ca_file.is_none() {
        diags.push(
            Diagnostic::error(
                server.name.span,
                format!(
                    "'server {}/{}' : verify is enabled by default but no CA file specified",
                    proxy.name, server.name.text
                ),
            )
            .with_help(
                "add 'ca-file FILE' (the CA certificates to verify the server against), or, on a LAN where you trust the server's certificate, an explicit 'verify none' on the 'server' line",
            ),
        );
    }
}

fn check_mode(proxy: &Proxy, diags: &mut Diagnostics) {
    if proxy.mode() == Mode::Http {
        return;
    }
    let what = proxy.kind.keyword();
    let mut warn = |span, thing: &str| {
        diags.push(
            Diagnostic::warning(
                span,
                format!(
                    "{thing} ignored for {what} '{}' as it requires HTTP mode",
                    proxy.name
                ),
            )
            .with_help("add 'mode http' to this section or its defaults"),
        );
    };
    if let Some(r) = proxy.http_request.first() {
        warn(r.span, "'http-request' rules");
    }
    if let Some(r) = proxy.http_response.first() {
        warn(r.span, "'http-response' rules");
    }
    if let Some(r) = proxy.redirects.first() {
        warn(r.span, "'redirect' rules");
    }
    if let Some(f) = &proxy.forwardfor {
        warn(f.span, "'option forwardfor'");
    }
    if let Some(c) = &proxy.cookie {
        warn(c.span, "'cookie'");
    }
    if let Some(span) = proxy.stats.enabled {
        warn(span, "'stats'");
    }
    if let Some(uri) = proxy
        .monitor_uri
        .as_ref()
        .filter(|_| proxy.kind.is_frontend())
    {
        diags.push(
            Diagnostic::warning(
                uri.span,
                format!(
                    "monitor-uri will be ignored for {what} '{}' (needs 'mode http')",
                    proxy.name
                ),
            )
            .with_help("add 'mode http' to this section or its defaults"),
        );
    }
    if let Some(setting) = proxy.enabled_option(crate::ast::proxy::Switch::HttpLog) {
        if proxy.kind.is_frontend() {
            let what = if proxy.kind == ProxyKind::Listen {
                "proxy"
            } else {
                what
            };
            diags.push(
                Diagnostic::warning(
                    setting.span,
                    format!(
                        "'option httplog' not usable with {what} '{}' (needs 'mode http'). Falling back to 'option tcplog'.",
                        proxy.name
                    ),
                )
                .with_help("write 'option tcplog' for TCP proxies"),
            );
        }
    }
    if let Some(balance) = &proxy.balance {
        use crate::ast::proxy::BalanceAlgorithm::{Hdr, Uri, UrlParam};
        if proxy.kind.is_backend()
            && matches!(balance.value, Uri { .. } | UrlParam { .. } | Hdr { .. })
        {
            diags.push(
                Diagnostic::warning(
                    balance.span,
                    format!(
                        "Layer 7 hash not possible for backend '{}' (needs 'mode http'). Falling back to round robin.",
                        proxy.name
                    ),
                )
                .with_help("add 'mode http' to this backend, or use 'balance source' to hash the client address"),
            );
        }
    }
}

/// Fetches that read the request's content, which does not exist yet when
/// `tcp-request connection` rules run (a name prefix each).
const CONTENT_FETCH_PREFIXES: &[&str] = &[
    "req", "hdr", "path", "url", "base", "query", "method", "cook", "ssl_fc", "http_", "capture",
    "res.", "payload",
];

/// HAProxy's warning for an ACL in a `tcp-request connection` rule whose
/// fetch needs data that is not there at accept: it never matches.
fn check_connection_rule_fetches(proxy: &Proxy, diags: &mut Diagnostics) {
    use crate::ast::condition::AclRef;
    let content_fetch = |name: &str| CONTENT_FETCH_PREFIXES.iter().any(|p| name.starts_with(p));
    let mut warn = |span, which: String, fetch: &str| {
        diags.push(
            Diagnostic::warning(
                span,
                format!(
                    "{which} will never match in 'tcp-request connection' because it uses keyword '{fetch}' which is incompatible with '{} tcp-request connection rule'",
                    proxy.kind.keyword()
                ),
            )
            .with_help("use 'tcp-request content' (with 'tcp-request inspect-delay') for fetches on the client's data"),
        );
    };
    for rule in &proxy.tcp_request_connection {
        let Some(cond) = &rule.condition else {
            continue;
        };
        for term in cond.alternatives.iter().flatten() {
            match &term.acl {
                AclRef::Anonymous(expr) if content_fetch(&expr.fetch.fetch.name) => {
                    warn(term.span, "anonymous acl".into(), &expr.fetch.fetch.name)
                }
                AclRef::Named(name) => {
                    if let Some(def) = proxy.acls.iter().find(|a| {
                        a.name.text == name.text && content_fetch(&a.expr.fetch.fetch.name)
                    }) {
                        warn(
                            name.span,
                            format!("acl '{}'", name.text),
                            &def.expr.fetch.fetch.name,
                        )
                    }
                }
                _ => {}
            }
        }
    }
}

fn check_timeouts(proxy: &Proxy, diags: &mut Diagnostics) {
    let t = &proxy.timeouts;
    let needs_client = proxy.kind.is_frontend() && t.client.is_none();
    let needs_server = proxy.kind.is_backend() && (t.connect.is_none() || t.server.is_none());
    if needs_client || needs_server {
        // HAProxy's wording: "proxy" for listen sections.
        let what = if proxy.kind == ProxyKind::Listen {
            "proxy"
        } else {
            proxy.kind.keyword()
        };
        diags.push(Diagnostic::warning(proxy.name_span, format!("missing timeouts for {what} '{}'", proxy.name)).with_help(
            "set 'timeout client', 'timeout connect' and 'timeout server' to non-zero values, e.g. in the defaults section",
        ));
    }
}

fn check_userlists(config: &Config, proxy: &Proxy, diags: &mut Diagnostics) {
    let _ = (config, proxy, diags);
}

fn load_files(config: &mut Config, fs: &dyn FileAccess, diags: &mut Diagnostics) {
    let mut wanted = Vec::new();
    let mut certificates = Vec::new();
    for proxy in &config.proxies {
        for server in &proxy.servers {
            certificates.extend(
                proxy
                    .server_options(server)
                    .ca_file
                    .filter(|f| !f.text.starts_with('@')),
            );
        }
        for bind in &proxy.binds {
            certificates.extend(
                bind.options
                    .certificates
                    .iter()
                    .chain(&bind.options.crt_list)
                    .cloned(),
            );
        }
    }
    for word in certificates {
        // A directory of certificates is fine; it is read when TLS starts.
        if let Err(e) = fs.read(&word.text) {
            if e.kind() != std::io::ErrorKind::IsADirectory {
                diags.push(
                    Diagnostic::error(word.span, format!("cannot open file '{}': {e}", word.text))
                        .with_help("give a PEM file: for 'crt', the certificate chain and its key; for 'ca-file', the CA certificates"),
                );
            }
        }
    }
    for proxy in &config.proxies {
        wanted.extend(proxy.errorfiles.iter().map(|e| e.path.clone()));
        let replies = proxy
            .http_request
            .iter()
            .chain(&proxy.http_response)
            .filter_map(|rule| match &rule.action {
                HttpAction::Return(spec) | HttpAction::Deny(spec) => Some(spec),
                _ => None,
            })
            .chain(proxy.http_errors.iter().map(|h| &h.spec));
        for spec in replies {
            if let ReturnBody::File(w) | ReturnBody::LfFile(w) | ReturnBody::Errorfile(w) =
                &spec.body
            {
                wanted.push(w.clone());
            }
        }
    }
    for word in wanted {
        if config.files.contains_key(&word.text) {
            continue;
        }
        match fs.read(&word.text) {
            Ok(bytes) => {
                config.files.insert(word.text.clone(), bytes);
            }
            Err(e) => diags.push(
                Diagnostic::error(word.span, format!("cannot open file '{}': {e}", word.text))
                    .with_help(
                        "relative paths are read from the current directory, as HAProxy does",
                    ),
            ),
        }
    }
}

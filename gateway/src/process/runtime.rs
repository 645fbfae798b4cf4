//! Everything the running gateway holds, built from a checked
//! configuration: frontends with their rules and listening addresses,
//! backends with their servers, the shared connection pool.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use switchyard_grammar::ast::bind::Bind;
use switchyard_grammar::ast::proxy::{Mode, Proxy, Switch};
use switchyard_grammar::Config;
use switchyard_rules::RuleSet;

use crate::message::error_page::{CannedResponse, ErrorPages};
use crate::net::tls::bind::BindTls;
use crate::proxy::client_side::ClientTimeouts;
use crate::proxy::connection_mode::ConnectionMode;
use crate::proxy::forwardfor::ForwardForPolicy;
use crate::proxy::retry::RetrySettings;
use crate::proxy::rules_router::RulesRouter;
use crate::proxy::{BackendRoute, HttpProxy};
use crate::stats::counters::FrontendCounters;
use crate::stats::{ProxyView, StatsPage};
use crate::upstream::pool::ConnectionPool;
use crate::upstream::Backend;

/// No timeout written: HAProxy waits forever; a day is forever enough and
/// keeps abandoned connections from piling up.
const UNSET: Duration = Duration::from_secs(86_400);

pub struct Runtime {
    /// Each listening address and the frontend that serves it.
    pub listeners: Vec<(SocketAddr, Arc<HttpProxy>)>,
    /// HTTP frontends' unix sockets (`bind /PATH`, `unix@PATH`, `abns@NAME`).
    pub unix_listeners: Vec<(crate::net::unix_socket::UnixBind, Arc<HttpProxy>)>,
    /// HTTP listening addresses with a layer-4 step first (`accept-proxy`,
    /// `tcp-request connection` rules).
    pub http_l4: Vec<(SocketAddr, Arc<crate::front::http_l4::HttpL4>)>,
    /// `mode tcp` frontends' listening addresses.
    pub tcp_listeners: Vec<crate::tcp::build::TcpListenerSpec>,
    /// The TLS settings of the addresses of `bind … ssl` lines.
    pub tls: HashMap<SocketAddr, Arc<BindTls>>,
    /// Addresses of `bind … proto h2` lines: HTTP/2 only.
    pub h2_only: std::collections::HashSet<SocketAddr>,
    /// Addresses whose connections leave the ACK of the client's first
    /// data to the answer (`option tcp-smart-accept`, automatic in HTTP).
    pub smart_accept: std::collections::HashSet<SocketAddr>,
    /// HTTP and TCP backends (checks run for all).
    pub backends: Vec<Arc<Backend>>,
    /// Every proxy's live counters, for the stats page and the runtime API.
    pub views: Arc<Vec<ProxyView>>,
}

fn error_pages(proxy: &Proxy, config: &Config) -> anyhow::Result<ErrorPages> {
    let mut pages = HashMap::new();
    for e in &proxy.errorfiles {
        let raw = config
            .files
            .get(&e.path.text)
            .ok_or_else(|| anyhow!("errorfile {} was not loaded", e.path.text))?;
        let page = CannedResponse::parse_errorfile(raw, e.status)
            .map_err(|why| anyhow!("errorfile {}: {why}", e.path.text))?;
        pages.insert(e.status, page);
    }
    for message in &proxy.http_errors {
        if let Some(page) = crate::proxy::http_error::canned(&message.spec, &config.files) {
            let page =
                page.map_err(|why| anyhow!("http-error status {}: {why}", message.spec.status))?;
            pages.insert(message.spec.status, page);
        }
    }
    Ok(ErrorPages::new(pages))
}

fn forwardfor(proxy: &Proxy) -> anyhow::Result<Option<ForwardForPolicy>> {
    proxy
        .forwardfor
        .as_ref()
        .map(|f| ForwardForPolicy::new(f).map_err(|e| anyhow!(e)))
        .transpose()
}

fn timeout(t: &Option<switchyard_grammar::ast::proxy::Spanned<Duration>>) -> Option<Duration> {
    t.as_ref().map(|s| s.value).filter(|d| !d.is_zero())
}

/// The socket addresses of a frontend's `bind` lines.
pub fn bind_addresses(proxy: &Proxy) -> anyhow::Result<Vec<SocketAddr>> {
    let mut out = Vec::new();
    for bind in &proxy.binds {
        out.extend(addresses_of(bind)?);
    }
    Ok(out)
}

/// `bind … interface NAME`: the interface each address's listening socket
/// is tied to (the first line that names one for the address decides: the
/// frontends of one address share its socket).
pub fn bind_interfaces(
    config: &switchyard_grammar::Config,
) -> anyhow::Result<HashMap<SocketAddr, String>> {
    let mut out = HashMap::new();
    for proxy in config.frontends().filter(|p| !p.disabled) {
        for bind in &proxy.binds {
            if let Some(name) = &bind.options.interface {
                for addr in addresses_of(bind)? {
                    out.entry(addr).or_insert_with(|| name.clone());
                }
            }
        }
    }
    Ok(out)
}

/// The TLS settings of each address of the frontend's `bind … ssl` lines.
fn bind_tls(proxy: &Proxy) -> anyhow::Result<Vec<(SocketAddr, Arc<BindTls>)>> {
    let mut out = Vec::new();
    for bind in proxy.binds.iter().filter(|b| b.options.ssl) {
        let tls = BindTls::build(&bind.options).with_context(|| {
            format!(
                "frontend '{}': bind {} ssl",
                proxy.name,
                bind.addresses
                    .first()
                    .map(|a| a.word.text.as_str())
                    .unwrap_or("")
            )
        })?;
        let tls = Arc::new(tls);
        out.extend(addresses_of(bind)?.into_iter().map(|a| (a, tls.clone())));
    }
    Ok(out)
}

/// The socket addresses of one `bind` line.
fn addresses_of(bind: &Bind) -> anyhow::Result<Vec<SocketAddr>> {
    let mut out = Vec::new();
    for address in &bind.addresses {
        out.extend(crate::net::address::socket_addrs(address)?);
    }
    Ok(out)
}

/// The CSV's `algo` column.
fn algo_name(proxy: &Proxy) -> String {
    use switchyard_grammar::ast::proxy::BalanceAlgorithm::*;
    match proxy.balance.as_ref().map(|b| &b.value) {
        None | Some(RoundRobin) => "roundrobin",
        Some(StaticRr) => "static-rr",
        Some(LeastConn) => "leastconn",
        Some(First) => "first",
        Some(Source) => "source",
        Some(Uri { .. }) => "uri",
        Some(UrlParam { .. }) => "url_param",
        Some(Hdr { .. }) => "hdr",
        Some(Random { .. }) => "random",
    }
    .to_owned()
}

/// Builds everything `config` serves. With `previous` (a reload), frontend
/// counters carry on and servers keep their live state (see
/// [`crate::upstream::server::Server::inherit`]).
pub fn build(
    config: &Config,
    rules: Arc<RuleSet>,
    previous: Option<&Runtime>,
) -> anyhow::Result<Runtime> {
    let runtime = build_fresh(config, rules, previous)?;
    if let Some(old) = previous {
        for backend in &runtime.backends {
            let Some(old_backend) = old.backends.iter().find(|b| b.name == backend.name) else {
                continue;
            };
            for server in &backend.servers {
                if let Some(old_server) = old_backend.servers.iter().find(|s| s.name == server.name)
                {
                    server.inherit(old_server);
                }
            }
        }
    }
    Ok(runtime)
}

fn build_fresh(
    config: &Config,
    rules: Arc<RuleSet>,
    previous: Option<&Runtime>,
) -> anyhow::Result<Runtime> {
    let buffers = config.global.buffers;
    switchyard::wire::h1::buffer_limits::set(buffers.max_head(), buffers.max_rewritten());
    let pool = ConnectionPool::new(64, Duration::from_secs(10));
    let mut routes = rustc_hash::FxHashMap::default();
    let mut backends = Vec::new();
    for proxy in config
        .backends()
        .filter(|p| !p.disabled && p.mode() == Mode::Http)
    {
        let backend = Arc::new(
            Backend::build(proxy)
                .with_context(|| format!("backend '{}'", proxy.name))?
                .logging_events(proxy, &config.global)?,
        );
        backends.push(backend.clone());
        let route = BackendRoute {
            backend,
            forwardfor: forwardfor(proxy)?,
            errors: error_pages(proxy, config)?,
            connect_timeout: timeout(&proxy.timeouts.connect),
            server_socket: crate::net::connect::ServerSocket::of(proxy),
            connection_mode: ConnectionMode::of(proxy),
            server_timeout: timeout(&proxy.timeouts.server),
            queue_timeout: timeout(&proxy.timeouts.queue).or(timeout(&proxy.timeouts.connect)),
            retry: RetrySettings::of(proxy, true),
            abort_on_close: proxy.option(Switch::AbortOnClose),
            dynamic_errors: crate::proxy::http_error::has_dynamic(proxy),
            tunnel_timeout: timeout(&proxy.timeouts.tunnel),
            http_reuse: proxy
                .http_reuse
                .as_ref()
                .map(|r| r.value)
                .unwrap_or_default(),
            header_names: proxy.restrict_req_hdr_names.unwrap_or_default(),
        };
        routes.insert(proxy.name.clone(), Arc::new(route));
    }
    let routes = Arc::new(routes);
    // Counters first: every stats page shows every proxy.
    let served = |p: &&Proxy| !p.disabled;
    let counters: HashMap<String, Arc<FrontendCounters>> = config
        .frontends()
        .filter(served)
        .map(|p| {
            let carried = previous.and_then(|old| {
                old.views
                    .iter()
                    .find(|v| v.name == p.name)
                    .and_then(|v| v.frontend.clone())
            });
            (p.name.clone(), carried.unwrap_or_default())
        })
        .collect();
    let tcp = crate::tcp::build::build(config, rules.clone(), &counters)?;
    backends.extend(tcp.backends.iter().cloned());
    crate::upstream::track::link(&backends);
    let ids = crate::stats::ids::proxy_ids(config);
    let views: Arc<Vec<ProxyView>> = Arc::new(
        config
            .proxies
            .iter()
            .zip(ids)
            .filter(|(p, _)| served(p))
            .map(|(p, id)| ProxyView {
                name: p.name.clone(),
                id,
                forced_id: p.id.is_some(),
                frontend: if p.kind.is_frontend() {
                    counters.get(&p.name).cloned()
                } else {
                    None
                },
                backend: if p.kind.is_backend() {
                    backends.iter().find(|b| b.name == p.name).cloned()
                } else {
                    None
                },
                algo: algo_name(p),
                mode: match p.mode() {
                    Mode::Http => "http",
                    Mode::Tcp => "tcp",
                },
            })
            .collect(),
    );
    let backend_stats: Arc<HashMap<String, Arc<StatsPage>>> = Arc::new(
        config
            .proxies
            .iter()
            .filter(|p| !p.disabled && !p.kind.is_frontend() && p.stats.enabled.is_some())
            .map(|p| {
                (
                    p.name.clone(),
                    Arc::new(StatsPage::new(
                        &p.name,
                        &p.stats,
                        rules.clone(),
                        views.clone(),
                    )),
                )
            })
            .collect(),
    );
    let mut listeners = Vec::new();
    let mut unix_listeners = Vec::new();
    let mut http_l4 = Vec::new();
    let mut tls = HashMap::new();
    let mut h2_only = std::collections::HashSet::new();
    let mut smart_accept = std::collections::HashSet::new();
    for proxy in config.frontends().filter(|p| !p.disabled) {
        for bind in proxy.binds.iter().filter(|b| proxy.tcp_smart_accept(b)) {
            smart_accept.extend(addresses_of(bind)?);
        }
    }
    // A request of any frontend may reach a backend with `abortonclose`.
    let watch_close = routes.values().any(|r| r.abort_on_close);
    for proxy in config
        .frontends()
        .filter(|p| !p.disabled && p.mode() == Mode::Http)
    {
        let errors = error_pages(proxy, config)?;
        let http_request = timeout(&proxy.timeouts.http_request)
            .or(timeout(&proxy.timeouts.client))
            .unwrap_or(UNSET);
        let idle = timeout(&proxy.timeouts.http_keep_alive).unwrap_or(http_request);
        let client_side = Arc::new(crate::proxy::client_side::ClientSide {
            timeouts: ClientTimeouts {
                http_request,
                idle,
                client: timeout(&proxy.timeouts.client),
            },
            pages: crate::proxy::client_side::ConnectionPages {
                bad_request: errors.wire(400),
                request_timeout: errors.wire(408),
            },
            smart_accept: proxy.binds.iter().any(|b| proxy.tcp_smart_accept(b)),
            ignore_probes: proxy.option(Switch::HttpIgnoreProbes),
            watch_close,
        });
        let frontend = Arc::new(HttpProxy {
            client_side,
            name: proxy.name.clone(),
            counters: counters.get(&proxy.name).cloned().unwrap_or_default(),
            stats: proxy.stats.enabled.map(|_| {
                Arc::new(StatsPage::new(
                    &proxy.name,
                    &proxy.stats,
                    rules.clone(),
                    views.clone(),
                ))
            }),
            backend_stats: backend_stats.clone(),
            views: views.clone(),
            logger: crate::log::request_log::RequestLogger::for_frontend(proxy, &config.global)?,
            router: Arc::new(RulesRouter::new(
                proxy.name.clone(),
                rules.clone(),
                errors.clone(),
            )),
            backends: routes.clone(),
            pool: pool.clone(),
            errors,
            forwardfor: forwardfor(proxy)?,
            header_names: proxy.restrict_req_hdr_names.unwrap_or_default(),
            dynamic_errors: crate::proxy::http_error::has_dynamic(proxy),
            connection_mode: ConnectionMode::of(proxy),
            client_keepalive: crate::net::keepalive::client_side(proxy),
            monitor: proxy.monitor_uri.as_ref().map(|uri| {
                crate::proxy::monitor::Monitor::new(&uri.text, &proxy.name, rules.clone())
            }),
        });
        for addr in bind_addresses(proxy)? {
            listeners.push((addr, frontend.clone()));
        }
        for bind in &proxy.binds {
            for address in &bind.addresses {
                if let Some(target) = crate::net::unix_socket::UnixTarget::of(address) {
                    let unix = crate::net::unix_socket::UnixBind::of_proxy_bind(
                        target,
                        &bind.options,
                        &config.global.unix_bind,
                    );
                    unix_listeners.push((unix, frontend.clone()));
                }
            }
        }
        for (addr, accept_proxy) in crate::tcp::build::bind_addresses(proxy)? {
            if accept_proxy || !proxy.tcp_request_connection.is_empty() {
                let l4 = crate::front::http_l4::HttpL4 {
                    frontend: proxy.name.clone(),
                    rules: rules.clone(),
                    accept_proxy,
                };
                http_l4.push((addr, Arc::new(l4)));
            }
        }
        tls.extend(bind_tls(proxy)?);
        for bind in proxy
            .binds
            .iter()
            .filter(|b| b.options.proto.as_deref() == Some("h2"))
        {
            h2_only.extend(addresses_of(bind)?);
        }
    }
    Ok(Runtime {
        listeners,
        unix_listeners,
        http_l4,
        tls,
        h2_only,
        smart_accept,
        tcp_listeners: tcp.listeners,
        backends,
        views,
    })
}

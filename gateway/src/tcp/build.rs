//! The TCP half of the runtime, built from a checked configuration: TCP
//! backends with their servers, and TCP frontends with their listening
//! addresses (each with its `accept-proxy` setting).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use switchyard_grammar::ast::proxy::{BalanceAlgorithm, Mode, Proxy, Spanned, Switch};
use switchyard_grammar::Config;
use switchyard_rules::RuleSet;

use super::{TcpBackendRoute, TcpFrontend};
use crate::proxy::retry::RetrySettings;
use crate::stats::counters::FrontendCounters;
use crate::upstream::Backend;

/// No timeout written: HAProxy waits forever; a day is forever enough.
const UNSET: Duration = Duration::from_secs(86_400);
/// `accept-proxy` without `timeout client`: a header is a few bytes.
const PROXY_HEADER_DEFAULT: Duration = Duration::from_secs(10);

/// A listening address of a TCP frontend.
pub struct TcpListenerSpec {
    pub addr: SocketAddr,
    pub frontend: Arc<TcpFrontend>,
    /// `bind … accept-proxy`.
    pub accept_proxy: bool,
}

pub struct TcpRuntime {
    pub listeners: Vec<TcpListenerSpec>,
    pub backends: Vec<Arc<Backend>>,
}

fn timeout(t: &Option<Spanned<Duration>>) -> Option<Duration> {
    t.as_ref().map(|s| s.value).filter(|d| !d.is_zero())
}

/// A TCP backend's proxy as balancing should see it: the L7 hashes
/// (`uri`, `url_param`, `hdr`) fall back to round robin, as in HAProxy,
/// which warns about it at check time.
fn layer4_view(proxy: &Proxy) -> Proxy {
    let mut proxy = proxy.clone();
    if matches!(
        proxy.balance.as_ref().map(|b| &b.value),
        Some(
            BalanceAlgorithm::Uri { .. }
                | BalanceAlgorithm::UrlParam { .. }
                | BalanceAlgorithm::Hdr { .. }
        )
    ) {
        proxy.balance = None;
    }
    proxy
}

/// The addresses of a frontend's binds, each with its `accept-proxy` flag.
pub fn bind_addresses(proxy: &Proxy) -> anyhow::Result<Vec<(SocketAddr, bool)>> {
    let mut out = Vec::new();
    for bind in &proxy.binds {
        for address in &bind.addresses {
            let addrs = crate::net::address::socket_addrs(address)?;
            out.extend(addrs.into_iter().map(|a| (a, bind.options.accept_proxy)));
        }
    }
    Ok(out)
}

/// Builds every enabled TCP backend and frontend; `counters` holds the
/// frontends' stats counters by name.
pub fn build(
    config: &Config,
    rules: Arc<RuleSet>,
    counters: &HashMap<String, Arc<FrontendCounters>>,
) -> anyhow::Result<TcpRuntime> {
    let tcp = |p: &&Proxy| !p.disabled && p.mode() == Mode::Tcp;
    let mut routes = HashMap::new();
    let mut backends = Vec::new();
    for proxy in config.backends().filter(tcp) {
        let view = layer4_view(proxy);
        let backend = Arc::new(
            Backend::build(&view)
                .with_context(|| format!("backend '{}'", proxy.name))?
                .logging_events(proxy, &config.global)?,
        );
        backends.push(backend.clone());
        let t = &proxy.timeouts;
        routes.insert(
            proxy.name.clone(),
            Arc::new(TcpBackendRoute {
                backend,
                connect_timeout: timeout(&t.connect),
                server_socket: crate::net::connect::ServerSocket::of(proxy),
                server_timeout: timeout(&t.server).unwrap_or(UNSET),
                tunnel_timeout: timeout(&t.tunnel),
                queue_timeout: timeout(&t.queue).or(timeout(&t.connect)),
                inspect_delay: timeout(&proxy.tcp_inspect_delay).unwrap_or_default(),
                retry: RetrySettings::of(&view, false),
            }),
        );
    }
    let routes = Arc::new(routes);
    let mut listeners = Vec::new();
    for proxy in config.frontends().filter(tcp) {
        let client = timeout(&proxy.timeouts.client);
        let frontend = Arc::new(TcpFrontend {
            name: proxy.name.clone(),
            rules: rules.clone(),
            backends: routes.clone(),
            client_timeout: client.unwrap_or(UNSET),
            inspect_delay: timeout(&proxy.tcp_inspect_delay).unwrap_or_default(),
            proxy_header_timeout: client.unwrap_or(PROXY_HEADER_DEFAULT),
            logger: crate::log::request_log::RequestLogger::for_frontend(proxy, &config.global)?,
            dont_log_null: proxy.option(Switch::DontLogNull),
            counters: counters.get(&proxy.name).cloned().unwrap_or_default(),
            client_keepalive: crate::net::keepalive::client_side(proxy),
        });
        for (addr, accept_proxy) in bind_addresses(proxy)? {
            listeners.push(TcpListenerSpec {
                addr,
                frontend: frontend.clone(),
                accept_proxy,
            });
        }
    }
    Ok(TcpRuntime {
        listeners,
        backends,
    })
}

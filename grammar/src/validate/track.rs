//! `track [BACKEND/]SERVER`: the tracked server must exist and be checked
//! (or track a checked one), the chain must not loop, and a tracking server
//! has no checks of its own. HAProxy 2.6's messages (`cfgparse.c`,
//! `check.c`).

use crate::ast::proxy::Proxy;
use crate::ast::server::Server;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::Config;

/// The server `track` names (`proxy` when it names no backend), or why
/// there is none.
pub fn resolve<'c>(
    config: &'c Config,
    proxy: &'c Proxy,
    target: &str,
) -> Result<(&'c Proxy, &'c Server), String> {
    let (backend, server) = match target.split_once('/') {
        Some((b, s)) => {
            let backend = config
                .backends()
                .find(|p| p.name == b)
                .ok_or_else(|| format!("unable to find required proxy '{b}' for tracking"))?;
            (backend, s)
        }
        None => (proxy, target),
    };
    let found = backend
        .servers
        .iter()
        .find(|s| s.name.text == server)
        .ok_or_else(|| format!("unable to find required server '{server}' for tracking"))?;
    Ok((backend, found))
}

/// Refuses the `track` options of `proxy`'s servers that HAProxy refuses.
pub fn check_tracking(config: &Config, proxy: &Proxy, diags: &mut Diagnostics) {
    for server in &proxy.servers {
        let options = proxy.server_options(server);
        let Some(target) = &options.track else {
            continue;
        };
        let title = format!("'server {}/{}'", proxy.name, server.name.text);
        let mut refuse = |why: String| {
            diags.push(
                Diagnostic::error(target.span, format!("{title} : {why}"))
                    .with_help("'track' names a checked server: 'track SERVER' in this backend or 'track BACKEND/SERVER'"),
            );
        };
        if options.check == Some(true) {
            refuse("unable to enable checks and tracking at the same time!".into());
            continue;
        }
        let (backend, tracked) = match resolve(config, proxy, &target.text) {
            Ok(found) => found,
            Err(why) => {
                refuse(why);
                continue;
            }
        };
        let tracked_options = backend.server_options(tracked);
        let checked =
            tracked_options.check == Some(true) || tracked_options.agent_check == Some(true);
        if !checked && tracked_options.track.is_none() {
            refuse(format!(
                "unable to use {}/{} for tracking as it does not have any check nor agent enabled.",
                backend.name, tracked.name.text
            ));
            continue;
        }
        if let Some((b, s)) = loop_back(config, proxy, server, backend, tracked) {
            refuse(format!(
                "unable to track {}/{} as it belongs to a tracking chain looping back to {b}/{s}.",
                backend.name, tracked.name.text
            ));
            continue;
        }
        if !std::ptr::eq(backend, proxy)
            && backend.http_check_disable_on_404 != proxy.http_check_disable_on_404
        {
            refuse(format!(
                "unable to use {}/{} for tracking: disable-on-404 option inconsistency.",
                backend.name, tracked.name.text
            ));
        }
    }
}

/// Follows the chain from `tracked`; the server it comes back to, if it
/// loops (`origin` itself, or a loop further down).
fn loop_back<'c>(
    config: &'c Config,
    origin_proxy: &'c Proxy,
    origin: &'c Server,
    mut backend: &'c Proxy,
    mut server: &'c Server,
) -> Option<(String, String)> {
    let limit: usize = config.backends().map(|p| p.servers.len()).sum();
    for _ in 0..=limit {
        if std::ptr::eq(server, origin) {
            return Some((origin_proxy.name.clone(), origin.name.text.clone()));
        }
        let next = backend.server_options(server).track?;
        (backend, server) = resolve(config, backend, &next.text).ok()?;
    }
    // A loop that does not pass through `origin`: its own servers say so.
    None
}

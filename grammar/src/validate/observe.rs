//! `observe`: what HAProxy 2.6 reads but does not apply is said, not
//! silently dropped.

use crate::ast::proxy::{Mode, Proxy};
use crate::ast::server::Observe;
use crate::diagnostic::{Diagnostic, Diagnostics};

/// `observe layer7` outside HTTP (HAProxy's alert, and the server is then
/// not observed), `observe` without `check` (HAProxy adjusts the checks'
/// health: with no checks, nothing happens).
pub fn check_observe(proxy: &Proxy, diags: &mut Diagnostics) {
    for server in &proxy.servers {
        let options = proxy.server_options(server);
        let title = format!("'server {}/{}'", proxy.name, server.name.text);
        match options.observe {
            Some(Observe::Layer7) if proxy.mode() != Mode::Http => diags.push(
                Diagnostic::warning(
                    server.name.span,
                    format!("{title} : 'layer7' can only be used in http proxies; the server is not observed."),
                )
                .with_help("use 'observe layer4' in a TCP backend"),
            ),
            Some(Observe::Layer4 | Observe::Layer7) if options.check != Some(true) => diags.push(
                Diagnostic::warning(
                    server.name.span,
                    format!("{title} : 'observe' has no effect without 'check' (the errors it sees count against the health checks)."),
                )
                .with_help("add 'check' to the server line"),
            ),
            _ => {}
        }
    }
}

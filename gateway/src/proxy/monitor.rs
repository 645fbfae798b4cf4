//! `monitor-uri` and `monitor fail`: a frontend answers its own health
//! probe, as HAProxy 2.6 does in `http_wait_for_request`, right after the
//! request is read and before any `http-request` rule (only layer-4 rules
//! come first), and never logs it.
//!
//! A URI starting with `/` is compared with the request's path (with its
//! query, as HAProxy's `http_parse_path` gives it, so an absolute-form or
//! HTTP/2 request matches too); any other with the whole target as
//! received. The answer is the frontend's page for 200 ("Service ready."),
//! or for 503 when a `monitor fail` condition holds; `errorfile 200` and
//! `errorfile 503` replace them.

use std::sync::Arc;

use http::request::Parts;
use switchyard_rules::RuleSet;

use crate::message::target::absolute_target;
use crate::proxy::rules_router::PartsFacts;
use crate::proxy::ClientConn;

/// One frontend's monitor URI and the rules its `monitor fail` lines
/// were compiled into.
pub struct Monitor {
    uri: String,
    frontend: String,
    rules: Arc<RuleSet>,
}

impl Monitor {
    /// The monitor of a frontend with `monitor-uri`.
    pub fn new(uri: &str, frontend: &str, rules: Arc<RuleSet>) -> Monitor {
        Monitor {
            uri: uri.to_owned(),
            frontend: frontend.to_owned(),
            rules,
        }
    }

    /// The status to answer `parts` with when it asks for the monitor URI
    /// (200, or 503 when a `monitor fail` condition holds); `None` for any
    /// other request.
    pub fn answer(&self, parts: &Parts, conn: &ClientConn) -> Option<u16> {
        if !matches(&self.uri, parts) {
            return None;
        }
        let facts = PartsFacts::new(parts, conn);
        Some(if self.rules.monitor_fails(&self.frontend, &facts) {
            503
        } else {
            200
        })
    }
}

/// Whether `parts` targets `uri` (see the module's comment).
fn matches(uri: &str, parts: &Parts) -> bool {
    let path = parts.uri.path_and_query().map_or("", |p| p.as_str());
    if uri.starts_with('/') {
        return path == uri;
    }
    match absolute_target(parts) {
        Some(target) => target == uri,
        None => path == uri,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(target: &str) -> Parts {
        http::Request::get(target).body(()).unwrap().into_parts().0
    }

    #[test]
    fn a_path_uri_matches_the_path_with_its_query_in_either_form() {
        assert!(matches("/health", &parts("/health")));
        assert!(matches("/health", &parts("http://lb.example/health")));
        assert!(!matches("/health", &parts("/health?full=1")));
        assert!(!matches("/health", &parts("/healthz")));
        assert!(matches("/health?full=1", &parts("/health?full=1")));
    }

    #[test]
    fn another_uri_matches_the_whole_target() {
        assert!(matches("http://x/health", &parts("http://x/health")));
        assert!(!matches("http://x/health", &parts("/health")));
        assert!(!matches("http://x/health", &parts("http://y/health")));
    }
}

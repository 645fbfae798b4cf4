//! Where the request path takes a frontend's captures for its log line
//! (`log/capture.rs` holds what is taken and how it prints): the request
//! headers as received, what `http-request capture` rules stored and the
//! request cookie once the rules are done, the response headers and
//! cookie from a server's response before the `http-response` rules.

use http::request::Parts;

use crate::message::response::{FieldsMut, ProxyResponse};

use super::log_draft::LogDraft;

/// What the rules captured (`http-request capture`), carried from the
/// rules seam to the log draft in the request's extensions.
#[derive(Clone)]
pub struct RuleCaptures(pub Vec<(usize, String)>);

/// The request as received: its header slots.
pub(super) fn request_received(
    draft: &mut LogDraft,
    spec: Option<&std::sync::Arc<crate::log::capture::CaptureSpec>>,
    parts: &Parts,
) {
    if let Some(spec) = spec {
        draft.record.captures = Some(Box::new(spec.start(&parts.headers)));
    }
}

/// The rules are done: their captures, and the request cookie as the
/// rules left it when HAProxy reads it (`cookies_read`: the request goes
/// to a backend or was denied; not for a `return` or a redirect).
pub(super) fn rules_done(draft: &mut Option<Box<LogDraft>>, parts: &mut Parts, cookies_read: bool) {
    let from_rules = parts.extensions.remove::<RuleCaptures>();
    let Some(captured) = draft.as_mut().and_then(|d| d.record.captures.as_mut()) else {
        return;
    };
    if let Some(RuleCaptures(list)) = from_rules {
        captured.store_rule_captures(list);
    }
    if cookies_read {
        captured.request_cookie(&parts.headers);
    }
}

/// A server's response, before the `http-response` rules.
pub(super) fn response_received(draft: &mut LogDraft, response: &ProxyResponse) {
    if let Some(captured) = draft.record.captures.as_mut() {
        captured.response(&|name, found| {
            response.any_field_value(name, |v| {
                found(v);
                false
            });
        });
    }
}

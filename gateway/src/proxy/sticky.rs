//! Cookie persistence for one request (`cookie NAME …`): the server the
//! request's cookie names, when the cookie is still valid and the server
//! usable, as `force-persist`/`ignore-persist` decided; the log's two
//! persistence flags; the cookie the answer carries back.

use std::sync::Arc;

use http::request::Parts;
use switchyard_rules::decision::PersistOverride;

use crate::message::response::ProxyResponse;
use crate::upstream::persist::{Persistence, RequestCookie};
use crate::upstream::{Backend, Server};

use super::log_draft::{self, LogDraft};

/// One request's persistence, read before its first attempt.
pub(super) struct Sticky<'a> {
    /// The backend's cookie settings, unless `ignore-persist` (which
    /// neither follows the cookie nor sets one; with `indirect`, the server
    /// still does not see it, as in HAProxy 2.6).
    applied: Option<&'a Persistence>,
    /// The request's cookie, when its dates are still valid.
    requested: Option<RequestCookie>,
    /// `force-persist`: the cookie's server even when it is down.
    pub(super) forced: bool,
    /// Unix seconds, read only for a cookie's dates.
    now: i64,
}

impl<'a> Sticky<'a> {
    /// The persistence of a request to `backend`, and the server its cookie
    /// names; the cookie is taken out of what the server sees, and the
    /// request's persistence flag noted in the log draft.
    pub(super) fn of(
        backend: &'a Backend,
        persist: Option<PersistOverride>,
        parts: &mut Parts,
        draft: &mut Option<Box<LogDraft>>,
    ) -> (Sticky<'a>, Option<Arc<Server>>) {
        let applied = backend
            .persistence
            .as_ref()
            .filter(|_| persist != Some(PersistOverride::Ignore));
        let now = applied.map_or(0, |_| unix_now());
        let requested = applied.and_then(|p| {
            p.requested(&parts.headers)
                .filter(|c| p.still_valid(c, now))
        });
        let forced = persist == Some(PersistOverride::Force);
        let server = requested
            .as_ref()
            .and_then(|c| backend.persisted(&c.server, forced));
        if let Some(p) = &backend.persistence {
            if let Some(d) = draft.as_mut() {
                d.record.persistence = [
                    log_draft::cookie_request_flag(
                        p,
                        backend,
                        &parts.headers,
                        applied.is_some(),
                        now,
                    ),
                    'N',
                ];
            }
            p.strip_request(&mut parts.headers);
        }
        let sticky = Sticky {
            applied,
            requested,
            forced,
            now,
        };
        (sticky, server)
    }

    /// Sets or updates the cookie on `server`'s answer, as the settings
    /// say, and notes the response's persistence flag.
    pub(super) fn on_response(
        &self,
        response: &mut ProxyResponse,
        server: &Server,
        method: &http::Method,
        draft: &mut Option<Box<LogDraft>>,
    ) {
        let (Some(p), Some(value)) = (self.applied, server.cookie.as_deref()) else {
            return;
        };
        let status = response.status();
        let flag = p.on_response(
            response,
            value,
            self.requested.as_ref(),
            method,
            status,
            self.now,
        );
        if let Some(d) = draft.as_mut() {
            d.record.persistence[1] = flag;
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

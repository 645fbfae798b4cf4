//! One request's attempts as `forward.rs` makes them: how to go about them
//! ([`Attempt`], decided by `request.rs`), when each step of an attempt
//! happened ([`AttemptTimes`], for the log), and what a server's answer is
//! given before it goes back ([`answered`]): `-d`'s trace, the log draft's
//! times and head size, the server that answered, the persistence cookie.

use std::sync::Arc;
use std::time::Instant;

use switchyard_rules::decision::PersistOverride;

use crate::message::response::ProxyResponse;
use crate::upstream::Server;

use super::log_draft::LogDraft;
use super::sticky::Sticky;
use super::{BackendRoute, ClientConn};

/// How to go about sending one request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Attempt {
    /// An idle server connection may be reused (`http-reuse safe`: not for
    /// a client connection's first request).
    pub(super) reuse: bool,
    /// The server connection is not kept after this exchange
    /// (`http-server-close`, `httpclose`).
    pub(super) close_server: bool,
    /// The backend's `force-persist`/`ignore-persist` verdict.
    pub(super) persist: Option<PersistOverride>,
    /// The stream number of `-d`'s trace.
    pub(super) trace: Option<u32>,
    /// `http-response` rules will run: the response carries the server
    /// that answered ([`crate::proxy::rules_router::ServedBy`]).
    pub(super) served_by: bool,
}

/// When an attempt started, got its server slot and its connection: read
/// only when the request is logged (`None` otherwise: no clock read).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct AttemptTimes {
    pub(super) started: Option<Instant>,
    pub(super) slot_at: Option<Instant>,
    pub(super) connected: Option<Instant>,
}

impl AttemptTimes {
    /// `%Tc`: from the slot to the connection.
    pub(super) fn connect_ms(&self) -> Option<u64> {
        between(self.slot_at, self.connected)
    }
}

fn between(from: Option<Instant>, to: Option<Instant>) -> Option<u64> {
    from.zip(to)
        .map(|(from, to)| to.duration_since(from).as_millis() as u64)
}

/// `server`'s answer, made ready to go back to the client.
#[allow(clippy::too_many_arguments)]
pub(super) fn answered(
    mut response: ProxyResponse,
    route: &BackendRoute,
    server: &Arc<Server>,
    attempt: &Attempt,
    times: AttemptTimes,
    sticky: &Sticky<'_>,
    method: &http::Method,
    conn: &ClientConn,
    draft: &mut Option<Box<LogDraft>>,
) -> ProxyResponse {
    if let Some(stream) = attempt.trace {
        crate::log::debug_trace::response(
            stream,
            &route.backend.name,
            conn.trace_fd,
            response.parts_mut(),
        );
    }
    if let Some(d) = draft.as_mut() {
        d.record.t_queue = between(times.started, times.slot_at);
        d.record.t_connect = times.connect_ms();
        d.record.t_response = times.connected.map(|c| c.elapsed().as_millis() as u64);
        super::capture::response_received(d, &response);
        if d.needs.bytes {
            d.response_head = Some(response.htx_size());
        }
        if d.needs.backend_load {
            // The slot is released by the body's end, unless the body is
            // already complete.
            d.served_by = response.ends_pending().then(|| server.clone());
        }
    }
    if attempt.served_by {
        let id = crate::stats::ids::server_ids(&route.backend)
            .get(server.index)
            .copied()
            .unwrap_or_default();
        response.insert_extension(crate::proxy::rules_router::ServedBy {
            name: server.name.clone(),
            id,
        });
    }
    sticky.on_response(&mut response, server, method, draft);
    response
}

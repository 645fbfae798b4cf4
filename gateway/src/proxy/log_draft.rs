//! What a request's log line needs, gathered along the request path (the
//! [`LogDraft`]: client, frontend, backend, server, queue and timing
//! figures, termination flags, `%B`/`%U` sizes) and turned into a line by
//! `ends.rs` once the response has been passed on.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use http::request::Parts;

use crate::upstream::Backend;

use super::{forwardfor, ClientConn};

/// Notes in the log line how the gateway ended the exchange itself.
pub(super) fn ended(draft: &mut Option<Box<LogDraft>>, how: [char; 2]) {
    if let Some(d) = draft.as_mut() {
        d.record.termination = how;
    }
}

/// `%Tw` of an attempt: the time from its start to its server slot (or to
/// now, when it had none yet).
pub(super) fn set_wait(
    draft: &mut Option<Box<LogDraft>>,
    started: Option<std::time::Instant>,
    slot_at: Option<std::time::Instant>,
) {
    if let (Some(d), Some(started)) = (draft.as_mut(), started) {
        let until = slot_at.unwrap_or_else(std::time::Instant::now);
        d.record.t_queue = Some(until.duration_since(started).as_millis() as u64);
    }
}

/// The answer to a request given up because its client closed
/// (`option abortonclose`): nothing is written and the connection closes;
/// the log line has `how` and `status` (none: `-1`).
pub(super) fn client_left(
    draft: &mut Option<Box<LogDraft>>,
    how: [char; 2],
    status: Option<u16>,
) -> crate::message::response::ProxyResponse {
    ended(draft, how);
    if let Some(d) = draft.as_mut() {
        d.no_status = status.is_none();
    }
    let mut response = http::Response::new(crate::message::body::ProxyBody::Empty);
    *response.status_mut() =
        http::StatusCode::from_u16(status.unwrap_or(400)).unwrap_or(http::StatusCode::BAD_REQUEST);
    response
        .extensions_mut()
        .insert(crate::message::error_page::SilentClose);
    response.into()
}

/// What a log line needs, gathered along the request path.
pub struct LogDraft {
    pub(super) record: crate::log::record::LogRecord,
    pub(super) started: std::time::Instant,
    pub(super) needs: crate::log::request_log::Needs,
    /// `%B`: the response head as HAProxy counts it (`log::htx_size`).
    pub(super) response_head: Option<u64>,
    /// `%U`: the request head, then its body's bytes as they are read.
    pub(super) request_head: u64,
    pub(super) uploaded: Option<Arc<AtomicU64>>,
    /// `%bc`, `%sc`: the backend, and the server whose slot the request
    /// holds until its response has been passed on.
    pub(super) backend: Option<Arc<Backend>>,
    pub(super) served_by: Option<Arc<crate::upstream::Server>>,
    /// The exchange ended with no status to log (`-1`).
    pub(super) no_status: bool,
}

impl LogDraft {
    pub(super) fn new(
        req: &Parts,
        conn: &ClientConn,
        frontend: &str,
        needs: crate::log::request_log::Needs,
    ) -> LogDraft {
        let version = match req.version {
            http::Version::HTTP_10 => "HTTP/1.0",
            http::Version::HTTP_2 => "HTTP/2.0",
            _ => "HTTP/1.1",
        };
        // As received: an HTTP/1 absolute-form target whole, as HAProxy
        // logs it.
        let absolute = crate::message::target::absolute_target(req);
        let uri = absolute.as_deref().unwrap_or_else(|| target_of(req));
        let client = SocketAddr::new(forwardfor::canonical(conn.peer.ip()), conn.peer.port());
        let mut record = crate::log::record::LogRecord::new(
            client,
            conn.local,
            frontend,
            req.method.as_str(),
            uri,
            version,
        );
        record.ssl = conn.tls.is_some();
        let request_head = if needs.bytes {
            request_htx_size(req, uri, version)
        } else {
            0
        };
        LogDraft {
            started: std::time::Instant::now(),
            record,
            needs,
            response_head: None,
            request_head,
            uploaded: needs.bytes.then(Arc::default),
            backend: None,
            served_by: None,
            no_status: false,
        }
    }

    /// `%bc` and `%sc` now, this request left out as HAProxy leaves it
    /// (it no longer counts once it ends).
    pub(super) fn backend_load(&self) -> (u64, u64) {
        let own = u64::from(self.served_by.is_some());
        let backend = self
            .backend
            .as_ref()
            .map_or(0, |b| b.requests().saturating_sub(own));
        let server = self
            .served_by
            .as_ref()
            .map_or(0, |s| u64::from(s.in_flight()).saturating_sub(own));
        (backend, server)
    }
}

/// A request head as HAProxy counts it in `%U` (`log::htx_size`), its
/// chunked body's end included.
fn request_htx_size(req: &Parts, uri: &str, version: &str) -> u64 {
    let line = [
        req.method.as_str().as_bytes(),
        uri.as_bytes(),
        version.as_bytes(),
    ];
    let fields = req
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()));
    let chunked = req
        .headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .any(|v| switchyard::wire::h1::lists_token(v.as_bytes(), "chunked"));
    crate::log::htx_size::head(line, fields)
        + if chunked {
            crate::log::htx_size::END_OF_CHUNKED
        } else {
            0
        }
}

/// The request's path and query, as `stats uri` and the log see them.
pub(super) fn target_of(parts: &Parts) -> &str {
    parts.uri.path_and_query().map_or("/", |pq| pq.as_str())
}

/// The request's cookie letter of `%tsc`: `N` none (or `ignore-persist`),
/// `O`/`E` expired, `I` naming no server, `D` naming a DOWN one, `V` valid.
pub(super) fn cookie_request_flag(
    persistence: &crate::upstream::persist::Persistence,
    backend: &crate::upstream::Backend,
    headers: &http::HeaderMap,
    applied: bool,
    now: i64,
) -> char {
    if !applied {
        return 'N';
    }
    let cookie = persistence.requested(headers);
    if let Some(flag) = persistence.expired_flag(cookie.as_ref(), now) {
        return flag;
    }
    let named = cookie.as_ref().and_then(|c| {
        backend
            .servers
            .iter()
            .find(|s| s.cookie.as_deref() == Some(c.server.as_str()))
    });
    match named {
        None => 'I',
        Some(server) if !server.is_up() || server.in_maintenance() => 'D',
        Some(_) => 'V',
    }
}

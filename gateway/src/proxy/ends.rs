//! What happens once a response has been passed on (its body's end, clean
//! or cut): the request body's size noted for `%U`, the client connection
//! free for its next request and the frontend's counters, the log line
//! written, and the server connection back in the pool with its slot freed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::message::body::BodyEnd;
use crate::upstream::pool::{ConnectionPool, PooledConn};
use crate::upstream::ServerPermit;

use super::log_draft::LogDraft;
use super::ClientConn;

/// Counts the request body's bytes for `%U` once it has been read.
pub(super) struct UploadEnd(pub(super) Arc<AtomicU64>);

impl BodyEnd for UploadEnd {
    fn finished(self: Box<Self>, _clean: bool, bytes: u64) {
        self.0.store(bytes, Ordering::Relaxed);
    }
}

/// Once a response has been passed on: the client connection may go idle,
/// and the frontend's counters record it.
pub(super) struct RequestEnd {
    pub(super) conn: Arc<ClientConn>,
    pub(super) counters: Arc<crate::stats::counters::FrontendCounters>,
    pub(super) status: u16,
}

impl BodyEnd for RequestEnd {
    fn finished(self: Box<Self>, _clean: bool, bytes: u64) {
        self.conn.request_finished();
        self.counters.request_finished(self.status, bytes);
    }
}

/// Writes the log line once the response has been passed on.
pub(super) struct LogEnd {
    pub(super) logger: Arc<crate::log::request_log::RequestLogger>,
    pub(super) draft: Box<LogDraft>,
    pub(super) status: u16,
    /// The connection, for `%ac` and `%fc`.
    pub(super) conn: Option<Arc<ClientConn>>,
}

impl BodyEnd for LogEnd {
    fn finished(self: Box<Self>, clean: bool, bytes: u64) {
        let mut draft = *self.draft;
        if draft.needs.backend_load {
            (draft.record.conns_backend, draft.record.conns_server) = draft.backend_load();
        }
        let mut record = draft.record;
        if let Some(counted) = self.conn.as_ref().and_then(|c| c.counted.as_ref()) {
            (record.conns_process, record.conns_frontend) = (counted.process(), counted.frontend());
        }
        record.status = (!draft.no_status).then_some(self.status);
        record.bytes_read = draft.response_head.unwrap_or(0) + bytes;
        record.bytes_uploaded = draft.request_head
            + draft
                .uploaded
                .as_ref()
                .map_or(0, |u| u.load(Ordering::Relaxed));
        record.early = self.logger.early();
        let elapsed = draft.started.elapsed().as_millis() as u64;
        record.t_active = elapsed;
        record.t_total = elapsed;
        if !clean {
            // The client or the server went away during the body.
            record.termination = ['C', 'D'];
        }
        self.logger.log(&record);
    }
}

/// Returns the server connection to the pool and frees the server slot when
/// the response body has been passed on.
pub(super) struct ExchangeEnd {
    pub(super) pool: Arc<ConnectionPool>,
    pub(super) conn: Option<PooledConn>,
    pub(super) _permit: ServerPermit,
}

impl BodyEnd for ExchangeEnd {
    fn finished(mut self: Box<Self>, clean: bool, _bytes: u64) {
        if let (true, Some(conn)) = (clean, self.conn.take()) {
            self.pool.checkin(conn);
        }
    }
}

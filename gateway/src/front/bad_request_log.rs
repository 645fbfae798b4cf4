//! HAProxy's `<BADREQ>` log line. A request head the HTTP/1 engine
//! refuses (`wire::h1::request_parse`, a head longer than the buffer, a
//! malformed first chunk size) never reaches the request path, whose log
//! draft writes every other line, so the engine writes this one.

use std::net::SocketAddr;
use std::time::Duration;

use crate::front::session::Session;
use crate::log::record::LogRecord;
use crate::proxy::forwardfor::canonical;

/// Logs the refusal of a request head on `session`'s connection, when its
/// frontend logs.
pub(crate) fn log_refused_head(session: &Session) {
    let Some(logger) = session.proxy.logger.as_ref() else {
        return;
    };
    let conn = &session.conn;
    // Since the accept, or since the previous request ended.
    let waited = conn
        .waiting()
        .map_or(Duration::ZERO, |(_, since)| since.elapsed());
    let client = SocketAddr::new(canonical(conn.peer.ip()), conn.peer.port());
    let mut record = LogRecord::bad_request(client, conn.local, &session.proxy.name, waited);
    record.ssl = conn.tls.is_some();
    if let Some(counted) = conn.open_connections() {
        (record.conns_process, record.conns_frontend) = (counted.process(), counted.frontend());
    }
    logger.log(&record);
}

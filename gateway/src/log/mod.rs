//! Logging as HAProxy does it: syslog over UDP or a unix socket, or lines
//! on stdout/stderr, with HAProxy's formats (`option httplog`, `tcplog`,
//! `log-format`).

pub mod capture;
pub mod debug_trace;
pub mod htx_size;
pub mod record;
pub mod request_log;
pub mod sink;
pub mod syslog;
pub mod termination;

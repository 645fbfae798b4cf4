//! The connection counts a log line reports, HAProxy's `%ac` (the
//! process's connections, `actconn`) and `%fc` (the frontend's,
//! `feconn`), read when the line is written.
//!
//! Counting costs each connection two atomic operations, so only a
//! frontend whose log format names `%ac` or `%fc` has its connections
//! hold a [`CountedConnection`]. `%ac` reads the count every connection
//! already keeps for reloads (its generation's): after a reload, the
//! connections still open under the previous configuration are not in it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::front::retirement::Retirement;
use crate::stats::counters::FrontendCounters;

/// Held by a client connection for its life.
pub struct CountedConnection {
    generation: Retirement,
    frontend: Arc<FrontendCounters>,
}

impl CountedConnection {
    /// Counts a connection of `frontend`, accepted by `generation`.
    pub fn open(generation: Retirement, frontend: Arc<FrontendCounters>) -> CountedConnection {
        frontend.connections.fetch_add(1, Ordering::Relaxed);
        CountedConnection {
            generation,
            frontend,
        }
    }
}

impl crate::log::request_log::OpenConnections for CountedConnection {
    fn process(&self) -> u64 {
        self.generation.open_connections()
    }

    fn frontend(&self) -> u64 {
        self.frontend.connections.load(Ordering::Relaxed)
    }
}

impl Drop for CountedConnection {
    fn drop(&mut self) {
        self.frontend.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

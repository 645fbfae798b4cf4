//! How a check ended, apart from the checks themselves: the server-state
//! events (`upstream/events.rs`) log it, and the checks report their
//! transitions through those events, so the type sits below both.

use std::time::Duration;

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub ok: bool,
    /// HAProxy's reason: "Layer4 check passed", "Layer4 connection problem",
    /// "Layer7 check passed", "Layer7 wrong status", "Layer4 timeout"…
    pub reason: String,
    pub info: Option<String>,
    pub code: Option<u16>,
    pub duration: Duration,
}

//! `observe layer4|layer7`, `on-error`, `error-limit`: live traffic's
//! errors count against a checked server's health, as HAProxy 2.6's
//! `__health_adjust` counts them. The traffic paths report what happened
//! ([`Observed`]); `error-limit` consecutive errors wake the server's check
//! task, which applies `on-error` to the health counter it owns and runs
//! its next check after `fastinter`.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use switchyard_grammar::ast::server::{Observe, OnError};
use tokio::sync::Notify;

/// What live traffic saw of a server (HAProxy's `HANA_STATUS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// A connection to the server was established.
    Connected,
    /// A connection to the server failed (refused, timed out).
    ConnectFailed,
    /// The server answered with this status.
    Status(u16),
    /// The server's answer was not valid HTTP.
    InvalidResponse,
    /// No answer in `timeout server`.
    ReadTimeout,
    /// The server closed before answering.
    Closed,
}

impl Observed {
    /// HAProxy's words for it (`analyze_statuses`), in the message of the
    /// check it fails.
    fn description(self) -> &'static str {
        match self {
            Observed::Connected => "L4 successful connection",
            Observed::ConnectFailed => "L4 unsuccessful connection",
            Observed::Status(s) if http_ok(s) => "Correct http response",
            Observed::Status(_) => "Wrong http response",
            Observed::InvalidResponse => "Invalid http response (headers)",
            Observed::ReadTimeout => "Read timeout (http)",
            Observed::Closed => "Close from server (http)",
        }
    }

    /// Whether it is an error (`Some(true)`), a success that resets the
    /// count (`Some(false)`), or not looked at on `layer`.
    fn verdict(self, layer: Observe) -> Option<bool> {
        match (self, layer) {
            (_, Observe::None) => None,
            (Observed::Connected, Observe::Layer4) => Some(false),
            (Observed::Connected, Observe::Layer7) => None,
            (Observed::ConnectFailed, _) => Some(true),
            (_, Observe::Layer4) => None,
            (Observed::Status(s), Observe::Layer7) => Some(!http_ok(s)),
            (_, Observe::Layer7) => Some(true),
        }
    }
}

/// A status HAProxy counts as a correct answer: below 500, or 501, 505.
fn http_ok(status: u16) -> bool {
    status < 500 || status == 501 || status == 505
}

/// One server's observation of its live traffic.
#[derive(Debug)]
pub struct Observer {
    /// What is observed: `None` without `observe`, without `check` (HAProxy
    /// then adjusts nothing), or for `layer7` outside HTTP.
    layer: Option<Observe>,
    limit: u32,
    on_error: OnError,
    consecutive: AtomicU32,
    /// The message of the failed check the last burst of errors asks for.
    pending: Mutex<Option<String>>,
    wake: Notify,
    /// Times `error-limit` was reached (`show stat`'s `hanafail`).
    pub failed: AtomicU64,
}

impl Observer {
    pub fn new(options: &switchyard_grammar::ast::server::ServerOptions, http: bool) -> Observer {
        let layer = options
            .observe
            .filter(|l| *l != Observe::None)
            .filter(|_| options.check == Some(true))
            .filter(|l| http || *l == Observe::Layer4);
        Observer {
            layer,
            limit: options.error_limit.unwrap_or(10).min(u64::from(u32::MAX)) as u32,
            on_error: options.on_error.unwrap_or(OnError::Fastinter),
            consecutive: AtomicU32::new(0),
            pending: Mutex::new(None),
            wake: Notify::new(),
            failed: AtomicU64::new(0),
        }
    }

    /// Whether anything is observed (the traffic paths may skip reporting).
    pub fn active(&self) -> bool {
        self.layer.is_some()
    }

    /// Counts what the traffic saw; the `error-limit`-th error in a row
    /// wakes the check task.
    pub fn report(&self, event: Observed) {
        let Some(failed) = self.layer.and_then(|layer| event.verdict(layer)) else {
            return;
        };
        if !failed {
            self.consecutive.store(0, Ordering::Relaxed);
            return;
        }
        let count = self.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        if count < self.limit {
            return;
        }
        self.consecutive.store(0, Ordering::Relaxed);
        self.failed.fetch_add(1, Ordering::Relaxed);
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!(
            "Detected {count} consecutive errors, last one was: {}",
            event.description()
        ));
        self.wake.notify_one();
    }

    /// Waits until errors reached the limit; gives the failed check's
    /// message and what `on-error` asks.
    pub async fn errors(&self) -> (String, OnError) {
        // Pending first: a wake-up consumed by a wait that was then given
        // up (the check came first) leaves its message here.
        loop {
            if let Some(info) = self
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
            {
                return (info, self.on_error);
            }
            self.wake.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_grammar::ast::server::ServerOptions;

    fn observer(layer: Observe, limit: u64) -> Observer {
        let options = ServerOptions {
            check: Some(true),
            observe: Some(layer),
            error_limit: Some(limit),
            ..Default::default()
        };
        Observer::new(&options, true)
    }

    fn pending(o: &Observer) -> Option<String> {
        o.pending.lock().unwrap().clone()
    }

    #[test]
    fn consecutive_errors_reach_the_limit_and_successes_reset_them() {
        let o = observer(Observe::Layer4, 3);
        o.report(Observed::ConnectFailed);
        o.report(Observed::ConnectFailed);
        o.report(Observed::Connected);
        o.report(Observed::ConnectFailed);
        o.report(Observed::ConnectFailed);
        assert_eq!(pending(&o), None);
        o.report(Observed::ConnectFailed);
        assert_eq!(
            pending(&o).as_deref(),
            Some("Detected 3 consecutive errors, last one was: L4 unsuccessful connection")
        );
        assert_eq!(o.failed.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn layer7_counts_5xx_but_not_501_505_and_ignores_connections() {
        let o = observer(Observe::Layer7, 2);
        o.report(Observed::Status(503));
        o.report(Observed::Connected);
        o.report(Observed::Status(501));
        o.report(Observed::Status(505));
        o.report(Observed::Status(404));
        assert_eq!(pending(&o), None);
        o.report(Observed::Status(500));
        o.report(Observed::Closed);
        assert_eq!(
            pending(&o).as_deref(),
            Some("Detected 2 consecutive errors, last one was: Close from server (http)")
        );
        // Layer 4 does not look at statuses.
        let l4 = observer(Observe::Layer4, 1);
        l4.report(Observed::Status(500));
        l4.report(Observed::InvalidResponse);
        assert_eq!(pending(&l4), None);
    }

    #[test]
    fn nothing_is_observed_without_checks_or_layer7_outside_http() {
        let unchecked = ServerOptions {
            observe: Some(Observe::Layer4),
            ..Default::default()
        };
        assert!(!Observer::new(&unchecked, true).active());
        let tcp = ServerOptions {
            check: Some(true),
            observe: Some(Observe::Layer7),
            ..Default::default()
        };
        assert!(!Observer::new(&tcp, false).active());
        assert!(Observer::new(&tcp, true).active());
    }
}

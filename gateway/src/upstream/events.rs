//! What a backend says when one of its servers changes state, and, with
//! `option log-health-checks`, when a check's result changes: HAProxy
//! 2.6's texts and syslog levels (`check.c`: `set_server_check_status`,
//! `server.c`: `srv_update_status`), sent to the backend's `log` targets
//! and, as HAProxy also prints them, to stderr. The texts were captured
//! from haproxy 2.6.12 on loopback for the same events.
//!
//! Every change of a server's state made by checks or the runtime API goes
//! through the [`Backend`] methods here, so that none is left unlogged.

use crate::log::sink::LogSink;

use super::check::result::CheckResult;
use super::health::Health;
use super::server::{AdminState, Server, SessionCut};
use super::Backend;

/// Syslog severities HAProxy uses for these events.
pub const EMERG: u8 = 0;
pub const ALERT: u8 = 1;
pub const NOTICE: u8 = 5;

/// Where a backend's server events go.
#[derive(Default)]
pub struct EventLog {
    sinks: Vec<LogSink>,
    /// `option log-health-checks`: every change of a check's result is
    /// logged, and state changes no longer repeat the check's reason.
    pub health_checks: bool,
}

impl EventLog {
    pub fn new(sinks: Vec<LogSink>, health_checks: bool) -> EventLog {
        EventLog {
            sinks,
            health_checks,
        }
    }

    /// Sends `message` (without its final period's newline) at `level`.
    fn send(&self, level: u8, message: &str) {
        if level <= ALERT {
            tracing::warn!(target: "switchyard::check", "{message}");
        } else {
            tracing::info!(target: "switchyard::check", "{message}");
        }
        // HAProxy's datagram ends with the newline of its `"%s.\n"`.
        let line = format!("{message}\n");
        for sink in &self.sinks {
            sink.send(level, &line);
        }
    }
}

/// Why a server changed state, which the message then says.
pub enum Cause<'a> {
    /// A check result (its reason is told unless `log-health-checks`
    /// already told it).
    Check(&'a CheckResult),
    /// `set server … health` on the runtime API.
    Cli,
    /// The server it tracks (`BACKEND/SERVER`) changed state.
    Via(&'a str),
}

/// `, reason: …, code: …, info: "…", check duration: …ms`, as HAProxy's
/// `check_append_info` writes it.
pub fn check_info(result: &CheckResult) -> String {
    let mut text = format!(", reason: {}", result.reason);
    if let Some(code) = result.code {
        text.push_str(&format!(", code: {code}"));
    }
    if let Some(info) = result.info.as_deref().filter(|i| !i.is_empty()) {
        text.push_str(", info: \"");
        // HAProxy's `chunk_asciiencode`: `<HH>` for what is not printable
        // ASCII, for `<`, `>` and the quote.
        for b in info.bytes() {
            if matches!(b, b'"' | b'<' | b'>') || !(0x20..0x7f).contains(&b) {
                text.push_str(&format!("<{b:02X}>"));
            } else {
                text.push(char::from(b));
            }
        }
        text.push('"');
    }
    text.push_str(&format!(
        ", check duration: {}ms",
        result.duration.as_millis()
    ));
    text
}

impl Backend {
    /// `Server b/s` or `Backup Server b/s`, as state messages start.
    fn server_title(&self, server: &Server) -> String {
        let kind = if server.backup {
            "Backup Server"
        } else {
            "Server"
        };
        format!("{kind} {}/{}", self.name, server.name)
    }

    /// `. N active and N backup servers online.[ Running on backup.] …`
    fn online_tail(&self) -> String {
        let (active, backup) = self.usable_counts();
        format!(
            ". {active} active and {backup} backup servers online.{} 0 sessions requeued, 0 total in queue.",
            running_on_backup(active, backup)
        )
    }

    /// `. N active and N backup servers left.[ Running on backup.] …`
    fn left_tail(&self, server: &Server) -> String {
        let (active, backup) = self.usable_counts();
        format!(
            ". {active} active and {backup} backup servers left.{} {} sessions active, 0 requeued, 0 remaining in queue.",
            running_on_backup(active, backup),
            server.in_flight()
        )
    }

    /// HAProxy's emergency line once no server can take traffic.
    fn announce_if_none_left(&self) {
        if self.usable_counts() == (0, 0) {
            self.events.send(
                EMERG,
                &format!(
                    "{} {} has no server available!",
                    // HAProxy's `proxy_type_str`: a `listen` is a "proxy".
                    if self.config.kind == switchyard_grammar::ast::proxy::ProxyKind::Listen {
                        "proxy"
                    } else {
                        "backend"
                    },
                    self.name
                ),
            );
        }
    }

    fn cause_text(&self, cause: &Cause<'_>) -> String {
        match cause {
            Cause::Check(_) if self.events.health_checks => String::new(),
            Cause::Check(result) => check_info(result),
            Cause::Cli => ", changed from CLI".into(),
            Cause::Via(tracked) => format!(" via {tracked}"),
        }
    }

    /// With `option log-health-checks`: a check's result changed the
    /// server's check status or health counter (`changed`).
    pub(crate) fn report_check(
        &self,
        server: &Server,
        result: &CheckResult,
        health: &Health,
        changed: bool,
    ) {
        self.report_result("Health", server, result, health, changed);
    }

    /// With `option log-health-checks`: an agent's answer changed its
    /// status or verdict (`health` is the agent's own counter, 1/1).
    pub(crate) fn report_agent(
        &self,
        server: &Server,
        result: &CheckResult,
        health: &Health,
        changed: bool,
    ) {
        self.report_result("Agent", server, result, health, changed);
    }

    fn report_result(
        &self,
        kind: &str,
        server: &Server,
        result: &CheckResult,
        health: &Health,
        changed: bool,
    ) {
        if !self.events.health_checks || !changed {
            return;
        }
        let (value, rise, fall) = (health.value(), health.rise(), health.fall());
        let (shown, of, state) = if value >= rise {
            let state = if server.weight() > 0 { "UP" } else { "DRAIN" };
            (value - rise + 1, fall, state)
        } else {
            (value, rise, "DOWN")
        };
        self.events.send(
            NOTICE,
            &format!(
                "{kind} check for {}server {}/{} {}{}, status: {shown}/{of} {state}.",
                if server.backup { "backup " } else { "" },
                self.name,
                server.name,
                if result.ok { "succeeded" } else { "failed" },
                check_info(result)
            ),
        );
    }

    /// The server goes UP (checks or the runtime API).
    pub(crate) fn server_up(&self, server: &Server, cause: Cause<'_>) {
        server.set_up(true);
        if server.in_maintenance() {
            return;
        }
        self.cut_backups_for(server);
        let message = format!(
            "{} is UP{}{}",
            self.server_title(server),
            self.cause_text(&cause),
            self.online_tail()
        );
        self.events.send(NOTICE, &message);
        self.pass_to_trackers(server, true);
    }

    /// The server goes DOWN (checks or the runtime API).
    pub(crate) fn server_down(&self, server: &Server, cause: Cause<'_>) {
        server.set_up(false);
        if server.in_maintenance() {
            return;
        }
        cut_if_asked(server);
        let message = format!(
            "{} is DOWN{}{}",
            self.server_title(server),
            self.cause_text(&cause),
            self.left_tail(server)
        );
        self.events.send(ALERT, &message);
        self.announce_if_none_left();
        self.pass_to_trackers(server, false);
    }

    /// The server stays up but takes no new traffic (NOLB): `set server …
    /// health stopping`, or a check passed on condition (a 404 with
    /// `http-check disable-on-404`).
    pub(crate) fn server_stopping(&self, server: &Server, cause: Cause<'_>) {
        let was_stopping = server.is_stopping() && server.is_up();
        server.set_stopping();
        if !was_stopping && !server.in_maintenance() {
            let message = format!(
                "{} is stopping{}{}",
                self.server_title(server),
                self.cause_text(&cause),
                self.online_tail()
            );
            self.events.send(NOTICE, &message);
            self.announce_if_none_left();
        }
    }

    /// `set server … health up|stopping|down` on the runtime API.
    pub fn set_health_from_cli(&self, server: &Server, health: &str) -> Result<(), String> {
        match health {
            "up" if !server.is_up() || server.is_stopping() => self.server_up(server, Cause::Cli),
            "up" => {}
            "down" if server.is_up() => self.server_down(server, Cause::Cli),
            "down" => {}
            "stopping" => self.server_stopping(server, Cause::Cli),
            _ => {
                return Err("'set server <srv> health' expects 'up', 'stopping', or 'down'.".into())
            }
        }
        Ok(())
    }

    /// `disable server`, `enable server`, `set server … state`: the new
    /// administrative state, logged as HAProxy does. Leaving maintenance
    /// puts the server UP, its checks starting over ("falls at first
    /// failure"), as in HAProxy.
    pub fn set_admin_state(&self, server: &Server, state: AdminState) {
        let before = server.admin_state();
        if before == state {
            return;
        }
        let title = self.server_title(server);
        server.set_admin_state(state);
        match (before, state) {
            (_, AdminState::Maint) => {
                if server.is_up() {
                    cut_if_asked(server);
                    let message = format!(
                        "{title} is going DOWN for maintenance{}",
                        self.left_tail(server)
                    );
                    self.events.send(ALERT, &message);
                    self.announce_if_none_left();
                } else {
                    self.events.send(
                        NOTICE,
                        &format!("{title} was DOWN and now enters maintenance."),
                    );
                }
            }
            (AdminState::Maint, _) => {
                server.set_up(true);
                server.start_slowstart();
                server.restart_checks();
                let mode = if state == AdminState::Drain {
                    "DRAIN"
                } else {
                    "READY"
                };
                self.events.send(
                    NOTICE,
                    &format!("{title} is UP/{mode} (leaving forced maintenance)."),
                );
                if state == AdminState::Drain {
                    self.events
                        .send(NOTICE, &format!("{title} remains in forced drain mode."));
                }
            }
            (AdminState::Ready, AdminState::Drain) => {
                let message = format!("{title} enters drain state{}", self.online_tail());
                self.events.send(NOTICE, &message);
                self.announce_if_none_left();
            }
            (AdminState::Drain, AdminState::Ready) => {
                let state = if server.is_up() { "UP" } else { "DOWN" };
                self.events.send(
                    NOTICE,
                    &format!("{title} is {state} (leaving forced drain)."),
                );
            }
            _ => {}
        }
    }
}

impl Backend {
    /// `on-marked-up shutdown-backup-sessions` on an active server with a
    /// weight that just came UP: the backup servers' sessions end (`U`).
    fn cut_backups_for(&self, server: &Server) {
        if server.options.shutdown_backups_on_up != Some(true)
            || server.backup
            || server.weight() == 0
        {
            return;
        }
        for backup in self.servers.iter().filter(|s| s.backup) {
            backup.cut_sessions(SessionCut::BackupUp);
        }
    }
}

impl Backend {
    /// `server` just went UP (`up`) or DOWN: the servers that `track` it
    /// follow, and theirs after them.
    fn pass_to_trackers(&self, server: &Server, up: bool) {
        let via = format!("{}/{}", self.name, server.name);
        for (backend, tracker) in server.trackers.each() {
            match up {
                true if !tracker.is_up() || tracker.is_stopping() => {
                    backend.server_up(&tracker, Cause::Via(&via))
                }
                false if tracker.is_up() => backend.server_down(&tracker, Cause::Via(&via)),
                _ => {}
            }
        }
    }
}

/// `on-marked-down shutdown-sessions`: the server's sessions end (`D`).
fn cut_if_asked(server: &Server) {
    if server.options.shutdown_on_down == Some(true) {
        server.cut_sessions(SessionCut::Down);
    }
}

fn running_on_backup(active: usize, backup: usize) -> &'static str {
    if active == 0 && backup > 0 {
        " Running on backup."
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn check_info_is_written_as_haproxy_writes_it() {
        let result = CheckResult {
            ok: false,
            reason: "Layer7 wrong status".into(),
            info: Some("Service <\"Unavailable\">".into()),
            code: Some(503),
            duration: Duration::from_millis(3),
        };
        assert_eq!(
            check_info(&result),
            ", reason: Layer7 wrong status, code: 503, info: \"Service <3C><22>Unavailable<22><3E>\", check duration: 3ms"
        );
    }
}

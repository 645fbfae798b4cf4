//! Agent checks (`agent-check`, `agent-port`, `agent-addr`, `agent-inter`,
//! `agent-send`): beside the health check, a TCP connection to an agent
//! that answers one line saying how the server should be used. The line is
//! read and applied as HAProxy 2.6's `tcpcheck_agent_expect_reply` does:
//! words split by blanks or commas, in any order, the last of each kind
//! winning; the administrative state first, then the weight, the maxconn,
//! and the health last, with the text after `#` as its description.
//!
//! An agent that cannot be reached changes nothing: only its `down`,
//! `fail` or `stopped` take a server down, and only its `up` (or a passing
//! health check once the agent said `up`) brings it back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::CheckResult;
use crate::upstream::events::Cause;
use crate::upstream::health::Health;
use crate::upstream::server::{AdminState, Server};
use crate::upstream::Backend;

/// Where and how often one server's agent is asked.
#[derive(Debug, Clone)]
pub struct AgentPlan {
    pub addr: SocketAddr,
    pub send: Option<String>,
    pub inter: Duration,
    /// `timeout check` if set, else `agent-inter` (HAProxy's rule).
    pub timeout: Duration,
}

impl AgentPlan {
    /// The plan of `server`, when it has `agent-check` and an `agent-port`
    /// (`-c` refuses the first without the second).
    pub fn for_server(
        backend: &switchyard_grammar::ast::proxy::Proxy,
        server: &Server,
    ) -> Option<AgentPlan> {
        let o = &server.options;
        if o.agent_check != Some(true) {
            return None;
        }
        let port = o.agent_port?;
        let inter = o.agent_inter.unwrap_or(Duration::from_secs(2));
        Some(AgentPlan {
            addr: SocketAddr::new(server.agent_ip.unwrap_or(server.addr().ip()), port),
            send: o.agent_send.clone(),
            inter,
            timeout: super::check_timeout(backend, inter),
        })
    }
}

/// The health an agent announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AgentHealth {
    Up,
    /// `down`, `fail` or `stopped`: the same effect, the word kept for the logs.
    Down,
}

/// One agent line, parsed; every part is optional.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AgentReply<'a> {
    /// The health word as written (`up`, `down`, `fail`, `stopped`).
    health: Option<(&'a str, AgentHealth)>,
    admin: Option<AdminState>,
    /// `N%`, of the configured weight.
    weight: Option<&'a str>,
    /// The number after `maxconn:`.
    maxconn: Option<&'a str>,
    /// The first word not understood.
    error: Option<&'a str>,
    /// The text after `#`.
    description: &'a str,
}

/// Parses the agent's line (without its `\r` or `\n`).
pub fn parse_reply(line: &str) -> AgentReply<'_> {
    let mut reply = AgentReply::default();
    let mut rest = line;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        if let Some(description) = rest.strip_prefix('#') {
            reply.description = description.trim_start_matches([' ', '\t']);
            break;
        }
        let end = rest.find([' ', '\t', ',']).unwrap_or(rest.len());
        let word = &rest[..end];
        rest = &rest[end..];
        let lower = word.to_ascii_lowercase();
        match lower.as_str() {
            "up" => reply.health = Some((word, AgentHealth::Up)),
            "down" | "stopped" | "fail" => reply.health = Some((word, AgentHealth::Down)),
            "ready" => reply.admin = Some(AdminState::Ready),
            "drain" => reply.admin = Some(AdminState::Drain),
            "maint" => reply.admin = Some(AdminState::Maint),
            _ if word.starts_with(|c: char| c.is_ascii_digit()) && word.contains('%') => {
                reply.weight = Some(word)
            }
            _ if lower.starts_with("maxconn:") => reply.maxconn = Some(&word["maxconn:".len()..]),
            _ => {
                reply.error.get_or_insert(word);
            }
        }
    }
    reply
}

/// Runs `server`'s agent checks until the task is dropped. They go on in
/// maintenance: an agent may end the maintenance it asked for.
pub async fn run(
    backend: Arc<Backend>,
    server: Arc<Server>,
    plan: AgentPlan,
    schedule: super::schedule::CheckSchedule,
) {
    tokio::time::sleep(schedule.first).await;
    loop {
        let start = Instant::now();
        if let Ok(Ok((Some(line), connection))) =
            tokio::time::timeout(plan.timeout, ask(&plan)).await
        {
            apply(&backend, &server, &line, start.elapsed());
            // Closed once applied: an agent that waits for the close (as
            // HAProxy's reg-test does) then sees its answer in effect.
            drop(connection);
        }
        tokio::time::sleep(schedule.next(plan.inter)).await;
    }
}

/// Connects, sends `agent-send`, and reads the first line, returned with
/// the connection still open. `None`: the agent closed before ending a
/// line (HAProxy ignores such a line).
async fn ask(plan: &AgentPlan) -> std::io::Result<(Option<String>, TcpStream)> {
    let mut stream = TcpStream::connect(plan.addr).await?;
    if let Some(text) = &plan.send {
        stream.write_all(text.as_bytes()).await?;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if let Some(end) = got.iter().position(|b| matches!(b, b'\r' | b'\n')) {
            got.truncate(end);
            return Ok((Some(String::from_utf8_lossy(&got).into_owned()), stream));
        }
        // HAProxy's buffer: a longer line is never complete.
        if got.len() >= 16 * 1024 {
            return Ok((None, stream));
        }
        match stream.read(&mut buf).await? {
            0 => return Ok((None, stream)),
            n => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Applies one agent line to `server`, logging as HAProxy does.
pub fn apply(backend: &Backend, server: &Server, line: &str, duration: Duration) {
    let reply = parse_reply(line);
    if let Some(state) = reply.admin {
        backend.set_admin_state(server, state);
    }
    let mut warning = None;
    if let Some(weight) = reply.weight {
        if let Err(e) = backend.change_weight(server, Some(&weight.to_owned())) {
            warning = Some(e);
        }
    }
    if let Some(maxconn) = reply.maxconn {
        match switchyard::wire::api_syntax::parse_maxconn(Some(&maxconn.to_owned())) {
            Ok(n) => server.set_maxconn(n),
            Err(e) => {
                warning.get_or_insert(e);
            }
        }
    }
    let Some((word, health)) = reply.health else {
        // No health announced: nothing logged (HAProxy logs an agent's
        // result only when it carries a Layer7 status).
        return;
    };
    // "Down reports are critical": an `up` without description shows the
    // first error or warning instead.
    let mut message = reply.description.to_owned();
    if message.is_empty() || health == AgentHealth::Up {
        if let Some(extra) = reply.error.map(str::to_owned).or(warning) {
            message = extra;
        }
    }
    let info = if message.is_empty() {
        format!("via agent : {word}")
    } else {
        format!("via agent : {word} ({message})")
    };
    let up = health == AgentHealth::Up;
    let result = CheckResult {
        ok: up,
        reason: if up {
            "Layer7 check passed"
        } else {
            "Layer7 wrong status"
        }
        .into(),
        info: Some(info),
        code: Some(0),
        duration,
    };
    let before = (server.agent_status(), server.agent_says_up());
    let status = if up { "L7OK" } else { "L7STS" };
    server.set_agent_status(status, result.info.clone());
    server.set_agent_up(up);
    // The agent's own counter: rise and fall of 1.
    let mut agent_health = Health::starting(1, 1);
    if !up {
        agent_health.failed();
    }
    let changed = before != (Some(status), up);
    backend.report_agent(server, &result, &agent_health, changed);
    if up {
        server.set_check_health(server.full_health());
        if !server.is_up() {
            backend.server_up(server, Cause::Check(&result));
        }
    } else {
        server.set_check_health(0);
        if server.is_up() {
            backend.server_down(server, Cause::Check(&result));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_as_haproxy_reads_them() {
        let r = parse_reply("75%,maxconn:30,maint,down");
        assert_eq!(r.weight, Some("75%"));
        assert_eq!(r.maxconn, Some("30"));
        assert_eq!(r.admin, Some(AdminState::Maint));
        assert_eq!(r.health, Some(("down", AgentHealth::Down)));
        // The last word of a kind wins; `#` starts the description.
        let r = parse_reply("drain\tready UP 10% 20% # back  in business");
        assert_eq!(r.admin, Some(AdminState::Ready));
        assert_eq!(r.health, Some(("UP", AgentHealth::Up)));
        assert_eq!(r.weight, Some("20%"));
        assert_eq!(r.description, "back  in business");
        // Unknown words: the first is kept for the logs.
        let r = parse_reply("stopped, bogus other");
        assert_eq!(r.error, Some("bogus"));
        assert_eq!(r.health, Some(("stopped", AgentHealth::Down)));
        assert_eq!(parse_reply(""), AgentReply::default());
        // A number without `%` is no weight.
        assert_eq!(parse_reply("75").error, Some("75"));
    }
}

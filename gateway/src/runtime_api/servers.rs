//! Server commands: `show servers state`, `get weight`, `set weight`,
//! `set server … weight|state|health`, `enable`/`disable server`,
//! `enable`/`disable health`, `set maxconn server`; `set server … addr|fqdn`
//! in `server_addr.rs`. Messages are HAProxy
//! 2.6's, so scripts that check them keep working.

use std::fmt::Write;
use std::sync::Arc;

use super::ApiState;
use crate::upstream::server::{AdminState, Server};
use crate::upstream::Backend;
use switchyard::wire::api_syntax::{parse_maxconn, split_server};

fn find<'a>(
    state: &'a ApiState,
    arg: Option<&String>,
) -> Result<(&'a Arc<Backend>, Arc<Server>), String> {
    let (backend, server) = split_server(arg)?;
    let backend = state
        .backends
        .iter()
        .find(|b| b.name == backend)
        .ok_or("No such backend.")?;
    let server = backend
        .servers
        .iter()
        .find(|s| s.name == server)
        .cloned()
        .ok_or("No such server.")?;
    Ok((backend, server))
}

/// Applies `N` or `N%` (of the configured weight) to `server`.
fn apply_weight(backend: &Backend, server: &Server, text: Option<&String>) -> Result<(), String> {
    backend.change_weight(server, text)
}

pub fn get_weight(args: &[String], state: &ApiState, out: &mut String) -> Result<(), String> {
    let (_, server) = find(state, args.first())?;
    let _ = write!(
        out,
        "{} (initial {})",
        server.weight(),
        server.initial_weight
    );
    Ok(())
}

pub fn set_weight(args: &[String], state: &ApiState, _: &mut String) -> Result<(), String> {
    let (backend, server) = find(state, args.first())?;
    apply_weight(backend, &server, args.get(1))
}

pub fn set_server(args: &[String], state: &ApiState, out: &mut String) -> Result<(), String> {
    let (backend, server) = find(state, args.first())?;
    match args.get(1).map(String::as_str) {
        Some("weight") => apply_weight(backend, &server, args.get(2)),
        Some("state") => {
            let wanted = match args.get(2).map(String::as_str) {
                Some("ready") => AdminState::Ready,
                Some("drain") => AdminState::Drain,
                Some("maint") => AdminState::Maint,
                _ => {
                    return Err(
                        "'set server <srv> state' expects 'ready', 'drain' and 'maint'.".into(),
                    )
                }
            };
            backend.set_admin_state(&server, wanted);
            Ok(())
        }
        Some("health") => {
            let wanted = args.get(2).map_or("", String::as_str);
            backend.set_health_from_cli(&server, wanted)?;
            server.force_health_counter(wanted != "down");
            Ok(())
        }
        Some("addr") => {
            out.push_str(&super::server_addr::set_addr(&server, &args[2..])?);
            Ok(())
        }
        Some("fqdn") => super::server_addr::set_fqdn(&args[2..]).map(|_| ()),
        Some(
            other @ ("agent" | "agent-addr" | "agent-port" | "agent-send" | "check-addr"
            | "check-port" | "ssl"),
        ) => Err(format!(
            "'set server <srv> {other}' is not supported by switchyard."
        )),
        _ => Err("usage: set server <backend>/<server> health | state | weight".into()),
    }
}

pub fn disable_server(args: &[String], state: &ApiState, _: &mut String) -> Result<(), String> {
    let (backend, server) = find(state, args.first())?;
    backend.set_admin_state(&server, AdminState::Maint);
    Ok(())
}

pub fn enable_server(args: &[String], state: &ApiState, _: &mut String) -> Result<(), String> {
    let (backend, server) = find(state, args.first())?;
    backend.set_admin_state(&server, AdminState::Ready);
    Ok(())
}

pub fn disable_health(args: &[String], state: &ApiState, _: &mut String) -> Result<(), String> {
    find(state, args.first())?.1.set_checks_enabled(false);
    Ok(())
}

pub fn enable_health(args: &[String], state: &ApiState, _: &mut String) -> Result<(), String> {
    find(state, args.first())?.1.set_checks_enabled(true);
    Ok(())
}

pub fn set_maxconn(args: &[String], state: &ApiState, _: &mut String) -> Result<(), String> {
    let (_, server) = find(state, args.first())?;
    server.set_maxconn(parse_maxconn(args.get(1))?);
    Ok(())
}

/// HAProxy's check status numbers (`HCHK_STATUS_*`) for our short codes.
fn check_status_number(code: Option<&str>) -> u8 {
    match code {
        None => 1,
        Some("L4OK") => 6,
        Some("L4TOUT") => 7,
        Some("L4CON") => 8,
        Some("L7TOUT") => 12,
        Some("L7RSP") => 13,
        Some("L7OK") => 15,
        Some("L7STS") => 17,
        Some(_) => 0,
    }
}

/// `show servers state [BACKEND]`, in HAProxy's version-1 format.
pub fn show_servers_state(
    args: &[String],
    state: &ApiState,
    out: &mut String,
) -> Result<(), String> {
    let backends: Vec<((u32, bool), &Arc<Backend>)> = match args.first() {
        Some(name) => {
            let b = state
                .backends
                .iter()
                .find(|b| &b.name == name)
                .ok_or("Can't find backend.")?;
            vec![(proxy_id(state, &b.name), b)]
        }
        None => state
            .backends
            .iter()
            .map(|b| (proxy_id(state, &b.name), b))
            .collect(),
    };
    out.push_str("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n");
    for ((be_id, be_forced), backend) in backends {
        let ids = crate::stats::ids::server_ids(backend);
        for (server, srv_id) in backend.servers.iter().zip(ids) {
            let _ = writeln!(
                out,
                "{be_id} {} {srv_id} {} {} {} {} {} - {} - {} {} - {} {}",
                backend.name,
                server.name,
                // `-` and port 0 for a server on a unix socket, as HAProxy.
                match server.unix {
                    _ if server.resolution_maint => "-".to_owned(),
                    Some(_) => "-".to_owned(),
                    None => server.addr().ip().to_string(),
                },
                StateFields::of(server),
                u8::from(be_forced),
                u8::from(server.options.id.is_some()),
                server.addr().port(),
                u8::from(server.tls.is_some()),
                server.options.check_port.unwrap_or(0),
                server
                    .options
                    .agent_addr
                    .as_ref()
                    .map_or("-", |a| a.text.as_str()),
                server.options.agent_port.unwrap_or(0),
            );
        }
    }
    Ok(())
}

/// The state columns of a `show servers state` line, from `srv_op_state`
/// to `srv_f_forced_id`, with HAProxy's numbers (`SRV_ST_*`,
/// `SRV_ADMF_*`, `CHK_RES_*`, `CHK_ST_*`).
#[derive(Debug, PartialEq, Eq)]
struct StateFields {
    op: u8,
    admin: u8,
    uweight: u32,
    iweight: u32,
    since_change: u64,
    check_status: u8,
    check_result: u8,
    health: u32,
    check_state: u8,
    agent_state: u8,
}

impl StateFields {
    fn of(server: &Server) -> StateFields {
        let checked = server.options.check == Some(true);
        let maint = server.in_maintenance();
        StateFields {
            // A server in maintenance is STOPPED (0) whatever its checks say.
            op: if maint || !server.is_up() {
                0
            } else if server.is_stopping() {
                3
            } else if server.throttle().is_some() {
                // SRV_ST_STARTING: in `slowstart`.
                1
            } else {
                2
            },
            // SRV_ADMF_RMAINT (0x20) joins the operator's flags.
            admin: match server.admin_state() {
                AdminState::Ready => 0,
                AdminState::Maint => 1,
                AdminState::Drain => 8,
            } | if server.resolution_maint { 32 } else { 0 },
            uweight: server.weight(),
            iweight: server.initial_weight,
            since_change: server.since_last_change().as_secs(),
            check_status: check_status_number(server.check_status()),
            // CHK_RES_UNKNOWN (no check run), FAILED, PASSED.
            check_result: match (checked, server.check_status()) {
                (false, _) | (true, None) => 0,
                (true, Some(_)) if server.is_up() => 3,
                (true, Some(_)) => 2,
            },
            // Every server has the counter, checked or not (HAProxy
            // starts an unchecked one at `rise`).
            health: server.check_health(),
            // CONFIGURED|ENABLED, CONFIGURED (`disable health`), and
            // PAUSED added in maintenance.
            check_state: match (checked, server.checks_enabled(), maint) {
                (false, _, _) => 0,
                (true, true, false) => 6,
                (true, true, true) => 14,
                (true, false, false) => 2,
                (true, false, true) => 10,
            },
            // CONFIGURED|ENABLED|AGENT: an agent is never paused.
            agent_state: if server.options.agent_check == Some(true) {
                22
            } else {
                0
            },
        }
    }
}

impl std::fmt::Display for StateFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {} {} {} {}",
            self.op,
            self.admin,
            self.uweight,
            self.iweight,
            self.since_change,
            self.check_status,
            self.check_result,
            self.health,
            self.check_state,
            self.agent_state
        )
    }
}

/// The backend's view: its id, as the CSV's `iid` column gives it, and
/// whether `id` forced it.
fn proxy_id(state: &ApiState, name: &str) -> (u32, bool) {
    state
        .views
        .iter()
        .find(|v| v.name == name && v.backend.is_some())
        .map_or((0, false), |v| (v.id, v.forced_id))
}

//! The HTML statistics page, modelled on HAProxy's: one table per proxy
//! with its FRONTEND, server and BACKEND rows; queue, sessions, bytes,
//! denied, errors, warnings (retries, redispatches) and server status (last
//! state change, last check, weight, active/backup, check failures, down
//! transitions, downtime), coloured by state. With `stats admin`, each
//! backend table is a form that sets the checked servers ready, drain or
//! maint. The tables scroll sideways on a phone instead of overflowing.

use std::fmt::Write;

use super::counters::{rows, Row};
use super::ProxyView;

/// How the page is drawn for one request.
pub struct Settings<'a> {
    pub uri: &'a str,
    pub refresh: Option<std::time::Duration>,
    pub hide_version: bool,
    pub show_legends: bool,
    pub node: Option<&'a str>,
    pub description: Option<&'a str>,
    /// The admin forms are shown (`stats admin` matched the request).
    pub admin: bool,
    /// `;up`: only servers that are up.
    pub only_up: bool,
    /// The outcome of the last admin action (`;st=`).
    pub status: Option<&'a str>,
}

const STYLE: &str = "body{font-family:Arial,Helvetica,sans-serif;font-size:12px;margin:8px;color:#000;background:#fff}\
h1{font-size:18px;color:#fff;background:#20a0ff;padding:6px 8px;margin:0 0 8px}\
.wrap{overflow-x:auto;margin-bottom:14px}\
table{border-collapse:collapse;white-space:nowrap}\
th,td{border:1px solid #aaa;padding:2px 5px;text-align:right}\
th{background:#e0e0e0}th.px{background:#20a0ff;color:#fff;text-align:left;font-size:13px}\
td.name{text-align:left;font-weight:bold}\
tr.fe td,tr.be td{background:#eee}\
tr.up td{background:#c0ffc0}tr.down td{background:#ff9090}tr.maint td{background:#c07820;color:#fff}\
tr.drain td{background:#a0a0f0}tr.nolb td{background:#ffd080}tr.nocheck td{background:#e0ffe0}\
.banner{padding:6px;margin-bottom:8px;border:1px solid #888}.ok{background:#c0ffc0}.ko{background:#ff9090}\
.legend span{display:inline-block;padding:2px 6px;margin:2px;border:1px solid #aaa}";

const GROUPS: &[(&str, &[&str])] = &[
    ("Queue", &["Cur", "Max", "Limit"]),
    ("Sessions", &["Cur", "Max", "Limit", "Total", "LbTot"]),
    ("Bytes", &["In", "Out"]),
    ("Denied", &["Req", "Resp"]),
    ("Errors", &["Req", "Conn", "Resp"]),
    ("Warnings", &["Retr", "Redis"]),
    (
        "Server",
        &[
            "Status", "LastChk", "Wght", "Act", "Bck", "Chk", "Dwn", "Dwntme",
        ],
    ),
];

/// The CSV columns shown, in the order of [`GROUPS`] (Status and LastChk
/// are drawn from several columns).
const COLUMNS: &[&str] = &[
    "qcur", "qmax", "qlimit", "scur", "smax", "slim", "stot", "lbtot", "bin", "bout", "dreq",
    "dresp", "ereq", "econ", "eresp", "wretr", "wredis",
];

pub fn render(settings: &Settings<'_>, proxies: &[ProxyView]) -> String {
    let mut page = String::from("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    if let Some(refresh) = settings.refresh {
        let _ = write!(
            page,
            "<meta http-equiv=\"refresh\" content=\"{}\">",
            refresh.as_secs().max(1)
        );
    }
    let _ = write!(
        page,
        "<title>Statistics Report for pid {}</title><style>{STYLE}</style></head><body>",
        std::process::id()
    );
    let version = if settings.hide_version {
        String::new()
    } else {
        format!(" (Switchyard {})", env!("CARGO_PKG_VERSION"))
    };
    let node = settings
        .node
        .map(|n| format!(" on {}", escape(n)))
        .unwrap_or_default();
    let _ = write!(
        page,
        "<h1>Statistics Report for pid {}{node}{version}</h1>",
        std::process::id()
    );
    if let Some(desc) = settings.description {
        let _ = write!(page, "<p>{}</p>", escape(desc));
    }
    if let Some(status) = settings.status {
        let (class, text) = match status {
            "DONE" => ("ok", "Action processed successfully."),
            "NONE" => ("ko", "Nothing has changed."),
            "PART" => ("ko", "Action not processed for some servers."),
            "DENY" => ("ko", "Action denied."),
            _ => ("ko", "Invalid request."),
        };
        let _ = write!(page, "<div class=\"banner {class}\">{text}</div>");
    }
    if settings.show_legends {
        page.push_str("<div class=\"legend\"><span style=\"background:#c0ffc0\">active UP</span><span style=\"background:#ff9090\">active or backup DOWN</span><span style=\"background:#ffd080\">active UP, going down (NOLB)</span><span style=\"background:#a0a0f0\">DRAIN</span><span style=\"background:#c07820;color:#fff\">MAINT</span><span style=\"background:#e0ffe0\">not checked</span></div>");
    }
    for proxy in proxies {
        render_proxy(&mut page, settings, proxy);
    }
    page.push_str("</body></html>\n");
    page
}

fn render_proxy(page: &mut String, settings: &Settings<'_>, proxy: &ProxyView) {
    let form = settings.admin
        && proxy
            .backend
            .as_ref()
            .is_some_and(|b| !b.servers.is_empty());
    page.push_str("<div class=\"wrap\">");
    if form {
        let _ = write!(
            page,
            "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"b\" value=\"{}\">",
            escape(settings.uri),
            escape(&proxy.name)
        );
    }
    let span: usize = GROUPS.iter().map(|(_, c)| c.len()).sum::<usize>() + 1 + usize::from(form);
    let _ = write!(
        page,
        "<table><tr><th class=\"px\" colspan=\"{span}\">{}</th></tr><tr>",
        escape(&proxy.name)
    );
    if form {
        page.push_str("<th rowspan=\"2\"></th>");
    }
    page.push_str("<th rowspan=\"2\"></th>");
    for (group, cols) in GROUPS {
        let _ = write!(page, "<th colspan=\"{}\">{group}</th>", cols.len());
    }
    page.push_str("</tr><tr>");
    for (_, cols) in GROUPS {
        for c in cols.iter() {
            let _ = write!(page, "<th>{c}</th>");
        }
    }
    page.push_str("</tr>");
    for row in rows(std::slice::from_ref(proxy)) {
        let name = get(&row, "svname");
        let server = name != "FRONTEND" && name != "BACKEND";
        let status = get(&row, "status");
        if server && settings.only_up && !status.starts_with("UP") && status != "no check" {
            continue;
        }
        let class = match (name.as_str(), status.as_str()) {
            ("FRONTEND", _) => "fe",
            ("BACKEND", _) => "be",
            (_, "no check") => "nocheck",
            (_, s) if s.starts_with("UP") => "up",
            (_, s) if s.starts_with("MAINT") => "maint",
            (_, "DRAIN") => "drain",
            (_, "NOLB") => "nolb",
            _ => "down",
        };
        let _ = write!(page, "<tr class=\"{class}\">");
        if form {
            if server {
                let _ = write!(
                    page,
                    "<td><input type=\"checkbox\" name=\"s\" value=\"{}\"></td>",
                    escape(&name)
                );
            } else {
                page.push_str("<td></td>");
            }
        }
        let _ = write!(page, "<td class=\"name\">{}</td>", escape(&name));
        for c in COLUMNS {
            let _ = write!(page, "<td>{}</td>", escape(&get(&row, c)));
        }
        let lastchg = row
            .get("lastchg")
            .and_then(|v| v.parse::<u64>().ok())
            .map(|s| format!("{} ", human(s)))
            .unwrap_or_default();
        let check = match (row.get("check_status"), row.get("check_code")) {
            (Some(s), Some(code)) => format!("{s}/{code}"),
            (Some(s), None) => s.clone(),
            _ => String::new(),
        };
        let downtime = row
            .get("downtime")
            .and_then(|v| v.parse::<u64>().ok())
            .map(human)
            .unwrap_or_default();
        let _ = write!(
            page,
            "<td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if server { lastchg } else { String::new() },
            escape(&status),
            escape(&check),
            get(&row, "weight"),
            yes_no(&row, "act", server),
            yes_no(&row, "bck", server),
            get(&row, "chkfail"),
            get(&row, "chkdown"),
            downtime
        );
    }
    page.push_str("</table>");
    if form {
        page.push_str("Choose the action to perform on the checked servers: <select name=\"action\"><option value=\"\"></option><option value=\"ready\">Set state to READY</option><option value=\"drain\">Set state to DRAIN</option><option value=\"maint\">Set state to MAINT</option><option value=\"dhlth\">Health: disable checks</option><option value=\"ehlth\">Health: enable checks</option><option value=\"hrunn\">Health: force UP</option><option value=\"hnolb\">Health: force NOLB</option><option value=\"hdown\">Health: force DOWN</option></select> <input type=\"submit\" value=\"Apply\"></form>");
    }
    page.push_str("</div>");
}

fn get(row: &Row, column: &str) -> String {
    row.get(column).cloned().unwrap_or_default()
}

/// Server rows say Y/-, like HAProxy's page; summary rows give counts.
fn yes_no(row: &Row, column: &str, server: bool) -> String {
    let value = get(row, column);
    if !server {
        return value;
    }
    match value.as_str() {
        "1" => "Y".into(),
        "0" => "-".into(),
        other => other.into(),
    }
}

/// HAProxy's short durations: `12s`, `5m3s`, `2h10m`, `3d4h`.
pub fn human(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s}s"),
        (0, _, _) => format!("{h}h{m}m"),
        _ => format!("{d}d{h}h"),
    }
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_haproxy_prints_them() {
        assert_eq!(human(12), "12s");
        assert_eq!(human(303), "5m3s");
        assert_eq!(human(7800), "2h10m");
        assert_eq!(human(3 * 86_400 + 4 * 3600 + 5), "3d4h");
    }

    #[test]
    fn names_are_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&"),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
    }
}

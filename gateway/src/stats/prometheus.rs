//! `http-request use-service prometheus-exporter`: the counters in the
//! Prometheus text exposition format with HAProxy's metric names
//! (`haproxy_frontend_…`, `haproxy_backend_…`, `haproxy_server_…`), so
//! existing dashboards and alerts keep working.

use std::fmt::Write;

use super::counters::{rows, Row};
use super::ProxyView;

/// (metric suffix, CSV column, type, help) for each object kind.
type Metric = (&'static str, &'static str, &'static str, &'static str);

const FRONTEND: &[Metric] = &[
    (
        "current_sessions",
        "scur",
        "gauge",
        "Number of current sessions on the frontend.",
    ),
    (
        "max_sessions",
        "smax",
        "gauge",
        "Highest value of current sessions encountered since process started.",
    ),
    (
        "sessions_total",
        "stot",
        "counter",
        "Total number of sessions since process started.",
    ),
    (
        "bytes_out_total",
        "bout",
        "counter",
        "Total number of response bytes since process started.",
    ),
    (
        "http_requests_total",
        "req_tot",
        "counter",
        "Total number of HTTP requests processed by this object since the worker process started.",
    ),
];

const BACKEND: &[Metric] = &[
    (
        "current_sessions",
        "scur",
        "gauge",
        "Number of current sessions on the frontend, backend or server.",
    ),
    (
        "sessions_total",
        "stot",
        "counter",
        "Total number of sessions since process started.",
    ),
    (
        "loadbalanced_total",
        "lbtot",
        "counter",
        "Total number of requests routed by load balancing since the server was last cleared.",
    ),
    (
        "active_servers",
        "act",
        "gauge",
        "Total number of active UP servers with a non-zero weight.",
    ),
    (
        "backup_servers",
        "bck",
        "gauge",
        "Total number of backup UP servers with a non-zero weight.",
    ),
    ("weight", "weight", "gauge", "Service weight."),
    (
        "retry_warnings_total",
        "wretr",
        "counter",
        "Total number of server connection retries since process started.",
    ),
    (
        "redispatch_warnings_total",
        "wredis",
        "counter",
        "Total number of server redispatches due to connection failures since process started.",
    ),
];

const SERVER: &[Metric] = &[
    ("current_sessions", "scur", "gauge", "Number of current sessions on the frontend, backend or server."),
    ("max_sessions", "smax", "gauge", "Highest value of current sessions encountered since process started."),
    ("limit_sessions", "slim", "gauge", "Frontend/listener/server's maxconn, backend's fullconn."),
    ("sessions_total", "stot", "counter", "Total number of sessions since process started."),
    ("loadbalanced_total", "lbtot", "counter", "Total number of requests routed by load balancing since the server was last cleared."),
    ("connection_errors_total", "econ", "counter", "Total number of failed connections to server since the worker process started."),
    ("retry_warnings_total", "wretr", "counter", "Total number of server connection retries since process started."),
    ("redispatch_warnings_total", "wredis", "counter", "Total number of server redispatches due to connection failures since process started."),
    ("weight", "weight", "gauge", "Service weight."),
    ("check_failures_total", "chkfail", "counter", "Total number of failed individual health checks per server/backend, since the worker process started."),
    ("check_up_down_total", "chkdown", "counter", "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started."),
    ("downtime_seconds_total", "downtime", "counter", "Total time spent in DOWN state, for server or backend."),
    ("last_change_seconds", "lastchg", "gauge", "How long ago the last server state changed, in seconds."),
];

/// Server states as HAProxy's exporter lists them.
const STATES: &[&str] = &["DOWN", "UP", "MAINT", "DRAIN", "NOLB"];

pub fn render(proxies: &[ProxyView]) -> String {
    let all = rows(proxies);
    let of = |kind: &str| -> Vec<&Row> {
        all.iter()
            .filter(|r| r.get("type").map(String::as_str) == Some(kind))
            .collect()
    };
    let (frontends, backends, servers) = (of("0"), of("1"), of("2"));
    let mut out = String::new();
    section(&mut out, "frontend", FRONTEND, &frontends, false);
    section(&mut out, "backend", BACKEND, &backends, false);
    section(&mut out, "server", SERVER, &servers, true);
    // HTTP responses by class, frontends only (what Switchyard counts).
    let _ = writeln!(out, "# HELP haproxy_frontend_http_responses_total Total number of HTTP responses with status 1xx..5xx and other.\n# TYPE haproxy_frontend_http_responses_total counter");
    for row in &frontends {
        for (code, column) in [
            ("1xx", "hrsp_1xx"),
            ("2xx", "hrsp_2xx"),
            ("3xx", "hrsp_3xx"),
            ("4xx", "hrsp_4xx"),
            ("5xx", "hrsp_5xx"),
            ("other", "hrsp_other"),
        ] {
            if let Some(v) = row.get(column) {
                let _ = writeln!(
                    out,
                    "haproxy_frontend_http_responses_total{{proxy=\"{}\",code=\"{code}\"}} {v}",
                    label(row, "pxname")
                );
            }
        }
    }
    let _ = writeln!(out, "# HELP haproxy_server_status Current status of the service, per state label value.\n# TYPE haproxy_server_status gauge");
    for row in &servers {
        let status = row.get("status").map(String::as_str).unwrap_or("");
        let status = if status == "no check" { "UP" } else { status };
        for state in STATES {
            let _ = writeln!(
                out,
                "haproxy_server_status{{proxy=\"{}\",server=\"{}\",state=\"{state}\"}} {}",
                label(row, "pxname"),
                label(row, "svname"),
                u8::from(status.starts_with(state))
            );
        }
    }
    let _ = writeln!(out, "# HELP haproxy_backend_status Current status of the service.\n# TYPE haproxy_backend_status gauge");
    for row in &backends {
        let up = row.get("status").is_some_and(|s| s.starts_with("UP"));
        let _ = writeln!(
            out,
            "haproxy_backend_status{{proxy=\"{}\",state=\"UP\"}} {}",
            label(row, "pxname"),
            u8::from(up)
        );
        let _ = writeln!(
            out,
            "haproxy_backend_status{{proxy=\"{}\",state=\"DOWN\"}} {}",
            label(row, "pxname"),
            u8::from(!up)
        );
    }
    out
}

fn section(out: &mut String, kind: &str, metrics: &[Metric], rows: &[&Row], server: bool) {
    for (name, column, kind_of, help) in metrics {
        let present: Vec<(&Row, &String)> = rows
            .iter()
            .filter_map(|r| r.get(*column).filter(|v| !v.is_empty()).map(|v| (*r, v)))
            .collect();
        if present.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "# HELP haproxy_{kind}_{name} {help}\n# TYPE haproxy_{kind}_{name} {kind_of}"
        );
        for (row, value) in present {
            let labels = if server {
                format!(
                    "proxy=\"{}\",server=\"{}\"",
                    label(row, "pxname"),
                    label(row, "svname")
                )
            } else {
                format!("proxy=\"{}\"", label(row, "pxname"))
            };
            let _ = writeln!(out, "haproxy_{kind}_{name}{{{labels}}} {value}");
        }
    }
}

/// A label value, escaped as the exposition format requires.
fn label(row: &Row, column: &str) -> String {
    row.get(column)
        .map(|v| {
            v.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        })
        .unwrap_or_default()
}

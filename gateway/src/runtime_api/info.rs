//! `show info`, `show backend` and `show stat [typed]`.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use super::ApiState;
use crate::stats;

pub fn show_backend(_: &[String], state: &ApiState, out: &mut String) -> Result<(), String> {
    out.push_str("# name\n");
    for b in &state.backends {
        let _ = writeln!(out, "{}", b.name);
    }
    Ok(())
}

/// `show info`: HAProxy's `Name: value` lines for what Switchyard knows.
pub fn show_info(_: &[String], state: &ApiState, out: &mut String) -> Result<(), String> {
    let uptime = state.started.elapsed().as_secs();
    let (mut current, mut total, mut bytes_out) = (0u64, 0u64, 0u64);
    for f in state.views.iter().filter_map(|v| v.frontend.as_ref()) {
        current += f.current.load(Ordering::Relaxed);
        total += f.total.load(Ordering::Relaxed);
        bytes_out += f.bytes_out.load(Ordering::Relaxed);
    }
    let fields = [
        ("Name", "Switchyard".to_owned()),
        ("Version", env!("CARGO_PKG_VERSION").to_owned()),
        ("Nbthread", state.threads.to_string()),
        ("Nbproc", "1".into()),
        ("Process_num", "1".into()),
        ("Pid", std::process::id().to_string()),
        (
            "Uptime",
            format!(
                "{}d {}h{:02}m{:02}s",
                uptime / 86_400,
                uptime / 3600 % 24,
                uptime / 60 % 60,
                uptime % 60
            ),
        ),
        ("Uptime_sec", uptime.to_string()),
        ("CurrConns", current.to_string()),
        ("CumReq", total.to_string()),
        ("Stopping", "0".into()),
        (
            "Listeners",
            state
                .views
                .iter()
                .filter(|v| v.frontend.is_some())
                .count()
                .to_string(),
        ),
        ("TotalBytesOut", bytes_out.to_string()),
    ];
    for (name, value) in fields {
        let _ = writeln!(out, "{name}: {value}");
    }
    Ok(())
}

/// `show stat`: the CSV of the stats page; `typed`: one
/// `F.iid.sid.col.name:origin:type:value` line per field, HAProxy's
/// typed form, with every value given as a string.
pub fn show_stat(args: &[String], state: &ApiState, out: &mut String) -> Result<(), String> {
    match args.first().map(String::as_str) {
        None => {
            out.push_str(&stats::csv(&state.views));
            Ok(())
        }
        Some("typed") => {
            for row in stats::counters::rows(&state.views) {
                let kind = match row.get("type").map(String::as_str) {
                    Some("0") => 'F',
                    Some("1") => 'B',
                    _ => 'S',
                };
                let iid = row.get("iid").map(String::as_str).unwrap_or("0");
                let sid = row.get("sid").map(String::as_str).unwrap_or("0");
                for (index, column) in stats::csv_columns().enumerate() {
                    if let Some(value) = row.get(column) {
                        let _ =
                            writeln!(out, "{kind}.{iid}.{sid}.{index}.{column}.1:MGP:str:{value}");
                    }
                }
                out.push('\n');
            }
            Ok(())
        }
        Some(other) => Err(format!(
            "unknown 'show stat' argument '{other}'; expected nothing or 'typed'"
        )),
    }
}

//! `;json`: HAProxy's JSON statistics, one array per row (FRONTEND, each
//! server, BACKEND) of field objects in CSV column order, each with its
//! object type, proxy and server ids, field position and name, and value.

use serde_json::{json, Value};

use super::counters::rows;
use super::{csv_columns, ProxyView};

pub fn render(proxies: &[ProxyView]) -> String {
    let out: Vec<Value> = rows(proxies)
        .iter()
        .map(|row| {
            let object = match row.get("type").map(String::as_str) {
                Some("0") => "Frontend",
                Some("1") => "Backend",
                _ => "Server",
            };
            let id = |c: &str| row.get(c).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            let fields: Vec<Value> = csv_columns()
                .enumerate()
                .filter_map(|(pos, name)| {
                    let value = row.get(name)?;
                    let typed = match value.parse::<u64>() {
                        Ok(n) if name != "pxname" && name != "svname" => {
                            json!({"type": "u64", "value": n})
                        }
                        _ => json!({"type": "str", "value": value}),
                    };
                    Some(json!({
                        "objType": object,
                        "proxyId": id("iid"),
                        "id": id("sid"),
                        "field": {"pos": pos, "name": name},
                        "processNum": 1,
                        "value": typed,
                    }))
                })
                .collect();
            Value::Array(fields)
        })
        .collect();
    let mut text = Value::Array(out).to_string();
    text.push('\n');
    text
}

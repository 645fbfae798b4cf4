//! Live counters and the stats rows built from them, keyed by HAProxy's CSV
//! column names so that the CSV keeps HAProxy's column order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::ProxyView;

/// A frontend's counters, updated on the request path.
#[derive(Debug, Default)]
pub struct FrontendCounters {
    pub current: AtomicU64,
    pub max: AtomicU64,
    pub total: AtomicU64,
    /// Responses by class: 1xx … 5xx, other.
    pub by_status: [AtomicU64; 6],
    pub bytes_out: AtomicU64,
    /// Client connections open now, counted only for a frontend whose log
    /// lines report them (`%fc`; see `log::connection_counts`).
    pub connections: AtomicU64,
}

impl FrontendCounters {
    pub fn request_started(&self) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let now = self.current.fetch_add(1, Ordering::Relaxed) + 1;
        self.max.fetch_max(now, Ordering::Relaxed);
    }

    pub fn request_finished(&self, status: u16, bytes: u64) {
        self.current.fetch_sub(1, Ordering::Relaxed);
        let class = match status {
            100..=599 => (status / 100 - 1) as usize,
            _ => 5,
        };
        self.by_status[class].fetch_add(1, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes, Ordering::Relaxed);
    }
}

impl FrontendCounters {
    /// A TCP session ended, `bytes` sent to the client (no status).
    pub fn session_finished(&self, bytes: u64) {
        self.current.fetch_sub(1, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes, Ordering::Relaxed);
    }
}

pub type Row = HashMap<&'static str, String>;

fn get(v: &AtomicU64) -> String {
    v.load(Ordering::Relaxed).to_string()
}

/// FRONTEND, server and BACKEND rows of each proxy, in HAProxy's order.
pub fn rows(proxies: &[ProxyView]) -> Vec<Row> {
    let mut out = Vec::new();
    let pid = std::process::id().to_string();
    for proxy in proxies {
        let base = |svname: &str, kind: &str| -> Row {
            let mut r = Row::new();
            r.insert("pxname", proxy.name.clone());
            r.insert("svname", svname.to_owned());
            r.insert("pid", pid.clone());
            r.insert("iid", proxy.id.to_string());
            // FRONTEND and BACKEND rows are sid 0; a server's row sets its own.
            r.insert("sid", "0".into());
            r.insert("type", kind.to_owned());
            r.insert("mode", proxy.mode.into());
            r
        };
        if let Some(f) = &proxy.frontend {
            let mut r = base("FRONTEND", "0");
            r.insert("scur", get(&f.current));
            r.insert("smax", get(&f.max));
            r.insert("stot", get(&f.total));
            r.insert("req_tot", get(&f.total));
            r.insert("bout", get(&f.bytes_out));
            r.insert("status", "OPEN".into());
            for (i, name) in [
                "hrsp_1xx",
                "hrsp_2xx",
                "hrsp_3xx",
                "hrsp_4xx",
                "hrsp_5xx",
                "hrsp_other",
            ]
            .into_iter()
            .enumerate()
            {
                r.insert(name, get(&f.by_status[i]));
            }
            out.push(r);
        }
        if let Some(b) = &proxy.backend {
            let (mut cur, mut total, mut act, mut bck, mut weight) = (0u64, 0u64, 0u64, 0u64, 0u64);
            let (mut retries, mut redispatches) = (0u64, 0u64);
            for (s, sid) in b.servers.iter().zip(super::ids::server_ids(b)) {
                let mut r = base(&s.name, "2");
                let status = match s.admin_state() {
                    // `init-addr none`: no address to send anything to.
                    _ if s.resolution_maint => "MAINT (resolution)",
                    crate::upstream::server::AdminState::Maint => "MAINT",
                    crate::upstream::server::AdminState::Drain if s.is_up() => "DRAIN",
                    _ if s.is_stopping() => "NOLB",
                    _ if s.is_up() => "UP",
                    // HAProxy names the agent when its `down` holds the server.
                    _ if !s.agent_says_up() => "DOWN (agent)",
                    _ => "DOWN",
                };
                r.insert(
                    "status",
                    // A tracking server shows the state it follows.
                    if s.options.check == Some(true) || s.options.track.is_some() || status != "UP"
                    {
                        status.into()
                    } else {
                        "no check".into()
                    },
                );
                r.insert("weight", s.effective_weight().to_string());
                r.insert("uweight", s.weight().to_string());
                if let Some(throttle) = s.throttle() {
                    r.insert("throttle", throttle.to_string());
                }
                r.insert("act", (!s.backup as u8).to_string());
                r.insert("bck", (s.backup as u8).to_string());
                r.insert("scur", s.in_flight().to_string());
                r.insert("smax", s.max_in_flight().to_string());
                if s.maxconn() > 0 {
                    r.insert("slim", s.maxconn().to_string());
                }
                let picks = s.picks.load(Ordering::Relaxed);
                r.insert("stot", picks.to_string());
                r.insert("lbtot", picks.to_string());
                r.insert("econ", s.failures.load(Ordering::Relaxed).to_string());
                let (queued, max_queued) = s.queue();
                r.insert("qcur", queued.to_string());
                r.insert("qmax", max_queued.to_string());
                r.insert("sid", sid.to_string());
                if s.observer.active() {
                    r.insert(
                        "hanafail",
                        s.observer.failed.load(Ordering::Relaxed).to_string(),
                    );
                }
                if let Some(tracked) = crate::upstream::track::tracked_name(&b.name, s) {
                    r.insert("tracked", tracked);
                }
                if let Some(code) = s.check_status() {
                    r.insert("check_status", code.to_owned());
                }
                if let Some(code) = s.agent_status() {
                    r.insert("agent_status", code.to_owned());
                }
                if let Some(info) = s.agent_info() {
                    r.insert("last_agt", info);
                }
                if let Some(cookie) = &s.cookie {
                    r.insert("cookie", cookie.clone());
                }
                // HAProxy writes `unix` for a server on a unix socket.
                // and nothing for a server without an address.
                if !s.resolution_maint {
                    let addr = match &s.unix {
                        Some(_) => "unix".to_owned(),
                        None => s.addr().to_string(),
                    };
                    r.insert("addr", addr);
                }
                r.insert("lastchg", s.since_last_change().as_secs().to_string());
                r.insert("wretr", s.retries.load(Ordering::Relaxed).to_string());
                r.insert("wredis", s.redispatches.load(Ordering::Relaxed).to_string());
                if s.options.check == Some(true) {
                    r.insert(
                        "chkfail",
                        s.check_failures.load(Ordering::Relaxed).to_string(),
                    );
                    r.insert("chkdown", s.downs.load(Ordering::Relaxed).to_string());
                    r.insert("downtime", s.downtime().as_secs().to_string());
                }
                retries += s.retries.load(Ordering::Relaxed);
                redispatches += s.redispatches.load(Ordering::Relaxed);
                cur += u64::from(s.in_flight());
                total += picks;
                if s.usable() {
                    weight += u64::from(s.effective_weight());
                    if s.backup {
                        bck += 1;
                    } else {
                        act += 1;
                    }
                }
                out.push(r);
            }
            let mut r = base("BACKEND", "1");
            r.insert(
                "status",
                if act + bck > 0 || b.servers.is_empty() && proxy.frontend.is_some() {
                    "UP".into()
                } else {
                    "DOWN".into()
                },
            );
            r.insert("scur", cur.to_string());
            r.insert("stot", total.to_string());
            r.insert("lbtot", total.to_string());
            r.insert("weight", weight.to_string());
            r.insert("act", act.to_string());
            r.insert("bck", bck.to_string());
            r.insert("algo", proxy.algo.clone());
            r.insert("wretr", retries.to_string());
            r.insert("wredis", redispatches.to_string());
            out.push(r);
        }
    }
    out
}

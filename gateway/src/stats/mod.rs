//! The statistics page (`stats enable`, `stats uri`, `stats auth`,
//! `stats realm`, `stats refresh`, `stats hide-version`): an HTML page and
//! HAProxy's CSV (`;csv`), from the live counters of frontends and servers.

pub mod counters;

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderValue, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Response, StatusCode};
use switchyard_grammar::ast::stats::StatsSettings;

use crate::body::ProxyBody;
use crate::upstream::Backend;
use counters::FrontendCounters;

/// HAProxy 2.6's CSV header, core fields (before the per-module fields).
pub const CSV_HEADER: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,";

/// HAProxy's CSV: the header, then FRONTEND, servers and BACKEND rows (the
/// page's `;csv` and the runtime API's `show stat`).
pub fn csv(proxies: &[ProxyView]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for row in counters::rows(proxies) {
        for c in csv_columns() {
            out.push_str(row.get(c).map(String::as_str).unwrap_or(""));
            out.push(',');
        }
        out.push('\n');
    }
    out
}

/// The CSV's column names, in order.
pub fn csv_columns() -> impl Iterator<Item = &'static str> {
    CSV_HEADER
        .trim_start_matches("# ")
        .trim_end_matches(',')
        .split(',')
}

/// One proxy as the page shows it.
pub struct ProxyView {
    pub name: String,
    pub frontend: Option<Arc<FrontendCounters>>,
    pub backend: Option<Arc<Backend>>,
    /// `roundrobin`, `leastconn`… for the CSV's algo column.
    pub algo: String,
    /// `http` or `tcp`, for the CSV's mode column.
    pub mode: &'static str,
}

pub struct StatsPage {
    uri: String,
    realm: String,
    auths: Vec<(String, String)>,
    refresh: Option<Duration>,
    hide_version: bool,
    proxies: Arc<Vec<ProxyView>>,
}

impl StatsPage {
    pub fn new(settings: &StatsSettings, proxies: Arc<Vec<ProxyView>>) -> StatsPage {
        StatsPage {
            uri: settings.uri().to_owned(),
            realm: settings.realm().to_owned(),
            auths: settings
                .auths
                .iter()
                .map(|a| (a.user.clone(), a.password.clone()))
                .collect(),
            refresh: settings.refresh,
            hide_version: settings.hide_version,
            proxies,
        }
    }

    /// Whether a request target is for the page (HAProxy matches the prefix).
    pub fn matches(&self, target: &str) -> bool {
        target.starts_with(&self.uri)
    }

    pub fn respond(
        &self,
        target: &str,
        authorization: Option<&HeaderValue>,
    ) -> Response<ProxyBody> {
        if !self.auths.is_empty() && !self.authorized(authorization) {
            let mut r = crate::proxy::error_page::CannedResponse::builtin(401).to_response();
            if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{}\"", self.realm)) {
                r.headers_mut().insert(WWW_AUTHENTICATE, v);
            }
            return r;
        }
        let csv = target[self.uri.len()..].starts_with(";csv");
        let (body, content_type) = if csv {
            (self.csv(), "text/plain")
        } else {
            (self.html(), "text/html")
        };
        let mut r = Response::new(ProxyBody::full(body));
        *r.status_mut() = StatusCode::OK;
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        r.headers_mut().insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        );
        r
    }

    fn authorized(&self, header: Option<&HeaderValue>) -> bool {
        struct Header<'a>(Option<&'a HeaderValue>);
        impl switchyard_rules::RequestFacts for Header<'_> {
            fn method(&self) -> &str {
                "GET"
            }
            fn target(&self) -> &str {
                "/"
            }
            fn version(&self) -> &str {
                "1.1"
            }
            fn for_each_header(&self, f: &mut dyn FnMut(&str, &[u8])) {
                if let Some(v) = self.0 {
                    f("authorization", v.as_bytes());
                }
            }
            fn src(&self) -> std::net::SocketAddr {
                ([127, 0, 0, 1], 0).into()
            }
            fn dst(&self) -> std::net::SocketAddr {
                ([127, 0, 0, 1], 0).into()
            }
        }
        let Some((user, pass)) = switchyard_rules::RequestFacts::basic_credentials(&Header(header))
        else {
            return false;
        };
        // Every entry is compared, in constant time, whatever matches.
        self.auths.iter().fold(false, |ok, (u, p)| {
            let user_ok =
                switchyard_rules::userlist::constant_time_eq(u.as_bytes(), user.as_bytes());
            let pass_ok =
                switchyard_rules::userlist::constant_time_eq(p.as_bytes(), pass.as_bytes());
            ok | (user_ok & pass_ok)
        })
    }

    pub fn csv(&self) -> String {
        csv(&self.proxies)
    }

    fn html(&self) -> String {
        let mut page = String::from("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        if let Some(refresh) = self.refresh {
            let _ = write!(
                page,
                "<meta http-equiv=\"refresh\" content=\"{}\">",
                refresh.as_secs().max(1)
            );
        }
        page.push_str("<title>Statistics Report</title><style>body{font-family:sans-serif;font-size:13px;margin:8px}table{border-collapse:collapse;margin-bottom:16px;width:100%;overflow-x:auto;display:block}th,td{border:1px solid #999;padding:2px 6px;text-align:right;white-space:nowrap}th{background:#20a0ff;color:#fff}td:first-child{text-align:left}.up{background:#c0ffc0}.down{background:#ff9090}.maint{background:#c07820;color:#fff}.fe,.be{background:#eee;font-weight:bold}</style></head><body>");
        let version = if self.hide_version {
            String::new()
        } else {
            format!(" (Switchyard {})", env!("CARGO_PKG_VERSION"))
        };
        let _ = write!(page, "<h1>Statistics Report{version}</h1>");
        for proxy in self.proxies.iter() {
            let _ = write!(page, "<table><tr><th>{}</th><th>Status</th><th>Weight</th><th>Act</th><th>Bck</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th><th>Errors</th><th>Check</th></tr>", escape(&proxy.name));
            for row in counters::rows(std::slice::from_ref(proxy)) {
                let g = |k: &str| row.get(k).cloned().unwrap_or_default();
                let status = g("status");
                let class = match (g("svname").as_str(), status.as_str()) {
                    ("FRONTEND", _) => "fe",
                    ("BACKEND", _) => "be",
                    (_, s) if s.starts_with("UP") => "up",
                    (_, s) if s.starts_with("MAINT") => "maint",
                    _ => "down",
                };
                let errors = g("econ");
                let _ = write!(page, "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&g("svname")), escape(&status), g("weight"), g("act"), g("bck"), g("scur"), g("smax"), g("slim"), g("stot"), g("lbtot"), errors, escape(&g("check_status")));
            }
            page.push_str("</table>");
        }
        page.push_str("</body></html>\n");
        page
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

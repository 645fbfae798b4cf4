//! The statistics page (`stats enable`, `stats uri`, `stats auth`,
//! `stats realm`, `stats refresh`, `stats admin`, `stats hide-version`,
//! `stats show-legends/show-node/show-desc`, `stats scope`) in a frontend,
//! `listen` or backend: an HTML page (`html.rs`) with admin forms
//! (`admin.rs`), HAProxy's CSV (`;csv`) and JSON (`;json`), and the
//! Prometheus exporter (`prometheus.rs`), all from the live counters.

pub mod admin;
pub mod counters;
pub mod html;
pub mod ids;
pub mod json;
pub mod prometheus;

use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderValue, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use switchyard_grammar::ast::stats::{StatsSettings, StatsVerdict};
use switchyard_rules::{RequestFacts, RuleSet};

use crate::message::body::ProxyBody;
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
#[derive(Clone)]
pub struct ProxyView {
    pub name: String,
    /// HAProxy's proxy id (see [`ids`]).
    pub id: u32,
    /// Whether the id was given by the `id` keyword.
    pub forced_id: bool,
    pub frontend: Option<Arc<FrontendCounters>>,
    pub backend: Option<Arc<Backend>>,
    /// `roundrobin`, `leastconn`… for the CSV's algo column.
    pub algo: String,
    /// `http` or `tcp`, for the CSV's mode column.
    pub mode: &'static str,
}

/// A proxy's statistics page.
pub struct StatsPage {
    /// The section that enabled it (for `stats admin` conditions).
    proxy: String,
    uri: String,
    realm: String,
    auths: Vec<(String, String)>,
    refresh: Option<Duration>,
    hide_version: bool,
    show_legends: bool,
    /// `stats show-node [NAME]`: the node name shown (the host name when
    /// none is given).
    node: Option<String>,
    description: Option<String>,
    /// `stats scope`: only these proxies (all when empty).
    scope: Vec<String>,
    has_admin: bool,
    rules: Arc<RuleSet>,
    proxies: Arc<Vec<ProxyView>>,
}

/// What the part of the target after the page's URI asks for. As HAProxy,
/// each option is found anywhere in that part (`/;csv`, `/?;csv;scope=b1`).
#[derive(Debug, Default, PartialEq, Eq)]
struct PageOptions {
    csv: bool,
    json: bool,
    /// `;up`: hide servers that are not up.
    only_up: bool,
    /// `;norefresh`.
    no_refresh: bool,
    /// `;st=DONE|NONE|PART|DENY|ERRP`: the outcome of an admin action.
    status: Option<String>,
    /// `scope=TEXT`: only proxies whose name contains TEXT (ignoring case).
    scope: Option<String>,
}

/// HAProxy's `STAT_SCOPE_TXT_MAXLEN`: the longest scope text kept.
const SCOPE_MAX: usize = 20;

impl PageOptions {
    fn parse(rest: &str) -> PageOptions {
        let has = |option: &str| rest.contains(option);
        PageOptions {
            // HAProxy looks for `;json` after `;csv`: JSON wins.
            csv: has(";csv") && !has(";json"),
            json: has(";json"),
            only_up: has(";up"),
            no_refresh: has(";norefresh"),
            status: rest
                .split_once(";st=")
                .map(|(_, st)| st.chars().take_while(|c| c.is_ascii_alphabetic()).collect()),
            scope: rest.split_once("scope=").and_then(|(_, text)| {
                let text: String = text
                    .chars()
                    .take_while(|c| !matches!(c, ';' | '&' | ' '))
                    .take(SCOPE_MAX)
                    .collect();
                // A character HAProxy refuses in a name clears the scope.
                let valid = text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'));
                (valid && !text.is_empty()).then_some(text)
            }),
        }
    }

    /// Whether the request's `scope=` lets a proxy be shown.
    fn shows(&self, proxy: &str) -> bool {
        self.scope.as_ref().is_none_or(|scope| {
            proxy
                .to_ascii_lowercase()
                .contains(&scope.to_ascii_lowercase())
        })
    }
}

/// The realm of a `stats http-request auth` without one (HAProxy's
/// `STATS_DEFAULT_REALM`).
const DEFAULT_REALM: &str = "HAProxy Statistics";

/// The longest admin form accepted.
const MAX_FORM: usize = 64 * 1024;

impl StatsPage {
    pub fn new(
        proxy: &str,
        settings: &StatsSettings,
        rules: Arc<RuleSet>,
        proxies: Arc<Vec<ProxyView>>,
    ) -> StatsPage {
        StatsPage {
            proxy: proxy.to_owned(),
            uri: settings.uri().to_owned(),
            realm: settings.realm().to_owned(),
            auths: settings
                .auths
                .iter()
                .map(|a| (a.user.clone(), a.password.clone()))
                .collect(),
            refresh: settings.refresh,
            hide_version: settings.hide_version,
            show_legends: settings.show_legends,
            node: settings
                .show_node
                .clone()
                .map(|n| if n.is_empty() { host_name() } else { n }),
            description: settings.show_desc.clone(),
            scope: settings.scope.clone(),
            has_admin: !settings.admin.is_empty(),
            rules,
            proxies,
        }
    }

    /// Whether a request target is for the page (HAProxy matches the prefix).
    pub fn matches(&self, target: &str) -> bool {
        target.starts_with(&self.uri)
    }

    /// Whether `stats admin` gives this request the admin forms.
    pub fn admin_allowed(&self, facts: &dyn RequestFacts) -> bool {
        self.has_admin && self.rules.stats_admin(&self.proxy, facts)
    }

    /// The verdict of the first `stats http-request` rule that matches the
    /// request, if any.
    pub fn access(&self, facts: &dyn RequestFacts) -> Option<StatsVerdict> {
        self.rules.stats_access(&self.proxy, facts)
    }

    /// Answers a request for the page: the page, its CSV or JSON, or an
    /// admin action (a POST from the page's forms); `admin` and `access`
    /// are what [`StatsPage::admin_allowed`] and [`StatsPage::access`] said
    /// of the request. As in HAProxy, `stats auth` is a last rule `auth
    /// unless` the credentials are right, after the `stats http-request`
    /// rules: an `allow` that matches first serves the page without them.
    pub async fn serve(
        &self,
        parts: &Parts,
        admin: bool,
        access: Option<StatsVerdict>,
        body: ProxyBody,
    ) -> Response<ProxyBody> {
        let challenge = |realm: &str| {
            let mut r = crate::message::error_page::CannedResponse::builtin(401).to_response();
            if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")) {
                r.headers_mut().insert(WWW_AUTHENTICATE, v);
            }
            r
        };
        match access {
            Some(StatsVerdict::Allow) => {}
            Some(StatsVerdict::Deny) => {
                return crate::message::error_page::CannedResponse::builtin(403).to_response()
            }
            Some(StatsVerdict::Auth(realm)) => {
                return challenge(realm.as_deref().unwrap_or(DEFAULT_REALM))
            }
            None => {
                if !self.auths.is_empty()
                    && !self.authorized(parts.headers.get(http::header::AUTHORIZATION))
                {
                    return challenge(&self.realm);
                }
            }
        }
        let target = parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/");
        let options = PageOptions::parse(&target[self.uri.len()..]);
        if parts.method == Method::POST {
            let outcome = if !admin {
                "DENY"
            } else {
                match read_form(body).await {
                    Some(form) => admin::apply(&form, &self.visible()),
                    None => "ERRP",
                }
            };
            let mut r = Response::new(ProxyBody::Empty);
            *r.status_mut() = StatusCode::SEE_OTHER;
            let scope = options
                .scope
                .as_ref()
                .map(|s| format!("?scope={s}"))
                .unwrap_or_default();
            if let Ok(v) = HeaderValue::from_str(&format!("{};st={outcome}{scope}", self.uri)) {
                r.headers_mut().insert(LOCATION, v);
            }
            return r;
        }
        let mut visible = self.visible();
        visible.retain(|p| options.shows(&p.name));
        let (body, content_type) = if options.csv {
            (csv(&visible), "text/plain")
        } else if options.json {
            (json::render(&visible), "application/json")
        } else {
            let settings = html::Settings {
                uri: &self.uri,
                refresh: self.refresh.filter(|_| !options.no_refresh),
                hide_version: self.hide_version,
                show_legends: self.show_legends,
                node: self.node.as_deref(),
                description: self.description.as_deref(),
                admin,
                only_up: options.only_up,
                status: options.status.as_deref(),
            };
            (html::render(&settings, &visible), "text/html")
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

    /// The proxies `stats scope` lets the page show.
    fn visible(&self) -> Vec<ProxyView> {
        self.proxies
            .iter()
            .filter(|p| self.scope.is_empty() || self.scope.contains(&p.name))
            .cloned()
            .collect()
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
            fn for_each_header<'s>(&'s self, f: &mut dyn FnMut(&'s str, &'s [u8])) {
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
}

/// The form of an admin POST, at most [`MAX_FORM`] bytes.
async fn read_form(body: ProxyBody) -> Option<Vec<(String, String)>> {
    use http_body_util::BodyExt;
    let limited = http_body_util::Limited::new(body, MAX_FORM);
    let bytes = limited.collect().await.ok()?.to_bytes();
    Some(admin::parse_form(&String::from_utf8_lossy(&bytes)))
}

/// This machine's name, for `stats show-node` without a name.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_options_after_the_uri() {
        assert_eq!(
            PageOptions::parse(";csv;norefresh"),
            PageOptions {
                csv: true,
                no_refresh: true,
                ..Default::default()
            }
        );
        let o = PageOptions::parse(";up;st=DONE");
        assert!(o.only_up && o.status.as_deref() == Some("DONE"));
        assert!(PageOptions::parse(";json").json);
        assert_eq!(PageOptions::parse(""), PageOptions::default());
    }

    #[test]
    fn options_and_scope_anywhere_after_the_uri() {
        let o = PageOptions::parse("?;csv;scope=b1");
        assert!(o.csv);
        assert_eq!(o.scope.as_deref(), Some("b1"));
        assert!(o.shows("b1") && o.shows("xB1y") && !o.shows("b2"));
        assert_eq!(
            PageOptions::parse("?scope=b2&x").scope.as_deref(),
            Some("b2")
        );
        // A character HAProxy refuses clears the scope: everything shows.
        let o = PageOptions::parse(";scope=a/b");
        assert_eq!(o.scope, None);
        assert!(o.shows("anything"));
        assert_eq!(
            PageOptions::parse("?scope=abcdefghijklmnopqrstuvwxyz")
                .scope
                .as_deref(),
            Some("abcdefghijklmnopqrst")
        );
    }
}

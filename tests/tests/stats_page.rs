//! The statistics page beyond the basics: `stats admin` forms changing
//! servers (and refused when the condition does not match), `;json`, the
//! Prometheus exporter, a stats page in a backend section with `stats
//! scope`, and the page's optional parts (node, description, legends).

use switchyard_e2e::client::{client_without_keepalive, get, send};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::runtime_api::command;

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";
const AUTH: (&str, &str) = ("Authorization", "Basic dGVzdDp0ZXN0"); // test:test

struct Setup {
    _gw: Gateway,
    port: u16,
    stats_port: u16,
    _origins: (Origin, Origin),
}

async fn setup(admin_condition: &str) -> Setup {
    let (a, b) = (Origin::start("a").await, Origin::start("b").await);
    let (port, stats_port) = (free_port(), free_port());
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    http-request use-service prometheus-exporter if {{ path /metrics }}\n    use_backend stats_be if {{ path_beg /be-stats }}\n    default_backend web\n\
         backend web\n    server a {} weight 10\n    server b {} weight 10\n\
         backend stats_be\n    stats enable\n    stats uri /be-stats\n    stats scope web\n\
         listen stats\n    bind 127.0.0.1:{stats_port}\n    stats enable\n    stats uri /haproxy-status\n    stats auth test:test\n    stats admin {admin_condition}\n    stats show-legends\n    stats show-node edge-1\n    stats show-desc \"front door\"\n",
        a.addr, b.addr
    );
    let gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    Setup {
        _gw: gw,
        port,
        stats_port,
        _origins: (a, b),
    }
}

impl Setup {
    fn stats(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/haproxy-status{path}", self.stats_port)
    }

    async fn served(&self, n: usize) -> String {
        let c = client_without_keepalive();
        let mut out = String::new();
        for _ in 0..n {
            let r = get(&c, &format!("http://127.0.0.1:{}/", self.port), &[])
                .await
                .unwrap();
            out.push_str(r.body.trim());
        }
        out
    }
}

#[tokio::test]
async fn admin_forms_change_servers_when_the_condition_matches() {
    let s = setup("if { src 127.0.0.1 }").await;
    let c = client_without_keepalive();
    let page = get(&c, &s.stats(""), &[AUTH]).await.unwrap();
    assert_eq!(page.status, 200);
    for expected in [
        "<form method=\"post\"",
        "name=\"s\" value=\"a\"",
        "Set state to MAINT",
        "on edge-1",
        "<p>front door</p>",
        "active UP",
    ] {
        assert!(page.body.contains(expected), "missing {expected:?}");
    }
    let r = send(
        &c,
        "POST",
        &s.stats(""),
        &[AUTH, ("Content-Type", "application/x-www-form-urlencoded")],
        b"b=web&s=a&action=maint",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/haproxy-status;st=DONE"));
    assert_eq!(s.served(3).await, "bbb", "a is in maintenance at once");
    let csv = get(&c, &s.stats(";csv"), &[AUTH]).await.unwrap().body;
    assert!(
        csv.lines()
            .any(|l| l.starts_with("web,a,") && l.contains(",MAINT,")),
        "{csv}"
    );
    let done = get(&c, &s.stats(";st=DONE"), &[AUTH]).await.unwrap();
    assert!(done.body.contains("Action processed successfully."));
    // Back to ready; an unknown server makes it partial.
    let r = send(
        &c,
        "POST",
        &s.stats(""),
        &[AUTH],
        b"b=web&s=a&s=zz&action=ready",
    )
    .await
    .unwrap();
    assert_eq!(r.header("location"), Some("/haproxy-status;st=PART"));
    // a is back in the cycle, after b (HAProxy's order when a server
    // returns, see balance/roundrobin.rs).
    assert_eq!(s.served(2).await, "ba");
}

#[tokio::test]
async fn admin_actions_are_refused_when_the_condition_does_not_match() {
    let s = setup("if { src 192.0.2.0/24 }").await;
    let c = client_without_keepalive();
    let page = get(&c, &s.stats(""), &[AUTH]).await.unwrap();
    assert!(!page.body.contains("<form"), "no forms for this client");
    let r = send(&c, "POST", &s.stats(""), &[AUTH], b"b=web&s=a&action=maint")
        .await
        .unwrap();
    assert_eq!(r.header("location"), Some("/haproxy-status;st=DENY"));
    assert_eq!(s.served(2).await, "ab", "nothing changed");
    // Without the password, nothing at all.
    let r = send(&c, "POST", &s.stats(""), &[], b"b=web&s=a&action=maint")
        .await
        .unwrap();
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn json_prometheus_and_a_backend_page_with_scope() {
    let s = setup("if TRUE").await;
    let c = client_without_keepalive();
    s.served(4).await;
    let json = get(&c, &s.stats(";json"), &[AUTH]).await.unwrap();
    assert_eq!(json.header("content-type"), Some("application/json"));
    let rows: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let server_a = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .any(|f| f["field"]["name"] == "svname" && f["value"]["value"] == "a")
        })
        .expect("a row for server a");
    let lbtot = server_a
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"]["name"] == "lbtot")
        .unwrap();
    assert_eq!(lbtot["value"]["value"], 2);
    assert_eq!(lbtot["objType"], "Server");

    let metrics = get(&c, &format!("http://127.0.0.1:{}/metrics", s.port), &[])
        .await
        .unwrap();
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    for line in [
        "# TYPE haproxy_server_loadbalanced_total counter",
        "haproxy_server_loadbalanced_total{proxy=\"web\",server=\"a\"} 2",
        "haproxy_server_status{proxy=\"web\",server=\"b\",state=\"UP\"} 1",
        "haproxy_backend_active_servers{proxy=\"web\"} 2",
        "haproxy_frontend_http_responses_total{proxy=\"fe\",code=\"2xx\"} 4",
    ] {
        assert!(
            metrics.body.lines().any(|l| l == line),
            "missing {line:?} in\n{}",
            metrics.body
        );
    }

    // A backend section's page, reached through use_backend, shows its scope only.
    let page = get(&c, &format!("http://127.0.0.1:{}/be-stats", s.port), &[])
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains(">web</th>"));
    assert!(!page.body.contains(">fe</th>"), "outside the scope");
}

/// The reg-test `webstats-scope-and-post-change.vtc`'s exchange, compared
/// with what HAProxy 2.6.12 answered to it
/// (`fixtures/haproxy/webstats-scope-and-post.txt`): `scope=` in the
/// query limits the CSV, proxy ids count the `stats socket`'s GLOBAL
/// proxy as 1, the form names its backend as `#ID`, and `show servers
/// state` gives HAProxy's numbers after the changes.
#[tokio::test]
async fn scope_and_admin_posts_by_backend_id_as_haproxy_answers() {
    let golden = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/haproxy/webstats-scope-and-post.txt"
    ))
    .unwrap();
    let origin = Origin::start("s1").await;
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let server = origin.addr;
    let config = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe1\n    bind 127.0.0.1:{port}\n    stats enable\n    stats refresh 5s\n    stats uri /\n    stats admin if TRUE\n\
         backend b1\n    server srv1 {server}\n    server srv2 {server}\n    server srv3 {server}\n\
         backend b2\n    server srv1 {server}\n    server srv2 {server}\n",
        sock.display()
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let c = client_without_keepalive();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");

    // Only b1, numbered 3.
    let csv = get(&c, &url("/?;csv;scope=b1"), &[]).await.unwrap().body;
    let ids: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{},{}", f[0], f[1], f[27], f[28])
        })
        .collect();
    let expected: Vec<String> = section(&golden, "# GET /?;csv;scope=b1")
        .skip(1)
        .map(|l| l.trim_start_matches("#   ").to_owned())
        .collect();
    assert_eq!(ids, expected, "{csv}");

    // The three POSTs, with HAProxy's locations.
    for line in golden.lines().filter(|l| l.starts_with("# POST ")) {
        let words: Vec<&str> = line.split(' ').collect();
        let (path, body, location) = (words[2], words[4], words[7]);
        let r = send(&c, "POST", &url(path), &[], body.as_bytes())
            .await
            .unwrap();
        assert_eq!(r.status, 303);
        assert_eq!(r.header("location"), Some(location), "{line}");
    }

    let stat = command(&sock, "show stat");
    let statuses: Vec<String> = stat
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{},{},{}", f[0], f[1], f[17], f[27], f[28])
        })
        .collect();
    let expected: Vec<String> = section(&golden, "# show stat")
        .skip(1)
        .map(|l| l.trim_start_matches("#   ").to_owned())
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(statuses, expected, "{stat}");

    // `show servers state`, but for the seconds since the last change and
    // the port.
    let masked = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let mut f: Vec<&str> = l.split(' ').collect();
                if f.len() == 25 && !l.starts_with('#') {
                    f[9] = "T";
                    f[18] = "P";
                }
                f.join(" ")
            })
            .collect()
    };
    let state = command(&sock, "show servers state");
    let expected = golden.split("# show servers state:\n").nth(1).unwrap();
    assert_eq!(masked(&state), masked(expected), "{state}");
}

/// The lines of `golden` from the one starting with `title` (excluded) to
/// the next line not indented as a capture.
fn section<'a>(golden: &'a str, title: &'a str) -> impl Iterator<Item = &'a str> {
    golden
        .lines()
        .skip_while(move |l| !l.starts_with(title))
        .skip(1)
        .take_while(|l| l.starts_with("#   "))
}

/// `stats http-request`: the first rule that matches decides; `allow`
/// serves the page without `stats auth`'s credentials, `deny` answers 403,
/// `auth [realm R]` asks for credentials (HAProxy's realm `HAProxy
/// Statistics` when none is written); when none matches, `stats auth`
/// applies as a last rule, as in HAProxy.
#[tokio::test]
async fn stats_http_request_rules_decide_who_gets_the_page() {
    let port = free_port();
    let config = format!(
        "{DEFAULTS}userlist admins\n    user ops insecure-password s3cret\n\
         listen stats\n    bind 127.0.0.1:{port}\n    stats enable\n    stats uri /st\n    stats auth test:test\n\
         \x20   acl open hdr(x-open) yes\n    acl ops http_auth(admins)\n\
         \x20   stats http-request deny if {{ hdr(x-deny) yes }}\n\
         \x20   stats http-request allow if open\n\
         \x20   stats http-request auth realm Operators if {{ hdr(x-ops) yes }} !ops\n\
         \x20   stats http-request allow if ops\n\
         \x20   stats http-request auth if {{ hdr(x-plain) yes }}\n"
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let url = format!("http://127.0.0.1:{port}/st");
    let c = client_without_keepalive();
    let ops = ("Authorization", "Basic b3BzOnMzY3JldA=="); // ops:s3cret
    let status = |headers: Vec<(&'static str, &'static str)>| {
        let (c, url) = (c.clone(), url.clone());
        async move {
            let r = get(&c, &url, &headers).await.unwrap();
            (r.status, r.header("www-authenticate").map(str::to_owned))
        }
    };
    // No rule matches: `stats auth` asks, and takes test:test.
    assert_eq!(
        status(vec![]).await,
        (401, Some("Basic realm=\"HAProxy Statistics\"".into()))
    );
    assert_eq!(status(vec![AUTH]).await.0, 200);
    // `allow` first: no credentials needed.
    assert_eq!(status(vec![("x-open", "yes")]).await.0, 200);
    // `deny` before it wins, even with the right credentials.
    assert_eq!(
        status(vec![("x-deny", "yes"), ("x-open", "yes"), AUTH])
            .await
            .0,
        403
    );
    // `auth realm R` asks in that realm; the userlist's user passes.
    assert_eq!(
        status(vec![("x-ops", "yes"), AUTH]).await,
        (401, Some("Basic realm=\"Operators\"".into()))
    );
    assert_eq!(status(vec![("x-ops", "yes"), ops]).await.0, 200);
    // `auth` without a realm: HAProxy's stats realm.
    assert_eq!(
        status(vec![("x-plain", "yes"), AUTH]).await,
        (401, Some("Basic realm=\"HAProxy Statistics\"".into()))
    );
}

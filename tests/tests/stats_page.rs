//! The statistics page beyond the basics: `stats admin` forms changing
//! servers (and refused when the condition does not match), `;json`, the
//! Prometheus exporter, a stats page in a backend section with `stats
//! scope`, and the page's optional parts (node, description, legends).

use switchyard_e2e::client::{client_without_keepalive, get, send};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;

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
    assert_eq!(s.served(2).await, "ab");
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

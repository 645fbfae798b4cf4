//! The config model: inheritance, listen sections, references, diagnostics.

mod common;

use std::time::Duration;

use common::{errors, load_text, warnings};
use switchyard_grammar::ast::proxy::{BalanceAlgorithm, CookieMode, Mode, ProxyKind, Switch};

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n";

#[test]
fn proxies_inherit_the_last_defaults_section() {
    let text = format!(
        "{DEFAULTS}    balance leastconn\n    option forwardfor\n\nfrontend fe\n    bind :8080\n    default_backend be\n\n\
         defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n\nbackend be\n    mode http\n    server s1 127.0.0.1:9000\n"
    );
    let loaded = load_text(&text);
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let fe = loaded.config.proxy("fe").unwrap();
    assert_eq!(fe.mode(), Mode::Http);
    assert!(fe.forwardfor.is_some());
    assert_eq!(
        fe.timeouts.client.as_ref().unwrap().value,
        Duration::from_secs(30)
    );
    let be = loaded.config.backend("be").unwrap();
    assert_eq!(
        be.timeouts.server.as_ref().unwrap().value,
        Duration::from_secs(1),
        "second defaults applies"
    );
    assert!(
        be.balance.is_none(),
        "the second defaults section resets balance"
    );
    assert!(be.forwardfor.is_none());
}

#[test]
fn named_defaults_with_from() {
    let text = String::from(
        "defaults base\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n    balance source\n\n\
         defaults other\n    mode tcp\n\nbackend be from base\n    server s1 127.0.0.1:9000\n\nbackend be2\n    server s1 127.0.0.1:9000\n"
    );
    let loaded = load_text(&text);
    let be = loaded.config.backend("be").unwrap();
    assert_eq!(be.mode(), Mode::Http);
    assert_eq!(be.balance.as_ref().unwrap().value, BalanceAlgorithm::Source);
    assert_eq!(loaded.config.backend("be2").unwrap().mode(), Mode::Tcp);
    let bad = load_text("defaults a\n    mode http\nbackend b from nope\n");
    assert!(errors(&bad)[0].contains("no defaults section named 'nope'"));
}

#[test]
fn listen_is_frontend_and_backend() {
    let text = format!("{DEFAULTS}listen web\n    bind 127.0.0.1:8080\n    cookie SRV insert indirect nocache\n    server a 127.0.0.1:9001 cookie a check inter 3s fall 3 rise 5\n");
    let loaded = load_text(&text);
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let web = loaded.config.proxy("web").unwrap();
    assert_eq!(web.kind, ProxyKind::Listen);
    assert!(web.kind.is_frontend() && web.kind.is_backend());
    let cookie = web.cookie.as_ref().unwrap();
    assert_eq!(
        (cookie.mode, cookie.indirect, cookie.nocache),
        (CookieMode::Insert, true, true)
    );
    assert_eq!(web.servers[0].options.cookie.as_deref(), Some("a"));
}

#[test]
fn references_are_resolved_with_suggestions() {
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind :80\n    acl is_api path_beg /api\n    use_backend apii if is_api\n    use_backend api if is_apj\n    default_backend fe\n\nbackend api\n    server s 127.0.0.1:1\n"
    );
    let loaded = load_text(&text);
    let errs = errors(&loaded);
    assert!(
        errs.iter()
            .any(|e| e.starts_with("9:17 no backend named 'apii'")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("10:24 no ACL named 'is_apj'")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("11:21 no backend named 'fe'")),
        "{errs:?}"
    );
    let apii = loaded
        .diagnostics
        .errors()
        .find(|d| d.message.contains("apii"))
        .unwrap();
    assert_eq!(apii.help.as_deref(), Some("did you mean 'api'?"));
}

#[test]
fn names_must_be_unique_but_frontend_and_backend_may_share() {
    let text = format!("{DEFAULTS}frontend app\n    bind :80\n    default_backend app\nbackend app\n    server s 127.0.0.1:1\nbackend app\n    server s 127.0.0.1:1\n    server s 127.0.0.1:2\n");
    let errs = errors(&load_text(&text));
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].contains("duplicate proxy name 'app'"));
    assert!(errs[1].contains("duplicate server name 's'"));
}

#[test]
fn every_error_of_a_file_is_reported() {
    let loaded = load_text("global\n    nbthread x\n    maxconnn 10\nfrontend f\n    mode forwardfor\n    bind 127.0.0.1\n    timeout client 10x\n");
    let errs = errors(&loaded);
    assert_eq!(errs.len(), 5, "{errs:?}");
    let typo = loaded
        .diagnostics
        .errors()
        .find(|d| d.message.contains("maxconnn"))
        .unwrap();
    assert_eq!(typo.help.as_deref(), Some("did you mean 'maxconn'?"));
}

#[test]
fn keywords_haproxy_has_but_switchyard_lacks_are_refused_by_name() {
    let text = format!("{DEFAULTS}frontend f\n    bind :80\n    stick-table type ip size 1k\n    tcp-request session accept\n    option independent-streams\n");
    let errs = errors(&load_text(&text));
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(
        errs.iter()
            .all(|e| e.contains("not supported by switchyard yet")),
        "{errs:?}"
    );
    let peers = errors(&load_text("peers mypeers\n    peer a 127.0.0.1:1024\n"));
    assert_eq!(
        peers,
        ["1:1 'peers' sections are not supported by switchyard yet"]
    );
}

#[test]
fn keywords_in_the_wrong_section() {
    let text = format!("{DEFAULTS}backend b\n    bind :80\n    server s 127.0.0.1:1\nfrontend f\n    bind :81\n    server s 127.0.0.1:1\n    default_backend b\n");
    let loaded = load_text(&text);
    // As HAProxy: a bind in a backend is ignored with a warning, a server in
    // a frontend is an error.
    assert_eq!(
        errors(&loaded),
        ["11:5 'server' is not allowed in 'frontend' sections"]
    );
    let w = warnings(&loaded);
    assert!(
        w.contains(&"'bind' ignored because backend 'b' has no frontend capability".to_owned()),
        "{w:?}"
    );
    let defaults = errors(&load_text("defaults\n    bind :80\n"));
    assert_eq!(
        defaults,
        ["2:5 'bind' is not allowed in 'defaults' sections"]
    );
}

#[test]
fn tcp_mode_warns_about_http_only_features() {
    let loaded = load_text("defaults\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind :80\n    option forwardfor\n    server s 127.0.0.1:1\n");
    assert!(errors(&loaded).is_empty());
    assert!(
        warnings(&loaded)
            .iter()
            .any(|w| w.contains("'option forwardfor' ignored")),
        "{:?}",
        warnings(&loaded)
    );
}

#[test]
fn missing_timeouts_warn_as_haproxy_does() {
    let loaded = load_text("frontend f\n    mode http\n    bind :80\n    default_backend b\nbackend b\n    mode http\n    server s 127.0.0.1:1\n");
    let w = warnings(&loaded);
    assert_eq!(
        w,
        [
            "missing timeouts for frontend 'f'",
            "missing timeouts for backend 'b'"
        ]
    );
}

#[test]
fn errorfiles_are_read_through_file_access() {
    let mut files = common::MemFiles::default();
    files.0.insert(
        "503.http".into(),
        b"HTTP/1.0 503 Service Unavailable\r\n\r\nbusy\n".to_vec(),
    );
    let text = format!("{DEFAULTS}    errorfile 503 503.http\n    errorfile 404 missing.http\nbackend b\n    server s 127.0.0.1:1\n");
    let loaded = switchyard_grammar::load(
        &[("t.cfg".into(), text)],
        switchyard_grammar::Environment::new(),
        &files,
    );
    let errs = errors(&loaded);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("7:19 cannot open file 'missing.http'"),
        "{errs:?}"
    );
    assert!(loaded.config.files.contains_key("503.http"));
}

#[test]
fn diagnostics_render_with_location_caret_and_help() {
    let loaded = load_text("listen webserver_80\n    bind 127.0.0.1:8080\n    mode forwardfor\n");
    let out = loaded.diagnostics.render(&loaded.sources);
    assert!(
        out.contains("test.cfg:3:10: error: unknown proxy mode 'forwardfor'"),
        "{out}"
    );
    assert!(
        out.contains("3 |     mode forwardfor\n  |          ^^^^^^^^^^"),
        "{out}"
    );
    assert!(out.contains("option forwardfor"), "{out}");
}

#[test]
fn environment_keywords_apply_in_order() {
    let text = "global\n    setenv PORT 8081\n    presetenv PORT 9999\n    setenv HOST 127.0.0.1\n    unsetenv HOST\n\
                defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n\
                frontend f\n    bind \"127.0.0.1:${PORT}\"\n    bind \"${HOST-127.0.0.2}:${PORT}\"\n    default_backend b\nbackend b\n    server s 127.0.0.1:1\n";
    let loaded = load_text(text);
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let f = loaded.config.proxy("f").unwrap();
    assert_eq!(f.binds[0].addresses[0].word.text, "127.0.0.1:8081");
    assert_eq!(f.binds[1].addresses[0].word.text, "127.0.0.2:8081");
}

#[test]
fn rules_after_use_backend_warn_as_haproxy_does() {
    let text = format!("{DEFAULTS}frontend f\n    bind :80\n    use_backend b if TRUE\n    http-request deny if FALSE\n    redirect location /x if FALSE\nbackend b\n    server s 127.0.0.1:1\n");
    let w = warnings(&load_text(&text));
    assert!(w.contains(&"a 'http-request' rule placed after a 'use_backend' rule will still be processed before".to_owned()), "{w:?}");
    assert!(
        w.contains(
            &"a 'redirect' rule placed after a 'use_backend' rule will still be processed before"
                .to_owned()
        ),
        "{w:?}"
    );
}

#[test]
fn tcp_request_rules_get_haproxys_placement_and_fetch_warnings() {
    let text = "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\
        frontend f\n    bind :443\n    acl host req.ssl_sni -i a.example\n    tcp-request content accept if { req.ssl_hello_type 1 }\n    \
        tcp-request connection reject if host\n    tcp-request connection reject if { src 192.0.2.1 }\n    default_backend b\n\
        backend b\n    balance hdr(host)\n    server s 127.0.0.1:443\n";
    let loaded = load_text(text);
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let warnings: Vec<String> = loaded
        .diagnostics
        .warnings()
        .map(|d| {
            let span = d.span.expect("located");
            format!("{}:{} {}", span.line, span.column, d.message)
        })
        .collect();
    assert_eq!(
        warnings,
        [
            "10:5 a 'tcp-request' rule placed after a 'tcp-request content' rule will still be processed before",
            "11:5 a 'tcp-request' rule placed after a 'tcp-request content' rule will still be processed before",
            "10:38 acl 'host' will never match in 'tcp-request connection' because it uses keyword 'req.ssl_sni' which is incompatible with 'frontend tcp-request connection rule'",
            "14:5 Layer 7 hash not possible for backend 'b' (needs 'mode http'). Falling back to round robin.",
        ],
        "{warnings:#?}"
    );
}

#[test]
fn tcp_smart_accept_is_automatic_in_http_and_on_ssl_binds_unless_written() {
    let mut files = common::MemFiles::default();
    files.0.insert("site.pem".into(), b"certificate".to_vec());
    let text = "defaults\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\
                frontend http_auto\n    mode http\n    bind :80\n    default_backend web\n\
                frontend http_off\n    mode http\n    no option tcp-smart-accept\n    bind :81\n    default_backend web\n\
                frontend tcp_auto\n    bind :82\n    bind :83 ssl crt site.pem\n    default_backend b\n\
                frontend tcp_on\n    option tcp-smart-accept\n    bind :84\n    default_backend b\n\
                backend web\n    mode http\n    server s 127.0.0.1:1\n\
                backend b\n    option tcp-smart-connect\n    server s 127.0.0.1:1\n";
    let loaded = switchyard_grammar::load(
        &[("t.cfg".into(), text.into())],
        switchyard_grammar::Environment::new(),
        &files,
    );
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let smart = |name: &str, bind: usize| {
        let proxy = loaded.config.proxy(name).unwrap();
        proxy.tcp_smart_accept(&proxy.binds[bind])
    };
    assert!(smart("http_auto", 0));
    assert!(!smart("http_off", 0));
    assert!(
        !smart("tcp_auto", 0),
        "plain TCP: the server may speak first"
    );
    assert!(smart("tcp_auto", 1), "ssl binds: the client speaks first");
    assert!(smart("tcp_on", 0));
    assert!(loaded
        .config
        .backend("b")
        .unwrap()
        .option(Switch::TcpSmartConnect));
    assert!(!loaded
        .config
        .backend("web")
        .unwrap()
        .option(Switch::TcpSmartConnect));
}

#[test]
fn tcp_smart_options_on_the_wrong_side_are_ignored_with_a_warning() {
    let text = "defaults\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\
                frontend f\n    option tcp-smart-connect\n    bind :80\n    default_backend b\n\
                backend b\n    option tcp-smart-accept\n    server s 127.0.0.1:1\n";
    let loaded = load_text(text);
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    assert_eq!(
        warnings(&loaded),
        [
            "'option tcp-smart-connect' ignored because frontend 'f' has no backend capability",
            "'option tcp-smart-accept' ignored because backend 'b' has no frontend capability"
        ]
    );
}

#[test]
fn http_connection_modes_replace_each_other_within_a_section() {
    let text = format!(
        "{DEFAULTS}    option httpclose\n\
         frontend inherits\n    bind :80\n    default_backend b\n\
         frontend replaces\n    bind :81\n    option http-server-close\n    default_backend b\n\
         frontend back_to_keep_alive\n    bind :82\n    option http-keep-alive\n    default_backend b\n\
         frontend negated\n    bind :83\n    no option httpclose\n    default_backend b\n\
         backend b\n    server s 127.0.0.1:1\n"
    );
    let loaded = load_text(&text);
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let modes = |name: &str| {
        let p = loaded.config.proxy(name).unwrap();
        (
            p.option(Switch::HttpClose),
            p.option(Switch::HttpServerClose),
            p.option(Switch::HttpKeepAlive),
        )
    };
    assert_eq!(modes("inherits"), (true, false, false));
    assert_eq!(modes("replaces"), (false, true, false));
    assert_eq!(modes("back_to_keep_alive"), (false, false, true));
    assert_eq!(modes("negated"), (false, false, false));
}

#[test]
fn tcp_keepalive_timings_take_seconds_by_default_and_are_inherited() {
    let text = format!(
        "{DEFAULTS}    clitcpka-idle 30\n    srvtcpka-cnt 4\n\
         frontend fe\n    bind :80\n    clitcpka-intvl 500ms\n    default_backend b\n\
         backend b\n    srvtcpka-idle 2m\n    server s 127.0.0.1:1\n"
    );
    let loaded = load_text(&text);
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let fe = loaded.config.proxy("fe").unwrap();
    assert_eq!(fe.client_tcpka.idle, Some(Duration::from_secs(30)));
    assert_eq!(fe.client_tcpka.interval, Some(Duration::from_millis(500)));
    let b = loaded.config.backend("b").unwrap();
    assert_eq!(b.server_tcpka.idle, Some(Duration::from_secs(120)));
    assert_eq!(b.server_tcpka.count, Some(4));
    let bad = load_text(&format!(
        "{DEFAULTS}frontend fe\n    bind :80\n    clitcpka-idle soon\n"
    ));
    assert!(
        errors(&bad)[0].contains("invalid time value 'soon'"),
        "{:?}",
        errors(&bad)
    );
}

#[test]
fn buffer_tuning_sets_the_head_and_rewrite_limits() {
    let loaded = load_text("global\n    tune.bufsize 2040\n    tune.maxrewrite 128\n");
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let buffers = loaded.config.global.buffers;
    // Rounded up to a multiple of 16, as HAProxy does on 64-bit machines.
    assert_eq!(buffers.bufsize, 2048);
    assert_eq!(buffers.max_head(), 2048 - 128);
    assert_eq!(buffers.max_rewritten(), 2048);
    // A reserve larger than half the buffer is brought back to half.
    let half = load_text("global\n    tune.bufsize 4096\n    tune.maxrewrite 3000\n");
    assert_eq!(half.config.global.buffers.max_head(), 2048);
    // HAProxy's defaults: 16384 less 1024.
    assert_eq!(load_text("").config.global.buffers.max_head(), 15_360);
    assert_eq!(
        errors(&load_text("global\n    tune.bufsize 100000\n")),
        ["2:18 tune.bufsize '100000' is out of range"]
    );
    assert_eq!(
        errors(&load_text("global\n    tune.bufsize 512\n")),
        ["2:5 'tune.bufsize 512' is too small to hold a request"]
    );
}

#[test]
fn tuning_that_cannot_apply_here_is_accepted_with_the_reason() {
    let on = load_text("global\n    tune.idle-pool.shared on\n");
    assert!(errors(&on).is_empty() && warnings(&on).is_empty());
    let off = load_text("global\n    tune.idle-pool.shared off\n");
    assert!(errors(&off).is_empty());
    assert!(
        warnings(&off)[0].contains("one pool of idle server connections shared by all threads"),
        "{:?}",
        warnings(&off)
    );
    assert_eq!(
        errors(&load_text("global\n    tune.idle-pool.shared maybe\n")),
        ["2:27 expected 'on' or 'off', not 'maybe'"]
    );
    let dh = load_text("global\n    tune.ssl.default-dh-param 2048\n");
    assert!(errors(&dh).is_empty());
    assert!(
        warnings(&dh)[0].contains("no finite-field Diffie-Hellman (DHE)"),
        "{:?}",
        warnings(&dh)
    );
    assert_eq!(
        errors(&load_text("global\n    tune.ssl.default-dh-param 512\n")),
        ["2:5 'tune.ssl.default-dh-param 512' is below the minimum"]
    );
}

#[test]
fn rules_of_a_named_defaults_section_come_first_in_each_user() {
    let text = "defaults common\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\
                defaults def_front from common\n    http-request set-header x-from defaults\n    tcp-request inspect-delay 5s\n\
                frontend fe from def_front\n    bind :80\n    http-request set-header x-own fe\n    default_backend be\n\
                backend be from common\n    server s 127.0.0.1:1\n";
    let loaded = load_text(text);
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let fe = loaded.config.frontends().find(|p| p.name == "fe").unwrap();
    let names: Vec<String> = fe
        .http_request
        .iter()
        .map(|r| match &r.action {
            switchyard_grammar::ast::http_rule::HttpAction::SetHeader { name, .. } => name.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["x-from", "x-own"]);
    assert!(fe.tcp_inspect_delay.is_some());
    assert!(loaded.config.backend("be").unwrap().http_request.is_empty());
}

#[test]
fn defaults_sections_with_rules_serve_only_where_haproxy_allows() {
    const RULES: &str =
        "defaults invalid\n    http-request set-header x 1\n    tcp-request connection accept\n";
    let bad = |rest: &str| errors(&load_text(&format!("{RULES}{rest}")));
    assert_eq!(
        bad("defaults from invalid\n    mode tcp\n"),
        ["4:1 a defaults section cannot inherit from defaults section 'invalid', which has TCP/HTTP rules"]
    );
    assert_eq!(
        bad("listen li from invalid\n    bind :80\n    server s 127.0.0.1:1\n"),
        ["4:8 listen 'li' cannot use defaults section 'invalid', which has TCP/HTTP rules"]
    );
    assert_eq!(
        bad("backend be from invalid\n    server s 127.0.0.1:1\n"),
        ["4:9 backend 'be' cannot use defaults section 'invalid', which has 'tcp-request connection' rules"]
    );
    let both = errors(&load_text(
        "defaults invalid\n    http-request set-header x 1\nfrontend fe from invalid\n    bind :80\n    default_backend be\nbackend be from invalid\n    server s 127.0.0.1:1\n",
    ));
    assert_eq!(
        both,
        ["6:9 backend 'be' cannot use defaults section 'invalid', which has TCP/HTTP rules and is already used by frontend 'fe'"]
    );
    // Anonymous defaults sections still refuse rules, and no defaults
    // section takes an ACL.
    assert_eq!(
        errors(&load_text("defaults\n    http-request set-header x 1\n")),
        ["2:5 'http-request' not allowed in anonymous 'defaults' section"]
    );
    assert_eq!(
        errors(&load_text("defaults d\n    acl a path /\n")),
        ["2:5 'acl' not allowed in 'defaults' section"]
    );
}

/// HAProxy takes the defaults' health-check request and rules as a whole
/// or not at all (checks/http-check-send.vtc): a section's own `option
/// httpchk` drops the inherited `http-check send`, and its own
/// `http-check send` drops the inherited request line.
#[test]
fn http_check_rules_are_inherited_as_a_whole() {
    let text = format!(
        "{DEFAULTS}    option httpchk GET /status HTTP/1.1\\r\\nHdr:\\ must-be-removed\n    http-check send hdr Host my-www-host body test\n\
         backend own_option\n    option httpchk\n    server s 127.0.0.1:1 check\n\
         backend inherits\n    server s 127.0.0.1:1 check\n\
         backend own_send\n    http-check send hdr Host other-www-host\n    server s 127.0.0.1:1 check\n"
    );
    let loaded = load_text(&text);
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let request = |name: &str| {
        let be = loaded.config.backend(name).unwrap();
        let request = be.httpchk.clone().unwrap();
        let request = match be.first_http_check_send() {
            Some(send) => request.with(send),
            None => request,
        };
        (
            request.method,
            request.uri,
            request.version,
            request.headers,
        )
    };
    let host = |h: &str| vec![("Host".to_owned(), h.to_owned())];
    assert_eq!(
        request("own_option"),
        ("OPTIONS".into(), "/".into(), "HTTP/1.0".into(), vec![])
    );
    assert_eq!(
        request("inherits"),
        (
            "GET".into(),
            "/status".into(),
            "HTTP/1.1".into(),
            host("my-www-host")
        ),
        "the header smuggled after the version is dropped with http-check send"
    );
    assert_eq!(
        request("own_send"),
        (
            "OPTIONS".into(),
            "/".into(),
            "HTTP/1.0".into(),
            host("other-www-host")
        )
    );
}

#[test]
fn crt_base_and_ca_base_prefix_relative_tls_files() {
    let mut files = common::MemFiles::default();
    for f in [
        "/certs/site.pem",
        "/certs/list.txt",
        "/cas/ca.pem",
        "/abs/other.pem",
        "/cas/srv-ca.pem",
        "/cas/dflt-ca.pem",
    ] {
        files.0.insert(f.into(), b"x".to_vec());
    }
    let text = "global\n    crt-base /certs\n    ca-base /cas\n\
                defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n    default-server ca-file dflt-ca.pem\n\
                frontend fe\n    bind :443 ssl crt site.pem crt /abs/other.pem crt-list list.txt ca-file ca.pem verify optional\n    default_backend be\n\
                backend be\n    server s 127.0.0.1:443 ssl verify required ca-file srv-ca.pem\n";
    let loaded = switchyard_grammar::load(
        &[("t.cfg".into(), text.into())],
        switchyard_grammar::Environment::new(),
        &files,
    );
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let fe = loaded.config.frontends().find(|p| p.name == "fe").unwrap();
    let bind = &fe.binds[0].options;
    let texts =
        |ws: &[switchyard_grammar::Word]| ws.iter().map(|w| w.text.clone()).collect::<Vec<_>>();
    assert_eq!(
        texts(&bind.certificates),
        ["/certs/site.pem", "/abs/other.pem"]
    );
    assert_eq!(texts(&bind.crt_list), ["/certs/list.txt"]);
    assert_eq!(bind.ca_file.as_ref().unwrap().text, "/cas/ca.pem");
    assert_eq!(bind.crt_base.as_deref(), Some("/certs"));
    let be = loaded.config.backend("be").unwrap();
    assert_eq!(
        be.servers[0].options.ca_file.as_ref().unwrap().text,
        "/cas/srv-ca.pem"
    );
    assert_eq!(
        be.default_server.ca_file.as_ref().unwrap().text,
        "/cas/dflt-ca.pem"
    );
}

/// `text` loaded with each of `names` an errorfile; no error expected.
fn load_with_errorfiles(names: &[&str], text: String) -> switchyard_grammar::LoadedConfig {
    let mut files = common::MemFiles::default();
    for f in names {
        files
            .0
            .insert((*f).into(), b"HTTP/1.0 200 OK\r\n\r\n".to_vec());
    }
    let loaded = switchyard_grammar::load(
        &[("t.cfg".into(), text)],
        switchyard_grammar::Environment::new(),
        &files,
    );
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    loaded
}

/// A proxy's `errorfile` entries: (code, file).
fn errorfile_entries(proxy: &switchyard_grammar::ast::proxy::Proxy) -> Vec<(u16, &str)> {
    proxy
        .errorfiles
        .iter()
        .map(|e| (e.status, e.path.text.as_str()))
        .collect()
}

#[test]
fn http_errors_sections_are_imported_in_place() {
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind :80\n    errorfile 500 own-500\n    errorfiles e1 500\n    errorfiles e3\n    errorfile 400 own-400\n    \
         http-request deny deny_status 400 errorfiles e1 if {{ path /a }}\n    http-request deny deny_status 404 errorfiles e1 if {{ path /b }}\n    \
         http-request return status 400 default-errorfiles if {{ path /c }}\n    default_backend be\n\
         backend be\n    server s 127.0.0.1:1\n\
         http-errors e1\n    errorfile 400 e1-400\n    errorfile 500 e1-500\n\
         http-errors e3\n    errorfile 400 e3-400\n"
    );
    let loaded = load_with_errorfiles(&["e1-400", "e1-500", "own-500", "own-400", "e3-400"], text);
    let fe = loaded.config.frontends().find(|p| p.name == "fe").unwrap();
    // A later line for a code replaces what came before for it.
    assert_eq!(errorfile_entries(fe), [(500, "e1-500"), (400, "own-400")]);
    use switchyard_grammar::ast::http_rule::{HttpAction, ReturnBody};
    let bodies: Vec<&ReturnBody> = fe
        .http_request
        .iter()
        .map(|r| match &r.action {
            HttpAction::Deny(s) | HttpAction::Return(s) => &s.body,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(matches!(bodies[0], ReturnBody::Errorfile(w) if w.text == "e1-400"));
    // No 404 in e1: the proxy's page.
    assert!(matches!(bodies[1], ReturnBody::DefaultErrorfiles));
    assert!(matches!(bodies[2], ReturnBody::DefaultErrorfiles));
    let unknown = errors(&load_text(&format!(
        "{DEFAULTS}frontend fe\n    bind :80\n    errorfiles nope\n    default_backend be\nbackend be\n    server s 127.0.0.1:1\n"
    )));
    assert_eq!(unknown.len(), 1, "{unknown:?}");
    assert!(
        unknown[0].ends_with("no http-errors section named 'nope'"),
        "{unknown:?}"
    );
}

#[test]
fn http_error_lines_replace_what_came_before_for_their_code() {
    let text = "http-errors e1\n    errorfile 403 e1-403\n\
         defaults\n    mode http\n    errorfile 404 d-404\n    http-error status 503 content-type text/plain string busy\n\
         frontend fe\n    bind :80\n    http-error status 404 default-errorfiles\n    http-error status 403 errorfiles e1\n\
         \x20   http-error status 500 content-type text/plain string first\n    http-error status 500 errorfile own-500\n\
         \x20   http-error status 400\n    default_backend be\n\
         backend be\n    server s 127.0.0.1:1\n";
    let loaded = load_with_errorfiles(&["d-404", "e1-403", "own-500"], text.into());
    let fe = loaded.config.frontends().find(|p| p.name == "fe").unwrap();
    // 404 forgotten, 403 imported, 500 the file written last.
    assert_eq!(errorfile_entries(fe), [(403, "e1-403"), (500, "own-500")]);
    // The defaults' 503 is inherited; an empty 400 is a message.
    let messages: Vec<u16> = fe.http_errors.iter().map(|h| h.spec.status).collect();
    assert_eq!(messages, [503, 400]);
    let bad = errors(&load_text(&format!(
        "{DEFAULTS}frontend fe\n    bind :80\n    http-error 503\n    http-error status 302\n    \
         http-error status 503 string x\n    default_backend be\nbackend be\n    server s 127.0.0.1:1\n"
    )));
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert!(bad[0].contains("expects 'status CODE' first"), "{bad:?}");
    assert!(bad[1].contains("invalid status code '302'"), "{bad:?}");
    assert!(bad[2].contains("needs 'content-type'"), "{bad:?}");
}

#[test]
fn dispatch_is_the_one_server_without_balance_and_ignored_with_it() {
    let alone = load_text(&format!(
        "{DEFAULTS}listen li\n    bind :80\n    dispatch 127.0.0.1:8080\n"
    ));
    assert!(errors(&alone).is_empty(), "{:?}", errors(&alone));
    let li = alone.config.backend("li").unwrap();
    assert_eq!(li.servers.len(), 1);
    assert_eq!(li.servers[0].name.text, "dispatch");
    assert_eq!(li.servers[0].address.word.text, "127.0.0.1:8080");
    let with_servers = load_text(&format!(
        "{DEFAULTS}backend be\n    dispatch 127.0.0.1:8080\n    server s 127.0.0.1:1\n"
    ));
    assert_eq!(
        with_servers.config.backend("be").unwrap().servers[0]
            .name
            .text,
        "dispatch"
    );
    assert!(
        warnings(&with_servers)[0].contains("are not used"),
        "{:?}",
        warnings(&with_servers)
    );
    let balanced = load_text(&format!(
        "{DEFAULTS}backend be\n    balance roundrobin\n    dispatch 127.0.0.1:8080\n    server s 127.0.0.1:1\n"
    ));
    assert_eq!(
        balanced.config.backend("be").unwrap().servers[0].name.text,
        "s"
    );
    assert_eq!(
        warnings(&balanced),
        ["dispatch address of backend 'be' will be ignored in balance mode"]
    );
    assert_eq!(
        errors(&load_text(&format!(
            "{DEFAULTS}frontend fe\n    bind :80\n    dispatch 127.0.0.1:8080\n"
        )))
        .len()
            + warnings(&load_text(&format!(
                "{DEFAULTS}frontend fe\n    bind :80\n    dispatch 127.0.0.1:8080\n"
            )))
            .len(),
        1,
        "a frontend has no servers: refused or ignored with the reason"
    );
}

#[test]
fn http_reuse_takes_haproxys_four_modes_and_is_inherited() {
    use switchyard_grammar::ast::proxy::HttpReuse;
    let text = format!(
        "{DEFAULTS}    http-reuse always\n\
         backend inherits\n    server s 127.0.0.1:1\n\
         backend own\n    http-reuse never\n    server s 127.0.0.1:1\n"
    );
    let loaded = load_text(&text);
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let reuse = |name: &str| {
        loaded
            .config
            .backend(name)
            .unwrap()
            .http_reuse
            .as_ref()
            .map(|r| r.value)
    };
    assert_eq!(reuse("inherits"), Some(HttpReuse::Always));
    assert_eq!(reuse("own"), Some(HttpReuse::Never));
    let bad = load_text(&format!("{DEFAULTS}backend b\n    http-reuse sometimes\n"));
    assert!(
        errors(&bad)[0].contains("unknown http-reuse mode 'sometimes'"),
        "{:?}",
        errors(&bad)
    );
}

/// An `fcgi-app` section is checked as HAProxy checks it and has no effect
/// (nothing can use it: `use-fcgi-app` is refused), with a warning; before,
/// its keywords were read as those of the section above it.
#[test]
fn an_fcgi_app_section_is_checked_and_cannot_be_used() {
    let body = format!("{DEFAULTS}backend be\n    server s 127.0.0.1:1\n");
    let declared = load_text(&format!(
        "{body}fcgi-app app\n    docroot /srv\n    index index.php\n    option keep-conn\n"
    ));
    assert!(errors(&declared).is_empty(), "{:?}", errors(&declared));
    assert!(
        warnings(&declared)
            .iter()
            .any(|w| w.contains("fcgi-app 'app' is not used")),
        "{:?}",
        warnings(&declared)
    );
    let bad = errors(&load_text(&format!(
        "{body}fcgi-app app\n    index index.php\n    docrot /srv\n"
    )));
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(
        bad[0].contains("unknown keyword 'docrot' in 'fcgi-app' section"),
        "{bad:?}"
    );
    assert!(bad[1].contains("no docroot configured"), "{bad:?}");
    let used = errors(&load_text(&format!(
        "{DEFAULTS}backend be\n    use-fcgi-app app\n    server s 127.0.0.1:1\nfcgi-app app\n    docroot /srv\n"
    )));
    assert!(
        used.iter()
            .any(|e| e.contains("'use-fcgi-app' is not supported")),
        "{used:?}"
    );
}

/// `http-check` rules in order, with HAProxy's refusals: a `connect` that
/// is not first, `-m reg` on a log-format pattern, what is not built.
#[test]
fn tcp_check_rules_and_protocol_checks_are_read() {
    use switchyard_grammar::ast::check_rule::{CheckOption, CheckSend, CheckStep, ExpectMatcher};
    let text = format!(
        "{DEFAULTS}backend be\n    option tcp-check\n    tcp-check connect port 6379 ssl sni redis.test alpn h2,http/1.1 linger\n    tcp-check send PING\\r\\n comment ping\n    tcp-check send-binary 2A310D0A\n    tcp-check send-lf %[srv_name]\n    tcp-check expect string +PONG min-recv 5 comment pong\n    tcp-check expect ! rbinary ^2D\n    server s 127.0.0.1:1 check\n"
    );
    let loaded = load_text(&text);
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let be = loaded.config.backend("be").unwrap();
    assert_eq!(be.check_option, Some(CheckOption::Tcp));
    let steps: Vec<_> = be.tcp_check_rules.iter().map(|r| &r.step).collect();
    assert!(matches!(steps[0], CheckStep::Connect(c)
        if c.port == Some(6379) && c.ssl && c.linger && c.sni.as_deref() == Some("redis.test")
            && c.alpn.as_deref() == Some(&["h2".to_owned(), "http/1.1".to_owned()][..])));
    assert!(matches!(steps[1], CheckStep::Send(CheckSend::Bytes(b)) if b == b"PING\r\n"));
    assert_eq!(be.tcp_check_rules[1].comment.as_deref(), Some("ping"));
    assert!(matches!(steps[2], CheckStep::Send(CheckSend::Bytes(b)) if b == b"*1\r\n"));
    assert!(matches!(
        steps[3],
        CheckStep::Send(CheckSend::Format { binary: false, .. })
    ));
    assert!(matches!(steps[4], CheckStep::Expect(e)
        if e.min_recv == 5 && matches!(&e.matcher, ExpectMatcher::String(w) if w.text == "+PONG")));
    assert!(matches!(steps[5], CheckStep::Expect(e)
        if e.negated && matches!(&e.matcher, ExpectMatcher::RBinary(w) if w.text == "^2D")));

    // The protocol checks, the last check option winning.
    for (option, expected) in [
        ("option redis-check", CheckOption::Redis),
        ("option ldap-check", CheckOption::Ldap),
        ("option ssl-hello-chk", CheckOption::SslHello),
        (
            "option mysql-check",
            CheckOption::Mysql {
                user: None,
                post41: true,
            },
        ),
        (
            "option mysql-check user u pre-41",
            CheckOption::Mysql {
                user: Some("u".into()),
                post41: false,
            },
        ),
        (
            "option pgsql-check user pg",
            CheckOption::Pgsql { user: "pg".into() },
        ),
        (
            "option smtpchk",
            CheckOption::Smtp {
                command: "HELO localhost".into(),
            },
        ),
        (
            "option smtpchk EHLO mx.test",
            CheckOption::Smtp {
                command: "EHLO mx.test".into(),
            },
        ),
        ("option httpchk\n    option redis-check", CheckOption::Redis),
    ] {
        let text = format!("{DEFAULTS}backend be\n    {option}\n    server s 127.0.0.1:1 check\n");
        let loaded = load_text(&text);
        assert!(
            errors(&loaded).is_empty(),
            "{option}: {:?}",
            errors(&loaded)
        );
        let be = loaded.config.backend("be").unwrap();
        assert_eq!(be.check_option.as_ref(), Some(&expected), "{option}");
        assert!(be.httpchk.is_none());
    }
    let text = format!("{DEFAULTS}backend be\n    option redis-check\n    option httpchk\n    server s 127.0.0.1:1 check\n");
    let loaded = load_text(&text);
    let be = loaded.config.backend("be").unwrap();
    assert!(be.check_option.is_none() && be.httpchk.is_some());

    for (rule, message) in [
        (
            "option tcp-check\n    tcp-check send x\n    tcp-check connect",
            "the first step must also be a 'connect'",
        ),
        (
            "option tcp-check\n    tcp-check expect status 200",
            "'status' is an http-check match",
        ),
        (
            "option tcp-check\n    tcp-check send-binary 2A3",
            "invalid binary string '2A3'",
        ),
        (
            "option tcp-check\n    tcp-check set-var(check.x) int(1)",
            "not supported by switchyard yet",
        ),
        (
            "option tcp-check\n    tcp-check expect custom",
            "'tcp-check expect custom' is not supported by switchyard yet",
        ),
        (
            "option tcp-check\n    tcp-check expect string a string b",
            "only one pattern per rule",
        ),
        (
            "no option redis-check",
            "'no option redis-check' is not supported",
        ),
        ("option pgsql-check", "expects 'user <username>'"),
        (
            "option mysql-check user u post-42",
            "unknown 'option mysql-check' argument 'post-42'",
        ),
    ] {
        let text = format!("{DEFAULTS}backend be\n    {rule}\n    server s 127.0.0.1:1 check\n");
        let loaded = load_text(&text);
        assert!(
            errors(&loaded).iter().any(|e| e.contains(message)),
            "{rule}: {:?}",
            errors(&loaded)
        );
    }
}

#[test]
fn http_check_rules_are_read_in_order() {
    use switchyard_grammar::ast::check_rule::{CheckStep, ExpectMatcher, MatchMethod};
    let text = format!(
        "{DEFAULTS}backend be\n    option httpchk\n    http-check connect port 8080 addr 127.0.0.2\n    http-check send meth GET uri-lf /%[srv_name] comment first\n    http-check comment second\n    http-check expect min-recv 10 ! fhdr name -m beg x- value -m sub ok\n    http-check expect status 200,300-399\n    server s 127.0.0.1:1 check\n"
    );
    let loaded = load_text(&text);
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let be = loaded.config.backend("be").unwrap();
    let steps: Vec<_> = be.http_check_rules.iter().map(|r| &r.step).collect();
    assert!(
        matches!(steps[0], CheckStep::Connect(c) if c.port == Some(8080) && c.addr == Some("127.0.0.2".parse().unwrap()))
    );
    assert_eq!(be.http_check_rules[1].comment.as_deref(), Some("first"));
    assert!(matches!(steps[2], CheckStep::Comment(c) if c == "second"));
    match steps[3] {
        CheckStep::Expect(e) => {
            assert!(e.negated && e.min_recv == 10);
            assert!(
                matches!(&e.matcher, ExpectMatcher::Header { full: true, name, value: Some(v) }
                if name.method == MatchMethod::Beg && v.method == MatchMethod::Sub)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(steps[4], CheckStep::Expect(e) if matches!(&e.matcher, ExpectMatcher::Status(r) if r == &[(200, 200), (300, 399)]))
    );

    for (rule, message) in [
        (
            "http-check send uri /\n    http-check connect",
            "the first step must also be a 'connect'",
        ),
        (
            "http-check expect hdr name-lf -m reg x",
            "cannot be matched with '-m reg'",
        ),
        (
            "http-check connect proto h2",
            "'http-check connect proto' is not supported by switchyard yet",
        ),
        (
            "http-check expect binary 2A",
            "'binary' is a tcp-check match, not an http-check one",
        ),
        (
            "http-check expect ok-status L7OKC status 200",
            "'ok-status L7OKC' is not supported by switchyard yet",
        ),
        (
            "http-check expect status-code int(1) status 200",
            "'http-check expect status-code' is not supported by switchyard yet",
        ),
        (
            "http-check expect status 300-200",
            "invalid status codes '300-200'",
        ),
    ] {
        let text = format!("{DEFAULTS}backend be\n    option httpchk\n    {rule}\n    server s 127.0.0.1:1 check\n");
        let loaded = load_text(&text);
        assert!(
            errors(&loaded).iter().any(|e| e.contains(message)),
            "{rule}: {:?}",
            errors(&loaded)
        );
    }
}

#[test]
fn monitor_keywords_as_haproxy_2_6_reads_them() {
    let loaded = load_text(&format!(
        "{DEFAULTS}    monitor-uri /alive\nfrontend f\n    bind :80\n    monitor-uri /health\n    acl down hdr(x-down) -m found\n    monitor fail if down\n    monitor fail unless {{ src 127.0.0.1 }}\n    default_backend b\nfrontend g\n    bind :81\n    default_backend b\nbackend b\n    server s 127.0.0.1:1\n"
    ));
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let f = loaded.config.proxy("f").unwrap();
    assert_eq!(f.monitor_uri.as_ref().unwrap().text, "/health");
    assert_eq!(f.monitor_fail.len(), 2);
    // Inherited from defaults, as HAProxy does.
    let g = loaded.config.proxy("g").unwrap();
    assert_eq!(g.monitor_uri.as_ref().unwrap().text, "/alive");

    let bad = |line: &str| {
        errors(&load_text(&format!(
            "{DEFAULTS}frontend f\n    bind :80\n    {line}\n"
        )))
    };
    assert_eq!(
        bad("monitor-net 10.0.0.0/8"),
        ["8:5 'monitor-net' doesn't exist anymore. Please use 'http-request return status 200 if { src 10.0.0.0/8 }' instead."]
    );
    assert_eq!(bad("monitor-uri"), ["8:5 'monitor-uri' expects an URI"]);
    assert_eq!(
        bad("monitor fail"),
        ["8:5 'monitor fail' requires either 'if' or 'unless' followed by a condition"]
    );
    assert!(bad("monitor bogus")[0].contains("unknown monitor 'bogus'"));

    let tcp = load_text("defaults\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\nfrontend t\n    mode tcp\n    bind :80\n    monitor-uri /health\n    default_backend b\nbackend b\n    server s 127.0.0.1:1\n");
    assert!(errors(&tcp).is_empty(), "{:?}", errors(&tcp));
    assert!(
        warnings(&tcp)
            .iter()
            .any(|w| w == "monitor-uri will be ignored for frontend 't' (needs 'mode http')"),
        "{:?}",
        warnings(&tcp)
    );
}

#[test]
fn option_redispatch_takes_haproxys_interval() {
    let text = format!(
        "{DEFAULTS}    option redispatch 2\n\
         backend inherits\n    server s 127.0.0.1:1\n\
         backend last\n    option redispatch\n    server s 127.0.0.1:1\n\
         backend before_last\n    option redispatch -2\n    server s 127.0.0.1:1\n\
         backend off\n    no option redispatch\n    server s 127.0.0.1:1\n"
    );
    let loaded = load_text(&text);
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let redispatch = |name: &str| {
        let p = loaded.config.proxy(name).unwrap();
        (p.option(Switch::Redispatch), p.redispatch_after)
    };
    assert_eq!(redispatch("inherits"), (true, Some(2)));
    assert_eq!(redispatch("last"), (true, None));
    assert_eq!(redispatch("before_last"), (true, Some(-2)));
    assert!(!redispatch("off").0);
    let bad = load_text(&format!(
        "{DEFAULTS}backend b\n    option redispatch often\n    server s 127.0.0.1:1\n"
    ));
    let errors = errors(&bad);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("integer interval, not 'often'")),
        "{errors:?}"
    );
}

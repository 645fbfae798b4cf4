//! HAProxy semantics of fetches, flags, conditions and rule order.

mod common;

use common::{compile, DEFAULTS};
use switchyard_rules::{Outcome, OwnedRequest};

fn backends(n: usize) -> String {
    (0..n)
        .map(|i| format!("backend b{i}\n    server s 127.0.0.1:{}\n", 9000 + i))
        .collect()
}

fn route(rules: &str, req: &OwnedRequest) -> String {
    let set = compile(&format!(
        "{DEFAULTS}frontend fe\n    bind :80\n{rules}\n{}",
        backends(6)
    ));
    let indexed = set.decide("fe", req).unwrap();
    let linear = set.decide_linear("fe", req).unwrap();
    assert_eq!(indexed.outcome, linear.outcome, "index and linear disagree");
    match indexed.outcome {
        Outcome::Backend(b) => b,
        Outcome::Answer(a) => format!("status {}", a.status),
        Outcome::NoBackend => "none".into(),
        Outcome::Service(s) => s,
    }
}

fn host(h: &str) -> OwnedRequest {
    OwnedRequest::get("/").header("Host", h)
}

#[test]
fn first_match_wins_in_file_order() {
    let rules = "    acl a hdr(host) -i x.example\n    acl b path_beg /\n    use_backend b1 if b\n    use_backend b2 if a\n    default_backend b0\n";
    assert_eq!(route(rules, &host("x.example")), "b1");
}

#[test]
fn several_acl_lines_with_one_name_are_ored() {
    let rules = "    acl a hdr(host) -i x.example\n    acl a path_beg /api\n    use_backend b1 if a\n    default_backend b0\n";
    assert_eq!(
        route(rules, &OwnedRequest::get("/api/v1").header("Host", "y")),
        "b1"
    );
    assert_eq!(route(rules, &host("X.EXAMPLE")), "b1");
    assert_eq!(route(rules, &host("y")), "b0");
}

#[test]
fn and_or_not_unless_anonymous() {
    let rules = "    acl api path_beg /api\n    acl post method POST\n    use_backend b1 if api post || { path /upload }\n    use_backend b2 if api !post\n    use_backend b3 unless { src 127.0.0.0/8 }\n    default_backend b0\n";
    let mut post = OwnedRequest::get("/api/x");
    post.method = "POST".into();
    assert_eq!(route(rules, &post), "b1");
    assert_eq!(route(rules, &OwnedRequest::get("/upload")), "b1");
    assert_eq!(route(rules, &OwnedRequest::get("/api/x")), "b2");
    let mut remote = OwnedRequest::get("/");
    remote.src = "192.0.2.5:1000".parse().unwrap();
    assert_eq!(route(rules, &remote), "b3");
    assert_eq!(route(rules, &OwnedRequest::get("/")), "b0");
}

#[test]
fn header_fetches_split_on_commas_and_count() {
    let rules = "    acl fw hdr(x-forwarded-for) 10.0.0.1\n    acl two hdr_cnt(x-forwarded-for) eq 2\n    acl full req.fhdr(x-forwarded-for) -m sub ,\n    use_backend b1 if fw two full\n    default_backend b0\n";
    let req = OwnedRequest::get("/").header("X-Forwarded-For", "192.0.2.1, 10.0.0.1");
    assert_eq!(route(rules, &req), "b1");
}

#[test]
fn suffix_methods() {
    let rules = "    acl d hdr_dom(host) -i example.com\n    acl e path_end .png\n    acl r path_reg ^/v[0-9]+/\n    acl l path_len gt 20\n    acl f hdr_found(x-debug)\n    acl dir path_dir img\n    use_backend b1 if d e\n    use_backend b2 if r\n    use_backend b3 if l\n    use_backend b4 if f\n    use_backend b5 if dir\n    default_backend b0\n";
    assert_eq!(
        route(
            rules,
            &OwnedRequest::get("/a.png").header("Host", "WWW.Example.com:8080")
        ),
        "b1"
    );
    assert_eq!(route(rules, &OwnedRequest::get("/v2/x")), "b2");
    assert_eq!(
        route(rules, &OwnedRequest::get("/aaaaaaaaaaaaaaaaaaaaaaaa")),
        "b3"
    );
    assert_eq!(
        route(rules, &OwnedRequest::get("/").header("X-Debug", "")),
        "b4"
    );
    assert_eq!(route(rules, &OwnedRequest::get("/static/img/x.gif")), "b5");
    assert_eq!(route(rules, &OwnedRequest::get("/static/imgs/x.gif")), "b0");
}

#[test]
fn cookies_params_methods_versions() {
    let rules = "    acl c req.cook(sid) -m beg abc\n    acl p url_param(user) bob\n    use_backend b1 if c\n    use_backend b2 if p\n    use_backend b3 if HTTP_1.0\n    use_backend b4 if METH_GET\n    default_backend b0\n";
    assert_eq!(
        route(
            rules,
            &OwnedRequest::get("/").header("Cookie", "a=1; sid=abcdef")
        ),
        "b1"
    );
    assert_eq!(route(rules, &OwnedRequest::get("/?x=1&user=bob")), "b2");
    let mut old = OwnedRequest::get("/");
    old.version = "1.0".into();
    assert_eq!(route(rules, &old), "b3");
    let mut head = OwnedRequest::get("/");
    head.method = "HEAD".into();
    assert_eq!(route(rules, &head), "b4", "METH_GET matches HEAD too");
}

#[test]
fn http_request_rules_come_first_and_edits_are_seen_later() {
    let rules = "    http-request set-header X-Route two\n    acl two hdr(x-route) two\n    use_backend b2 if two\n    default_backend b0\n";
    assert_eq!(route(rules, &OwnedRequest::get("/")), "b2");
    let rules = "    http-request deny if { path /x }\n    use_backend b1 if { path /x }\n    default_backend b0\n";
    assert_eq!(route(rules, &OwnedRequest::get("/x")), "status 403");
}

#[test]
fn no_backend_is_503_and_listen_is_its_own_backend() {
    assert_eq!(
        route(
            "    use_backend b1 if { path /x }\n",
            &OwnedRequest::get("/")
        ),
        "none"
    );
    let set = compile(&format!(
        "{DEFAULTS}listen app\n    bind :80\n    server s 127.0.0.1:1\n"
    ));
    assert_eq!(
        set.decide("app", &OwnedRequest::get("/")).unwrap().outcome,
        Outcome::Backend("app".into())
    );
}

/// The request as `rules` rewrite it (`fe` routes everything to `b0`).
fn rewritten(rules: &str, req: &OwnedRequest) -> OwnedRequest {
    let set = compile(&format!(
        "{DEFAULTS}frontend fe\n    bind :80\n{rules}    default_backend b0\n{}",
        backends(1)
    ));
    set.decide("fe", req)
        .unwrap()
        .rewritten
        .expect("a rule rewrote the request")
}

#[test]
fn backslash_digit_in_a_substitution_is_the_captured_group() {
    // As written in a configuration: the tokenizer keeps `\1`, which is no
    // escape, for the substitution.
    let path = rewritten(
        "    http-request replace-path (.*) /foo\\1\n",
        &OwnedRequest::get("/1?q=2"),
    );
    assert_eq!(path.target, "/foo/1?q=2");
    let req = OwnedRequest::get("/")
        .header("X-Agent", "curl/8.0")
        .header("X-List", "a1, b2");
    let header = rewritten(
        "    http-request replace-header X-Agent ^curl/(.*)$ client-\\1\n",
        &req,
    );
    assert!(
        header
            .headers
            .contains(&("x-agent".into(), "client-8.0".into())),
        "{:?}",
        header.headers
    );
    let value = rewritten(
        "    http-request replace-value X-List ^([a-z])([0-9])$ \\2\\1\n",
        &req,
    );
    assert!(
        value.headers.contains(&("x-list".into(), "1a, 2b".into())),
        "{:?}",
        value.headers
    );
}

#[test]
fn a_cookie_fetch_without_a_name_reads_the_first_cookie() {
    let req = OwnedRequest::get("/")
        .header("Cookie", "a=11; b=22")
        .header("Cookie", "a=33");
    let out = rewritten(
        "    http-request set-header x-val %[req.cook_val()]\n    http-request set-header x-cook %[req.cook()]\n    http-request set-header x-named %[req.cook(a)]\n",
        &req,
    );
    let get = |n: &str| {
        out.headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("x-val"), Some("11"));
    assert_eq!(get("x-cook"), Some("11"));
    // With a name: its last occurrence.
    assert_eq!(get("x-named"), Some("33"));
}

#[test]
fn path_and_pathq_rewrites_as_path_and_pathq_vtc() {
    // HAProxy's reg-test http-rules/path_and_pathq.vtc, rule for rule.
    let rules = "    http-request add-header x-pathq %[pathq]\n    http-request set-path /fe%[path]\n    http-request replace-path (.*) /foo\\1\n    http-request replace-path (.*) \\1/bar\n    http-request set-pathq %[path]?app=regtest&%[query]\n    http-request replace-pathq /([^?]*)\\?app=([^&]*)&?(.*) /\\2/\\1?\\3\n";
    let origin = rewritten(rules, &OwnedRequest::get("/req1?param1=val1&param2=val2"));
    assert_eq!(
        origin.target,
        "/regtest/foo/fe/req1/bar?param1=val1&param2=val2"
    );
    assert!(origin
        .headers
        .contains(&("x-pathq".into(), "/req1?param1=val1&param2=val2".into())));
    let absolute = rewritten(
        rules,
        &OwnedRequest::get("http://127.0.0.1/req2?param1=val1&param2=val2"),
    );
    assert_eq!(
        absolute.target,
        "http://127.0.0.1/regtest/foo/fe/req2/bar?param1=val1&param2=val2"
    );
    assert!(absolute
        .headers
        .contains(&("x-pathq".into(), "/req2?param1=val1&param2=val2".into())));
    let uri = rewritten(
        "    http-request replace-uri ^http://([^/]*)/(.*)$ /\\1/\\2\n",
        &OwnedRequest::get("http://h.test/a?b"),
    );
    assert_eq!(uri.target, "/h.test/a?b");
}

#[test]
fn redirect_options_come_in_any_order_and_ignore_empty_skips_the_rule() {
    let rules = "    http-request redirect code 301 location %[req.hdr(x-to)] ignore-empty\n    default_backend b0\n";
    let to = OwnedRequest::get("/").header("X-To", "/elsewhere");
    assert_eq!(route(rules, &to), "status 301");
    let set = compile(&format!(
        "{DEFAULTS}frontend fe\n    bind :80\n{rules}{}",
        backends(1)
    ));
    let answer = set.decide("fe", &to).unwrap();
    match answer.outcome {
        Outcome::Answer(a) => assert!(a
            .headers
            .contains(&("location".to_owned(), "/elsewhere".to_owned()))),
        other => panic!("{other:?}"),
    }
    // No target: no redirect, the next rule decides.
    assert_eq!(route(rules, &OwnedRequest::get("/")), "b0");
}

#[test]
fn a_named_defaults_sections_rules_run_before_the_proxys_own() {
    let set = compile(
        "defaults common\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\
         defaults def_front from common\n    http-request set-header x-order defaults\n    http-request deny if { path /blocked }\n\
         frontend fe from def_front\n    bind :80\n    http-request set-header x-order own if { hdr(x-order) defaults }\n    default_backend b0\n\
         backend b0 from common\n    server s 127.0.0.1:9000\n",
    );
    let decision = set.decide("fe", &OwnedRequest::get("/")).unwrap();
    let rewritten = decision.rewritten.expect("rewritten");
    // The proxy's rule saw the defaults rule's header.
    assert!(rewritten
        .headers
        .contains(&("x-order".to_owned(), "own".to_owned())));
    let blocked = set.decide("fe", &OwnedRequest::get("/blocked")).unwrap();
    assert_eq!(blocked.status(), Some(403));
}

/// A proxy with no rule to check gets its decision without evaluating
/// anything (`ProxyRules::fixed_decision`); it must be the one the full
/// evaluation gives (an explained decision always takes the full way),
/// including the backend's own rules and persistence.
#[test]
fn a_proxy_without_rules_decides_as_the_full_evaluation() {
    let configs = [
        // The default backend has no rules: the fixed way.
        "frontend fe\n    bind :80\n    default_backend b0\n",
        // Its `http-request deny` must still run.
        "frontend fe\n    bind :80\n    default_backend b9\nbackend b9\n    http-request deny\n    server s 127.0.0.1:9009\n",
        // `force-persist` in the backend.
        "frontend fe\n    bind :80\n    default_backend b9\nbackend b9\n    force-persist if TRUE\n    server s 127.0.0.1:9009\n",
        // A listen section is its own backend.
        "listen fe\n    bind :80\n    server s 127.0.0.1:9009\n",
        "listen fe\n    bind :80\n    ignore-persist if TRUE\n    server s 127.0.0.1:9009\n",
        // No backend at all.
        "frontend fe\n    bind :80\n",
    ];
    for (i, config) in configs.iter().enumerate() {
        let set = compile(&format!("{DEFAULTS}{config}{}", backends(1)));
        let req = host("x.example");
        let fixed = set.decide("fe", &req).unwrap();
        let (full, _) = set.explain("fe", &req).unwrap();
        assert_eq!(
            (fixed.outcome, fixed.rule, fixed.persist),
            (full.outcome, full.rule, full.persist),
            "config {i}"
        );
    }
}

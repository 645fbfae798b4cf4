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

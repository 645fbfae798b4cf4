//! Arbitrary requests (read as fixture text) through a rule set with every
//! kind of fetch and match: deciding must never panic, and the indexed
//! decision must equal the plain in-order evaluation (HAProxy's
//! first-match answer).

use std::sync::OnceLock;

use switchyard_grammar::{load, Environment};

use crate::NoFiles;
use switchyard_rules::{fixture, RuleSet};

const CONFIG: &str = r#"
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:8080
    acl api path_beg /api
    acl static path_end .css .js .png
    acl shop hdr(host) -i shop.test www.shop.test
    acl blog hdr_dom(host) -i blog.test
    acl admin path_reg ^/admin/[0-9]+$
    acl beta req.cook(beta) -m found
    acl post method POST
    acl local src 127.0.0.0/8
    acl ua hdr_sub(user-agent) -i bot
    acl q url_param(v) -m int gt 3
    http-request deny if admin !local
    http-request set-header X-Beta 1 if beta
    http-request redirect location /new code 301 if { path /old }
    use_backend api if api post || api beta
    use_backend static if static
    use_backend shop if shop !ua
    use_backend blog if blog
    use_backend q if q
    use_backend %[req.hdr(x-dyn),lower] if { hdr(x-dyn) -m found }
    default_backend web
backend api
    server a 127.0.0.1:1
backend static
    server s 127.0.0.1:2
backend shop
    server s 127.0.0.1:3
backend blog
    server b 127.0.0.1:4
backend q
    server q 127.0.0.1:5
backend web
    server w 127.0.0.1:6
"#;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        let loaded = load(
            &[("fuzz.cfg".to_owned(), CONFIG.to_owned())],
            Environment::new(),
            &NoFiles,
        );
        RuleSet::compile(&loaded.config, &NoFiles)
            .unwrap_or_else(|d| panic!("the fuzz config compiles: {d:?}"))
    })
}

/// One fuzz input: panics when a property above does not hold.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cases) = fixture::parse(text) else {
        return;
    };
    for case in cases.iter().take(8) {
        let indexed = rules()
            .decide("fe", &case.request)
            .expect("frontend fe exists");
        let linear = rules()
            .decide_linear("fe", &case.request)
            .expect("frontend fe exists");
        assert_eq!(
            indexed.outcome, linear.outcome,
            "request: {:?}",
            case.request
        );
        let _ = rules().explain("fe", &case.request);
    }
}

//! The indexed evaluation gives exactly the linear evaluation's answer:
//! thousands of random rule sets, each against random requests.

mod common;

use common::{compile, DEFAULTS};
use proptest::prelude::*;
use switchyard_rules::OwnedRequest;

const HOSTS: &[&str] = &["a.example", "b.example", "A.EXAMPLE", "c.example", "x.test"];
const PATHS: &[&str] = &["/", "/api", "/api/v1", "/static/a.png", "/apix", "/admin"];

fn acl() -> impl Strategy<Value = String> {
    prop_oneof![
        (prop::sample::select(HOSTS), any::<bool>())
            .prop_map(|(h, i)| format!("hdr(host){} {h}", if i { " -i" } else { "" })),
        prop::sample::select(PATHS).prop_map(|p| format!("path_beg {p}")),
        prop::sample::select(PATHS).prop_map(|p| format!("path {p}")),
        prop::sample::select(PATHS)
            .prop_map(|p| format!("path_end {}", &p[p.len().saturating_sub(2)..])),
        Just("method POST".to_owned()),
    ]
}

fn condition(acls: usize) -> impl Strategy<Value = String> {
    let term =
        (0..acls, any::<bool>()).prop_map(|(i, neg)| format!("{}a{i}", if neg { "!" } else { "" }));
    prop_oneof![
        (0..acls).prop_map(|i| format!("if a{i}")),
        (0..acls).prop_map(|i| format!("if a{i}")),
        prop::collection::vec(term.clone(), 1..3).prop_map(|t| format!("if {}", t.join(" "))),
        (term.clone(), term.clone()).prop_map(|(a, b)| format!("if {a} || {b}")),
        term.clone().prop_map(|t| format!("unless {t}")),
        prop::sample::select(PATHS).prop_map(|p| format!("if {{ path_beg {p} }}")),
    ]
}

fn config() -> impl Strategy<Value = String> {
    (1usize..8).prop_flat_map(|n| {
        (
            prop::collection::vec(acl(), n),
            prop::collection::vec((condition(n), 0usize..4), 0..10),
            any::<bool>(),
        )
            .prop_map(|(acls, rules, default)| {
                let mut text = format!("{DEFAULTS}frontend fe\n    bind :80\n");
                for (i, a) in acls.iter().enumerate() {
                    text.push_str(&format!("    acl a{i} {a}\n"));
                }
                for (cond, b) in rules {
                    text.push_str(&format!("    use_backend b{b} {cond}\n"));
                }
                if default {
                    text.push_str("    default_backend b0\n");
                }
                for b in 0..4 {
                    text.push_str(&format!(
                        "backend b{b}\n    server s 127.0.0.1:{}\n",
                        9000 + b
                    ));
                }
                text
            })
    })
}

fn request() -> impl Strategy<Value = OwnedRequest> {
    (
        prop::sample::select(HOSTS),
        prop::sample::select(PATHS),
        any::<bool>(),
    )
        .prop_map(|(h, p, post)| {
            let mut r = OwnedRequest::get(p).header("Host", h);
            if post {
                r.method = "POST".into();
            }
            r
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn indexed_equals_linear(text in config(), requests in prop::collection::vec(request(), 1..8)) {
        let set = compile(&text);
        for req in &requests {
            let fast = set.decide("fe", req).unwrap();
            let slow = set.decide_linear("fe", req).unwrap();
            prop_assert_eq!(&fast.outcome, &slow.outcome, "config:\n{}\nrequest: {:?}", text, req);
            prop_assert_eq!(fast.rule, slow.rule);
        }
    }
}

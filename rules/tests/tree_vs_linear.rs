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
                switching_and_backends(&mut text, &rules, default);
                text
            })
    })
}

/// The `use_backend` lines (condition, backend number), an optional
/// `default_backend`, and backends `b0`..`b3`.
fn switching_and_backends(text: &mut String, rules: &[(String, usize)], default: bool) {
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

/// Pattern groups: regex sets, `-i`, every string method, converters,
/// lines on several fetches under one ACL name, multi-valued headers and
/// lines the groups leave alone (`ip`, `int`); numbered patterns so that
/// requests hit some of thousands of rules.
fn grouped_line(k: usize) -> impl Strategy<Value = String> {
    let kinds = 0usize..19;
    (kinds, 0..k, any::<bool>()).prop_map(|(kind, n, i)| {
        let i = if i { " -i" } else { "" };
        match kind {
            0 => format!("hdr(host){i} h{n}.example"),
            1 => format!("hdr_reg(host){i} ^h{n}\\."),
            2 => format!("hdr_beg(host){i} h{n}"),
            3 => format!("hdr_end(host){i} {n}.example"),
            4 => format!("hdr_dom(host){i} h{n}"),
            5 => format!("path_reg{i} ^/s{n}/(v[0-9]+/)?items"),
            6 => format!("path_reg{i} items$ ^/S{n}/"),
            7 => format!("path_beg{i} /s{n}"),
            8 => format!("path_end{i} {n}/items"),
            9 => format!("path_sub{i} s{n}"),
            10 => format!("path_dir{i} s{n}"),
            11 => format!("path{i} /s{n}/items"),
            12 => format!("url_reg{i} [?&]q={n}$"),
            13 => format!("hdr_reg(x-tag){i} ^t{n}$"),
            14 => "method POST".to_owned(),
            15 => format!("src 127.0.{}.{}/32", n / 256, n % 256),
            16 => format!("hdr(host),lower -m reg ^h{n}\\."),
            17 => format!("hdr_cnt(x-tag) {}", n % 3),
            _ => format!("path_sub{i} /"),
        }
    })
}

/// A condition over ACLs `g0..gN` (several fetches when they differ).
fn grouped_condition(acls: usize) -> impl Strategy<Value = String> {
    let term =
        (0..acls, any::<bool>()).prop_map(|(i, neg)| format!("{}g{i}", if neg { "!" } else { "" }));
    let positive = (0..acls).prop_map(|i| format!("g{i}"));
    prop_oneof![
        4 => positive.clone().prop_map(|a| format!("if {a}")),
        2 => (positive.clone(), term.clone()).prop_map(|(a, b)| format!("if {a} {b}")),
        2 => (term.clone(), positive.clone(), term.clone())
            .prop_map(|(a, b, c)| format!("if {a} {b} || {c}")),
        1 => (positive.clone(), positive).prop_map(|(a, b)| format!("if {a} || {b}")),
        1 => term.clone().prop_map(|t| format!("unless {t}")),
        1 => prop::collection::vec(term, 1..4).prop_map(|t| format!("if {}", t.join(" "))),
        1 => (0usize..50).prop_map(|n| format!("if {{ path_reg -i ^/s{n}/ }}")),
        1 => Just(String::new()),
    ]
}

/// A frontend of `acls` ACLs (some named twice: two lines, often two
/// fetches), `rules` switching rules and a few `http-request` rules that
/// rewrite what later ACLs see.
fn grouped_config(acls: usize, rules: usize, k: usize) -> impl Strategy<Value = String> {
    (
        prop::collection::vec((grouped_line(k), prop::option::of(grouped_line(k))), acls),
        prop::collection::vec((grouped_condition(acls), 0usize..4), 0..rules),
        prop::collection::vec((0..acls, 0..k, 0usize..3), 0..3),
        any::<bool>(),
    )
        .prop_map(move |(lines, switching, http, default)| {
            let mut text = format!("{DEFAULTS}frontend fe\n    bind :80\n");
            for (i, (first, second)) in lines.iter().enumerate() {
                text.push_str(&format!("    acl g{i} {first}\n"));
                if let Some(second) = second {
                    text.push_str(&format!("    acl g{i} {second}\n"));
                }
            }
            for (acl, n, what) in http {
                text.push_str(&match what {
                    0 => format!("    http-request set-path /s{n}/items if g{acl}\n"),
                    1 => format!("    http-request set-header Host H{n}.EXAMPLE if !g{acl}\n"),
                    _ => format!("    http-request deny if g{acl} g{n}\n", n = n % acls),
                });
            }
            switching_and_backends(&mut text, &switching, default);
            text
        })
}

fn grouped_request(k: usize) -> impl Strategy<Value = OwnedRequest> {
    (
        (0..k, 0usize..4),
        (0..k, 0usize..6),
        prop::collection::vec(0..k, 0..3),
        (0usize..2, any::<bool>(), 0..k),
    )
        .prop_map(|((h, hs), (p, ps), tags, (hosts, post, src))| {
            let host = match hs {
                0 => format!("h{h}.example"),
                1 => format!("H{h}.EXAMPLE"),
                2 => format!("www.h{h}.example:80"),
                _ => "x.test".to_owned(),
            };
            let path = match ps {
                0 => format!("/s{p}/items"),
                1 => format!("/S{p}/v2/items"),
                2 => format!("/s{p}/v10/items?q={p}"),
                3 => format!("/a/s{p}/b"),
                4 => format!("/?q={p}"),
                _ => "/".to_owned(),
            };
            let mut r = OwnedRequest::get(&path);
            for _ in 0..=hosts {
                r = r.header("Host", &host);
            }
            if !tags.is_empty() {
                let tags: Vec<String> = tags.iter().map(|t| format!("t{t}")).collect();
                r = r.header("X-Tag", &tags.join(", "));
            }
            if post {
                r.method = "POST".into();
            }
            r.src = format!("127.0.{}.{}:4000", src / 256, src % 256)
                .parse()
                .unwrap();
            r
        })
}

fn agree(
    set: &switchyard_rules::RuleSet,
    text: &str,
    req: &OwnedRequest,
) -> Result<(), TestCaseError> {
    let slow = set.decide_linear("fe", req).unwrap();
    let fast = set.decide("fe", req).unwrap();
    let (explained, _) = set.explain("fe", req).unwrap();
    for other in [&fast, &explained] {
        prop_assert_eq!(
            &other.outcome,
            &slow.outcome,
            "config:\n{}\nrequest: {:?}",
            text,
            req
        );
        prop_assert_eq!(
            other.rule,
            slow.rule,
            "config:\n{}\nrequest: {:?}",
            text,
            req
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn grouped_equals_linear(
        (text, requests) in (1usize..12).prop_flat_map(|n| (
            grouped_config(n, 16, 6),
            prop::collection::vec(grouped_request(6), 1..8),
        ))
    ) {
        let set = compile(&text);
        for req in &requests {
            agree(&set, &text, req)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Up to 2,000 rules over 1,500 ACLs, numbered so a request hits a few.
    #[test]
    fn large_grouped_equals_linear(
        (text, requests) in (200usize..1500, 200usize..2000).prop_flat_map(|(n, rules)| (
            grouped_config(n, rules, 400),
            prop::collection::vec(grouped_request(400), 8..24),
        ))
    ) {
        let set = compile(&text);
        for req in &requests {
            agree(&set, &text, req)?;
        }
    }
}

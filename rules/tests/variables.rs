//! Variables: `set-var`, `set-var-fmt`, `unset-var` and `var()` as rules
//! and conditions see them, with HAProxy's scopes and conditions.

mod common;

use common::{compile, NoFiles, DEFAULTS};
use switchyard_grammar::ast::var::VarName;
use switchyard_rules::{Outcome, OwnedRequest, ResponseEdit, RuleSet};

fn rules(text: &str) -> RuleSet {
    compile(&format!(
        "{DEFAULTS}frontend fe\n    bind :80\n{text}    default_backend b0\nbackend b0\n    server s 127.0.0.1:9000\nbackend b1\n    server s 127.0.0.1:9001\n"
    ))
}

fn var(req: &OwnedRequest, set: &RuleSet, name: &str) -> Option<String> {
    let decision = set.decide("fe", req).unwrap();
    let owned = decision
        .rewritten
        .expect("variables are kept on the request");
    owned
        .vars
        .unwrap()
        .get(&VarName::parse(name).unwrap())
        .map(|v| v.to_text())
}

#[test]
fn set_var_stores_a_sample_that_later_rules_and_conditions_read() {
    let set = rules(
        "    http-request set-var(txn.host) req.hdr(host),lower\n    use_backend b1 if { var(txn.host) -m str api.test }\n",
    );
    let req = OwnedRequest::get("/").header("Host", "API.test");
    assert_eq!(var(&req, &set, "txn.host").as_deref(), Some("api.test"));
    let outcome = set.decide("fe", &req).unwrap().outcome;
    assert_eq!(outcome, Outcome::Backend("b1".into()));
    let other = OwnedRequest::get("/").header("Host", "www.test");
    assert_eq!(
        set.decide("fe", &other).unwrap().outcome,
        Outcome::Backend("b0".into())
    );
}

#[test]
fn a_variable_set_after_a_condition_was_answered_is_seen_by_the_next_rule() {
    // The ACL on the variable is answered once before the set-var and
    // again after it.
    let set = rules(
        "    acl seen var(txn.x) -m found\n    http-request set-header x-before 1 if seen\n    http-request set-var(txn.x) path\n    use_backend b1 if seen\n",
    );
    let decision = set.decide("fe", &OwnedRequest::get("/p")).unwrap();
    assert_eq!(decision.outcome, Outcome::Backend("b1".into()));
    let owned = decision.rewritten.unwrap();
    assert!(owned.headers.iter().all(|(n, _)| n != "x-before"));
}

#[test]
fn set_var_fmt_unset_var_and_the_default_of_var() {
    let set = rules(
        "    http-request set-var-fmt(txn.from) %[src]:%[src_port]\n    http-request set-var(req.gone) path\n    http-request unset-var(req.gone)\n    http-request set-header x-gone %[var(req.gone,none)]\n",
    );
    let req = OwnedRequest::get("/p");
    assert_eq!(
        var(&req, &set, "txn.from").as_deref(),
        Some("127.0.0.1:40000")
    );
    assert_eq!(var(&req, &set, "req.gone"), None);
    let owned = set.decide("fe", &req).unwrap().rewritten.unwrap();
    assert!(owned.headers.contains(&("x-gone".into(), "none".into())));
}

#[test]
fn set_var_conditions_decide_whether_it_is_set() {
    let set = rules(
        "    http-request set-var(txn.n) hdr_cnt(x)\n    http-request set-var(txn.n,ifgt) hdr_val(y)\n    http-request set-var(txn.e,ifnotempty) hdr(missing)\n    http-request set-var(txn.f,ifnotexists) path\n    http-request set-var(txn.f,ifnotexists) method\n",
    );
    let req = OwnedRequest::get("/p")
        .header("x", "1")
        .header("x", "2")
        .header("y", "5");
    // 2 then not 5 (ifgt: 2 > 5 is false).
    assert_eq!(var(&req, &set, "txn.n").as_deref(), Some("2"));
    assert_eq!(var(&req, &set, "txn.e"), None);
    assert_eq!(var(&req, &set, "txn.f").as_deref(), Some("/p"));
}

#[test]
fn response_rules_see_txn_variables_but_not_req_ones() {
    let set = rules(
        "    http-request set-var(txn.t) path\n    http-request set-var(req.r) path\n    http-response set-header x-t %[var(txn.t)]\n    http-response set-header x-r %[var(req.r,gone)]\n    http-response set-var(res.s) var(txn.t)\n    http-response add-header x-s %[var(res.s)]\n",
    );
    let req = OwnedRequest::get("/p");
    let owned = set.decide("fe", &req).unwrap().rewritten.unwrap();
    let edits = set.response_edits("fe", "b0", &owned);
    assert_eq!(
        edits,
        vec![
            ResponseEdit::Set("x-t".into(), "/p".into()),
            ResponseEdit::Set("x-r".into(), "gone".into()),
            ResponseEdit::Add("x-s".into(), "/p".into()),
        ]
    );
}

#[test]
fn bad_variable_names_are_refused() {
    for (rule, message) in [
        ("http-request set-var(foo.x) path", "invalid variable scope"),
        ("http-request set-var(txn) path", "no scope"),
        (
            "http-request set-var(txn.x,ifbig) path",
            "unknown set-var condition",
        ),
        (
            "http-request set-header a %[var(txn.a-b)]",
            "invalid character",
        ),
    ] {
        let text = format!("{DEFAULTS}frontend fe\n    bind :80\n    {rule}\n");
        let err = compile_err(&text);
        assert!(err.contains(message), "{rule}: {err}");
    }
}

/// The rendered errors of a configuration that must not compile.
fn compile_err(text: &str) -> String {
    let loaded = switchyard_grammar::load(
        &[("t.cfg".into(), text.into())],
        switchyard_grammar::Environment::new(),
        &NoFiles,
    );
    if loaded.diagnostics.has_errors() {
        return loaded.diagnostics.render(&loaded.sources);
    }
    match RuleSet::compile(&loaded.config, &NoFiles) {
        Ok(_) => panic!("compiled"),
        Err(d) => d.render(&loaded.sources),
    }
}

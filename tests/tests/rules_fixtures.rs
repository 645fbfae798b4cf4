//! The project's own rule fixtures, run through `switchyard test` exactly
//! as an operator would run them in CI.

use switchyard_e2e::{run, stdout};

#[test]
fn the_rules_suite_passes() {
    let out = run(&["test", "-f", "fixtures/rules/gateway.cfg", "fixtures/rules"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
    assert!(!text.contains("FAILED"), "{text}");
}

#[test]
fn a_wrong_expectation_fails_with_the_deciding_rule() {
    let out = run(&[
        "test",
        "-f",
        "fixtures/rules/gateway.cfg",
        "fixtures/rules/failing",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("expected backend blog, got backend shop"),
        "{text}"
    );
    assert!(
        text.contains("decided by fixtures/rules/gateway.cfg:42:5"),
        "{text}"
    );
    assert!(text.ends_with("0 passed, 1 failed\n"), "{text}");
}

#[test]
fn json_output_and_coverage() {
    let out = run(&[
        "test",
        "-f",
        "fixtures/rules/gateway.cfg",
        "--format",
        "json",
        "--coverage",
        "fixtures/rules/bluegreen.http",
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("\"passed\": 3"), "{text}");
    // bluegreen.http never exercises the API routes.
    assert!(text.contains("\"kind\": \"use_backend\""), "{text}");
    assert!(text.contains("gateway.cfg:37:5"), "{text}");
}

#[test]
fn explain_shows_each_rule_and_acl() {
    let out = run(&[
        "explain",
        "-f",
        "fixtures/rules/gateway.cfg",
        "--url",
        "http://api.example.com/orders/7",
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("acl host_api"), "{text}");
    assert!(
        text.contains("fetched \"api.example.com\" → true"),
        "{text}"
    );
    assert!(text.contains("decision: backend api_orders"), "{text}");
}

#[test]
fn malformed_fixtures_are_reported_not_panicked_on() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.http");
    std::fs::write(&bad, "# expect colour blue\nGET / HTTP/1.1\n").unwrap();
    let out = run(&[
        "test",
        "-f",
        "fixtures/rules/gateway.cfg",
        bad.to_str().unwrap(),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("bad.http:1: unknown expectation 'colour'"),
        "{text}"
    );
}

//! The answers rules write themselves (`return`, `deny`, `redirect`): their
//! fields in HAProxy 2.6's order and what goes in them, as HAProxy 2.6.12
//! sends them (compared by hand on loopback).

mod common;

use common::DEFAULTS;
use switchyard_grammar::{load, Environment, FileAccess};
use switchyard_rules::{Answer, Outcome, OwnedRequest, RuleSet};

/// One file, `page.lf`, for `lf-file`.
struct OneFile;

impl FileAccess for OneFile {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        match path {
            "page.lf" => Ok(b"path is %[url]\n".to_vec()),
            _ => Err(std::io::ErrorKind::NotFound.into()),
        }
    }
}

fn answer(rule: &str, target: &str) -> Answer {
    let text = format!(
        "{DEFAULTS}frontend fe\n    bind :80\n    {rule}\n    default_backend b\nbackend b\n"
    );
    let loaded = load(&[("t.cfg".into(), text)], Environment::new(), &OneFile);
    assert!(
        !loaded.diagnostics.has_errors(),
        "{}",
        loaded.diagnostics.render(&loaded.sources)
    );
    let set = RuleSet::compile(&loaded.config, &OneFile).expect("compiles");
    match set
        .decide("fe", &OwnedRequest::get(target))
        .unwrap()
        .outcome
    {
        Outcome::Answer(a) => a,
        other => panic!("{other:?}"),
    }
}

fn fields(a: &Answer) -> Vec<String> {
    a.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect()
}

#[test]
fn return_puts_hdr_fields_then_the_length_then_the_type() {
    let a = answer(
        "http-request return status 200 content-type text/plain string hello hdr x-a 1 hdr x-b %[path]",
        "/p",
    );
    assert_eq!(
        fields(&a),
        [
            "x-a: 1",
            "x-b: /p",
            "content-length: 5",
            "content-type: text/plain"
        ]
    );
}

#[test]
fn return_without_payload_sends_no_content_type() {
    let a = answer("http-request return content-type text/plain", "/");
    assert_eq!(fields(&a), ["content-length: 0"]);
    assert_eq!(a.body.as_deref(), Some(&b""[..]));
}

#[test]
fn lf_file_is_evaluated_as_a_log_format() {
    let a = answer(
        "http-request return content-type text/plain lf-file page.lf",
        "/lf-file?x=1",
    );
    assert_eq!(a.body.as_deref(), Some(&b"path is /lf-file?x=1\n"[..]));
    assert_eq!(
        fields(&a),
        ["content-length: 21", "content-type: text/plain"]
    );
    let a = answer(
        "http-request deny deny_status 403 content-type text/plain lf-file page.lf",
        "/d",
    );
    assert_eq!(a.body.as_deref(), Some(&b"path is /d\n"[..]));
}

#[test]
fn redirects_say_no_cache_only_for_302_303_and_307() {
    let a = answer("http-request redirect location /x code 301", "/");
    assert_eq!(fields(&a), ["content-length: 0", "location: /x"]);
    let a = answer("http-request redirect location /x code 308", "/");
    assert_eq!(fields(&a), ["content-length: 0", "location: /x"]);
    for code in [302, 303, 307] {
        let a = answer(
            &format!("http-request redirect location /x code {code}"),
            "/",
        );
        assert_eq!(
            fields(&a),
            [
                "content-length: 0",
                "location: /x",
                "cache-control: no-cache"
            ],
            "{code}"
        );
    }
    let a = answer("http-request redirect location /x set-cookie A=1", "/");
    assert_eq!(fields(&a)[3], "set-cookie: A=1; path=/;");
    let a = answer("http-request redirect location /x clear-cookie B=", "/");
    assert_eq!(fields(&a)[3], "set-cookie: B=; path=/; Max-Age=0;");
}

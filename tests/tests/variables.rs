//! Variables end to end: `set-var` in `http-request` and `http-response`
//! rules, `var()` in conditions and header values, and the scopes'
//! lifetimes (`txn`, `req`, `res` per transaction, `sess` per client
//! connection, `proc` for the whole configuration).

use switchyard_e2e::client::{client, get};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::raw_http::{head_lines, read_response};
use switchyard_e2e::runtime_api::command;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const DEFAULTS: &str =
    "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

#[tokio::test]
async fn a_request_variable_routes_rewrites_and_reaches_the_response_rules() {
    let (a, b) = (Origin::start("a").await, Origin::start("b").await);
    let port = free_port();
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   http-request set-var(txn.who) req.hdr(x-user),lower\n\
         \x20   http-request set-var(req.path) path\n\
         \x20   http-request set-header x-who-seen %[var(txn.who)]\n\
         \x20   use_backend b if {{ var(txn.who) -m str alice }}\n\
         \x20   default_backend a\n\
         \x20   http-response set-header x-who %[var(txn.who,nobody)]\n\
         \x20   http-response set-header x-req %[var(req.path,gone)]\n\
         backend a\n    server s {}\nbackend b\n    server s {}\n",
        a.addr, b.addr
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let c = client();
    let url = format!("http://127.0.0.1:{port}/p");
    let r = get(&c, &url, &[("x-user", "ALICE")]).await.unwrap();
    assert_eq!(r.header("x-served-by"), Some("b"));
    assert_eq!(r.header("x-who"), Some("alice"));
    // `req.` variables end with the request's processing.
    assert_eq!(r.header("x-req"), Some("gone"));
    assert_eq!(b.seen()[0].header_values("x-who-seen"), ["alice"]);
    let r = get(&c, &url, &[("x-user", "bob")]).await.unwrap();
    assert_eq!(r.header("x-served-by"), Some("a"));
    assert_eq!(r.header("x-who"), Some("bob"));
    // Each transaction starts without the previous one's variables.
    let r = get(&c, &url, &[]).await.unwrap();
    assert_eq!(r.header("x-served-by"), Some("a"));
    assert_eq!(r.header("x-who"), Some("nobody"));
}

/// Sends `GET path` on `s` and returns the response's head lines.
async fn ask(s: &mut TcpStream, path: &str) -> Vec<String> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: example\r\n\r\n");
    s.write_all(request.as_bytes()).await.unwrap();
    let response = read_response(s).await;
    head_lines(&response)
        .iter()
        .map(|l| l.to_string())
        .collect()
}

fn field<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn sess_variables_live_with_the_connection_and_proc_ones_with_the_process() {
    let origin = Origin::start("o").await;
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("api.sock");
    let config = format!(
        "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   http-request set-var(sess.first) path if !{{ var(sess.first) -m found }}\n\
         \x20   http-request set-var(txn.path) path\n\
         \x20   default_backend be\n\
         \x20   http-response set-header x-first %[var(sess.first)]\n\
         \x20   http-response set-header x-prev %[var(proc.last,none)]\n\
         \x20   http-response set-var(proc.last) var(txn.path)\n\
         backend be\n    server s {}\n",
        socket.display(),
        origin.addr
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let mut one = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = ask(&mut one, "/one").await;
    assert_eq!(field(&head, "x-first"), Some("/one"), "{head:?}");
    assert_eq!(field(&head, "x-prev"), Some("none"));
    let head = ask(&mut one, "/two").await;
    assert_eq!(field(&head, "x-first"), Some("/one"), "{head:?}");
    assert_eq!(field(&head, "x-prev"), Some("/one"));
    let mut two = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = ask(&mut two, "/three").await;
    assert_eq!(field(&head, "x-first"), Some("/three"), "{head:?}");
    assert_eq!(field(&head, "x-prev"), Some("/two"));
    // The runtime API reads and writes `proc.` variables.
    let answer = command(&socket, "get var proc.last");
    assert_eq!(answer.trim_end(), "proc.last: type=str value=</three>");
    let answer = command(&socket, "get var txn.path");
    assert!(answer.contains("'proc.' prefix"), "{answer}");
    let answer = command(&socket, "set var proc.last fmt reset");
    assert!(answer.contains("experimental mode"), "{answer}");
    command(
        &socket,
        "experimental-mode on; set var proc.last fmt re%[var(proc.last)]",
    );
    let head = ask(&mut two, "/four").await;
    assert_eq!(field(&head, "x-prev"), Some("re/three"), "{head:?}");
}

#[test]
fn bad_variable_names_and_unknown_fetches_are_refused_by_check() {
    let dir = tempfile::tempdir().unwrap();
    for (rule, message) in [
        ("http-request set-var(foo.x) path", "invalid variable scope"),
        (
            "http-response set-var(res.x,ifbig) path",
            "unknown set-var condition",
        ),
        (
            "http-request set-var(txn.x) no_such_fetch",
            "unknown fetch method",
        ),
    ] {
        let path = dir.path().join("t.cfg");
        std::fs::write(
            &path,
            format!("{DEFAULTS}frontend fe\n    bind 127.0.0.1:1\n    {rule}\n"),
        )
        .unwrap();
        let out = switchyard_e2e::run(&["-c", "-f", path.to_str().unwrap()]);
        assert!(!out.status.success(), "{rule}");
        let err = switchyard_e2e::stderr(&out);
        assert!(err.contains(message), "{rule}: {err}");
    }
}

#[tokio::test]
async fn http_after_response_rules_apply_to_every_response_the_gateways_own_included() {
    let origin = Origin::start("o").await;
    let port = free_port();
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   http-request set-var(txn.p) path\n\
         \x20   http-request return status 404 content-type text/plain string nope if {{ path /local }}\n\
         \x20   http-request deny if {{ path /deny }}\n\
         \x20   default_backend be\n\
         \x20   http-after-response set-header x-after %[var(txn.p)]\n\
         \x20   http-after-response allow if {{ var(txn.p) -m str /allowed }}\n\
         \x20   http-after-response add-header x-added yes\n\
         \x20   http-after-response del-header x-served-by\n\
         \x20   http-after-response set-status 299 reason Fine if {{ var(txn.p) -m str /renamed }}\n\
         backend be\n    server s {}\n",
        origin.addr
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = ask(&mut s, "/a").await;
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    assert_eq!(field(&head, "x-after"), Some("/a"), "{head:?}");
    assert_eq!(field(&head, "x-added"), Some("yes"));
    assert_eq!(field(&head, "x-served-by"), None);
    let head = ask(&mut s, "/allowed").await;
    assert_eq!(field(&head, "x-after"), Some("/allowed"), "{head:?}");
    assert_eq!(field(&head, "x-added"), None);
    assert_eq!(field(&head, "x-served-by"), Some("o"));
    let head = ask(&mut s, "/renamed").await;
    assert_eq!(head[0], "HTTP/1.1 299 Fine", "{head:?}");
    let head = ask(&mut s, "/local").await;
    assert_eq!(head[0], "HTTP/1.1 404 Not Found", "{head:?}");
    assert_eq!(field(&head, "x-after"), Some("/local"));
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = ask(&mut s, "/deny").await;
    assert!(head[0].starts_with("HTTP/1.1 403"), "{head:?}");
    assert_eq!(field(&head, "x-after"), Some("/deny"));
    assert_eq!(field(&head, "x-added"), Some("yes"));
}

#[test]
fn http_after_response_in_a_backend_section_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.cfg");
    std::fs::write(
        &path,
        format!("{DEFAULTS}frontend fe\n    bind 127.0.0.1:1\n    default_backend be\nbackend be\n    http-after-response set-header a b\n    server s 127.0.0.1:2\n"),
    )
    .unwrap();
    let out = switchyard_e2e::run(&["-c", "-f", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = switchyard_e2e::stderr(&out);
    assert!(err.contains("not supported by switchyard yet"), "{err}");
}

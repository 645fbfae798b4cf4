//! Converters and the constant fetches through the real binary: values
//! written into response headers by `http-response set-header %[…]`,
//! converter chains in ACLs (matched by the type the chain returns), and
//! `switchyard -c` refusing chains whose types do not fit, with HAProxy's
//! message.

use switchyard_e2e::client::{client, get};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::{run, stderr};

const DEFAULTS: &str =
    "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

/// Header name → sample expression, each written by `http-response
/// set-header`; the expected values are HAProxy 2.6.12's for the same
/// expressions (its reg-tests' where they have them).
const HEADERS: &[(&str, &str, &str)] = &[
    (
        "x-sha1",
        "str(1),sha1,hex,lower",
        "356a192b7913b04c54574d18c28d46e6395428ab",
    ),
    (
        "x-sha256",
        "str(1),digest(sha256),hex,lower",
        "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b",
    ),
    (
        "x-hmac",
        "str(1),hmac(sha1,a2V5),hex,lower",
        "e23feb105f9622241bf23db1638cd2b4208b1f53",
    ),
    ("x-ub64", "bin(14fb9c03d97f12d97e),ub64enc", "FPucA9l_Etl-"),
    ("x-b64", "str(hello),base64", "aGVsbG8="),
    ("x-crc32", "str(abc),crc32", "891568578"),
    ("x-arith", "int(7),mul(6),sub(2),div(4)", "10"),
    ("x-odd", "int(7),odd", "1"),
    ("x-field", "str(f1_f2_f3__f5),field(2,_,2)", "f2_f3"),
    ("x-word", "str(__a__b__c),word(-2,_)", "b"),
    ("x-regsub", "str(a.b.c),regsub(\\.,-,g)", "a-b-c"),
    ("x-json", "str(foo 1/2),json", "foo 1\\/2"),
    ("x-urlenc", "str(a=b c),url_enc", "a%3Db%20c"),
    ("x-ipmask", "ipv4(192.168.7.9),ipmask(16)", "192.168.0.0"),
    ("x-be2hex", "str(0123),be2hex(:,2)", "3031:3233"),
    (
        "x-date",
        "int(784111777),http_date",
        "Sun, 06 Nov 1994 08:49:37 GMT",
    ),
    ("x-path", "path,field(3,/),upper", "B"),
    ("x-hdr-len", "req.hdr(x-in),length", "5"),
    ("x-iif", "req.hdr(x-in),length,even,iif(even,odd)", "odd"),
    ("x-env", "env(CONVERTER_TEST_VALUE),lower", "from-env"),
];

#[tokio::test]
async fn converter_chains_write_haproxy_values() {
    let origin = Origin::start("o").await;
    let port = free_port();
    let mut config = format!("{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n");
    for (name, expr, _) in HEADERS {
        config.push_str(&format!(
            "    http-response set-header {name} \"%[{expr}]\"\n"
        ));
    }
    config.push_str(&format!(
        "    default_backend be\nbackend be\n    server o {}\n",
        origin.addr
    ));
    let _gw = Gateway::start_with_env(
        &config,
        format!("127.0.0.1:{port}").parse().unwrap(),
        &[("CONVERTER_TEST_VALUE", "FROM-ENV")],
    );
    let r = get(
        &client(),
        &format!("http://127.0.0.1:{port}/a/b/c"),
        &[("x-in", "hello")],
    )
    .await
    .unwrap();
    for (name, expr, want) in HEADERS {
        assert_eq!(r.header(name), Some(*want), "{name}: %[{expr}]");
    }
}

#[tokio::test]
async fn acls_match_a_chain_by_the_type_it_returns() {
    let origin = Origin::start("o").await;
    let port = free_port();
    // `mul(2)` returns an integer: `gt 10` is an integer match, as in
    // HAProxy; `sha1,hex` a string.
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    \
         http-request deny deny_status 403 if {{ req.hdr(x-n),mul(2) gt 10 }}\n    \
         http-request deny deny_status 409 if {{ req.hdr(x-k),sha1,hex 356A192B7913B04C54574D18C28D46E6395428AB }}\n    \
         default_backend be\nbackend be\n    server o {}\n",
        origin.addr
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let c = client();
    let url = format!("http://127.0.0.1:{port}/");
    assert_eq!(get(&c, &url, &[("x-n", "5")]).await.unwrap().status, 200);
    assert_eq!(get(&c, &url, &[("x-n", "6")]).await.unwrap().status, 403);
    assert_eq!(get(&c, &url, &[("x-k", "1")]).await.unwrap().status, 409);
    assert_eq!(get(&c, &url, &[("x-k", "2")]).await.unwrap().status, 200);
}

fn check(frontend_line: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.cfg");
    std::fs::write(
        &path,
        format!(
            "{DEFAULTS}frontend fe\n    bind 127.0.0.1:8080\n    {frontend_line}\n    default_backend be\nbackend be\n    server s 127.0.0.1:9000\n"
        ),
    )
    .unwrap();
    let out = run(&["-c", "-f", path.to_str().unwrap()]);
    (out.status.success(), stderr(&out))
}

#[test]
fn chains_whose_types_do_not_fit_are_refused_with_haproxy_message() {
    let (ok, err) = check("http-request set-header x %[bool(true),ipmask(24)]");
    assert!(!ok);
    assert!(
        err.contains("converter 'ipmask' cannot be applied"),
        "{err}"
    );
    let (ok, err) = check("http-request set-header x %[method,add(1)]");
    assert!(!ok);
    assert!(err.contains("converter 'add' cannot be applied"), "{err}");
    let (ok, err) = check("http-request set-header x %[str(a),sha2(100)]");
    assert!(!ok);
    assert!(err.contains("invalid args in converter 'sha2'"), "{err}");
    let (ok, err) = check("http-request set-header x %[str(a),debug]");
    assert!(!ok);
    assert!(err.contains("not supported by switchyard yet"), "{err}");
    let (ok, err) = check("http-request set-header x %[int(1),add(2),base64,b64dec,hex]");
    assert!(ok, "{err}");
}

#[tokio::test]
async fn converter_arguments_read_variables_when_they_run() {
    let origin = Origin::start("o").await;
    let port = free_port();
    // converter/hmac.vtc's key and input; add_item.vtc's items.
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    \
         http-request set-var(txn.key) str(a2V5)\n    \
         http-request set-var(txn.n) req.hdr(x-n)\n    \
         http-request set-var(txn.var) str(var_content)\n    \
         http-request set-var(txn.in) req.hdr(x-in)\n    \
         http-response set-header x-hmac \"%[str(1),hmac(sha1,txn.key),hex,lower]\"\n    \
         http-response set-header x-add \"%[int(40),add(txn.n)]\"\n    \
         http-response set-header x-item \"%[var(txn.in),add_item(-,txn.var,_suff_)]\"\n    \
         default_backend be\nbackend be\n    server o {}\n",
        origin.addr
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let r = get(
        &client(),
        &format!("http://127.0.0.1:{port}/"),
        &[("x-n", "2"), ("x-in", "input_string")],
    )
    .await
    .unwrap();
    assert_eq!(
        r.header("x-hmac"),
        Some("e23feb105f9622241bf23db1638cd2b4208b1f53")
    );
    assert_eq!(r.header("x-add"), Some("42"));
    assert_eq!(r.header("x-item"), Some("input_string-var_content_suff_"));
}

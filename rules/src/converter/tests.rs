//! Converters against reference computations: hashes against known
//! vectors (HAProxy's reg-tests' expected values), `regsub` against the
//! `regex` crate, `field`/`word` against a naive split; no panic on any
//! input.

use std::collections::HashMap;

use proptest::prelude::*;

use super::args::tests::TableVars;
use super::*;

fn conv(name: &str, args: &[&str]) -> Converter {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    Converter::parse(name, &args).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text(v: Option<Value<'_>>) -> String {
    v.map(|v| v.to_text()).unwrap_or_else(|| "<none>".into())
}

fn run(chain: &[Converter], input: Value<'static>) -> Option<Value<'static>> {
    chain.iter().try_fold(input, |v, c| c.apply(v))
}

/// The bytes 0 to 255, the input of HAProxy's sample_fetches/hashes.vtc.
fn all_bytes() -> Value<'static> {
    Value::Bin((0..=255u8).collect::<Vec<_>>().into())
}

#[test]
fn hashes_match_haproxy_vectors() {
    let cases = [
        ("crc32", vec![], "688229491"),
        ("crc32", vec!["1"], "4230317029"),
        ("crc32c", vec![], "2621708363"),
        ("crc32c", vec!["1"], "2242979626"),
        ("djb2", vec![], "2589693061"),
        ("djb2", vec!["1"], "600622701"),
        ("sdbm", vec![], "905707648"),
        ("sdbm", vec!["1"], "3103804144"),
        ("wt6", vec![], "4090277559"),
        ("wt6", vec!["1"], "1192658767"),
        ("xxh3", vec![], "-7779787747613135503"),
        ("xxh3", vec!["1"], "5930632130106562027"),
        ("xxh32", vec![], "1497633363"),
        ("xxh32", vec!["1"], "1070421674"),
        ("xxh64", vec![], "2282408585429094475"),
        ("xxh64", vec!["1"], "-4689339368900765961"),
    ];
    for (name, args, want) in cases {
        assert_eq!(
            text(conv(name, &args).apply(all_bytes())),
            want,
            "{name}({args:?})"
        );
    }
    let sha1 = [conv("sha1", &[]), conv("hex", &[])];
    assert_eq!(
        text(run(&sha1, all_bytes())),
        "4916D6BDB7F78E6803698CAB32D1586EA457DFC8"
    );
    assert_eq!(text(conv("length", &[]).apply(Value::Str("".into()))), "0");
    assert_eq!(
        text(run(
            &[conv("bytes", &["1"]), conv("length", &[])],
            all_bytes()
        )),
        "255"
    );
}

#[test]
fn digests_and_hmacs_match_haproxy_vectors() {
    let hex = |c: Converter, input: &str| {
        text(run(
            &[c, conv("hex", &[]), conv("lower", &[])],
            Value::Str(input.to_owned().into()),
        ))
    };
    assert_eq!(
        hex(conv("digest", &["sha1"]), "1"),
        "356a192b7913b04c54574d18c28d46e6395428ab"
    );
    assert_eq!(
        hex(conv("sha2", &["224"]), "1"),
        "e25388fde8290dc286a6164fa2d97e551b53498dcbf7bc378eb1f178"
    );
    assert_eq!(
        hex(conv("digest", &["sha256"]), "2"),
        "d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35"
    );
    // converter/hmac.vtc: key "a2V5" is base64 for "key"; input "1".
    assert_eq!(
        hex(conv("hmac", &["sha1", "a2V5"]), "1"),
        "e23feb105f9622241bf23db1638cd2b4208b1f53"
    );
    assert_eq!(
        hex(conv("hmac", &["sha256", "a2V5"]), "1"),
        "6da91fb91517be1f5cdcf3af91d7d40c717dd638a306157606fb2e584f7ae926"
    );
    assert!(Converter::parse("digest", &["sha3".into()]).is_err());
    assert!(Converter::parse("sha2", &["100".into()]).is_err());
}

#[test]
fn encodings_round_trip_and_match_haproxy() {
    let s = |t: &str| Value::Str(t.to_owned().into());
    assert_eq!(
        text(run(
            &[conv("ub64enc", &[])],
            Value::Bin(vec![0x14, 0xfb, 0x9c, 0x03, 0xd9, 0x7f, 0x12, 0xd9, 0x7e].into())
        )),
        "FPucA9l_Etl-"
    );
    assert_eq!(
        text(run(
            &[conv("ub64dec", &[]), conv("hex", &[]), conv("lower", &[])],
            s("FPucA9l_Etl-")
        )),
        "14fb9c03d97f12d97e"
    );
    assert_eq!(
        text(run(&[conv("base64", &[]), conv("b64dec", &[])], s("hello"))),
        "hello"
    );
    assert_eq!(text(conv("b64dec", &[]).apply(s("!!"))), "<none>");
    assert_eq!(text(conv("hex2i", &[]).apply(s("ff"))), "255");
    assert_eq!(text(conv("hex2i", &[]).apply(s("fg"))), "<none>");
    let digits = s("0123456789");
    assert_eq!(
        text(conv("be2dec", &[":", "1"]).apply(digits.clone())),
        "48:49:50:51:52:53:54:55:56:57"
    );
    assert_eq!(
        text(conv("be2dec", &["-", "3"]).apply(digits.clone())),
        "3158322-3355701-3553080-57"
    );
    assert_eq!(
        text(conv("be2dec", &["::", "3", "1"]).apply(digits.clone())),
        "3158322::3355701::3553080"
    );
    assert_eq!(
        text(conv("be2hex", &[]).apply(digits.clone())),
        "30313233343536373839"
    );
    assert_eq!(
        text(conv("be2hex", &["--", "3"]).apply(digits.clone())),
        "303132--333435--363738--39"
    );
    assert_eq!(
        text(conv("be2hex", &[".", "3", "1"]).apply(digits)),
        "303132.333435.363738"
    );
    assert_eq!(
        text(conv("url_enc", &[]).apply(s("foo=bar+42 42 "))),
        "foo%3Dbar%2B42%2042%20"
    );
    let url = s("/bla+%20?foo%3Dbar%2B42+42%20");
    assert_eq!(
        text(conv("url_dec", &[]).apply(url.clone())),
        "/bla+ ?foo=bar+42 42 "
    );
    assert_eq!(
        text(conv("url_dec", &["1"]).apply(url)),
        "/bla  ?foo=bar+42 42 "
    );
    assert_eq!(text(conv("url_dec", &[]).apply(s("%zz"))), "<none>");
    assert_eq!(text(conv("json", &[]).apply(s("foo 1/2"))), "foo 1\\/2");
    assert_eq!(
        text(conv("json", &["utf8"]).apply(s("é\"\n"))),
        "\\u00e9\\\"\\n"
    );
}

#[test]
fn arithmetic_saturates_like_haproxy() {
    let n = |v: i64| Value::Int(v);
    assert_eq!(conv("add", &["1"]).apply(n(i64::MAX)), Some(n(i64::MAX)));
    assert_eq!(conv("sub", &["3"]).apply(n(1)), Some(n(-2)));
    assert_eq!(conv("mul", &["-2"]).apply(n(i64::MAX)), Some(n(i64::MIN)));
    assert_eq!(conv("div", &["0"]).apply(n(5)), Some(n(i64::MAX)));
    assert_eq!(conv("div", &["-1"]).apply(n(i64::MIN)), Some(n(i64::MAX)));
    assert_eq!(conv("mod", &["0"]).apply(n(5)), Some(n(0)));
    assert_eq!(
        conv("mod", &["3"]).apply(Value::Str("10".into())),
        Some(n(1))
    );
    assert_eq!(conv("neg", &[]).apply(n(4)), Some(n(-4)));
    assert_eq!(conv("cpl", &[]).apply(n(0)), Some(n(-1)));
    assert_eq!(conv("and", &["6"]).apply(n(3)), Some(n(2)));
    assert_eq!(conv("or", &["4"]).apply(n(3)), Some(n(7)));
    assert_eq!(conv("xor", &["1"]).apply(n(3)), Some(n(2)));
    assert_eq!(conv("even", &[]).apply(n(3)), Some(Value::Bool(false)));
    assert_eq!(conv("odd", &[]).apply(n(3)), Some(Value::Bool(true)));
    assert_eq!(conv("not", &[]).apply(n(0)), Some(Value::Bool(true)));
    assert_eq!(conv("bool", &[]).apply(n(0)), Some(Value::Bool(false)));
    assert!(Converter::parse("add", &[]).is_err());
    assert!(Converter::parse("add", &["x".into()]).is_err());
    assert!(Converter::parse("neg", &["1".into()]).is_err());
}

#[test]
fn variable_arguments_are_read_when_the_converter_runs() {
    let vars = TableVars(HashMap::from([
        ("txn.n", Value::Int(5)),
        ("txn.var", Value::Str("var_content".into())),
        ("sess.f", Value::Str("f5".into())),
        ("txn.key", Value::Str("a2V5".into())),
    ]));
    let add = conv("add", &["txn.n"]);
    assert_eq!(add.variables(), ["txn.n"]);
    assert_eq!(add.apply_in(Value::Int(1), &vars), Some(Value::Int(6)));
    assert_eq!(
        conv("add", &["txn.none"]).apply_in(Value::Int(1), &vars),
        None
    );
    let s = |t: &str| Value::Str(t.to_owned().into());
    let item = |args: &[&str], input: &str| text(conv("add_item", args).apply_in(s(input), &vars));
    assert_eq!(item(&[",", "txn.var", "_suff_"], ""), "var_content_suff_");
    assert_eq!(
        item(&[",", "txn.var"], "input_string"),
        "input_string,var_content"
    );
    assert_eq!(
        item(&[",", "", "_suff_"], "input_string"),
        "input_string,_suff_"
    );
    assert_eq!(
        text(conv("strcmp", &["sess.f"]).apply_in(s("f5"), &vars)),
        "0"
    );
    assert_ne!(
        text(conv("strcmp", &["sess.f"]).apply_in(s("f6"), &vars)),
        "0"
    );
    assert_eq!(
        text(conv("concat", &["_", "sess.f", "!"]).apply_in(s("x"), &vars)),
        "_xf5!"
    );
    let hmac = [
        conv("hmac", &["sha1", "txn.key"]),
        conv("hex", &[]),
        conv("lower", &[]),
    ];
    assert_eq!(
        text(hmac.iter().try_fold(s("1"), |v, c| c.apply_in(v, &vars))),
        "e23feb105f9622241bf23db1638cd2b4208b1f53"
    );
    let secure = conv("secure_memcmp", &["txn.var"]);
    assert_eq!(
        secure.apply_in(s("var_content"), &vars),
        Some(Value::Bool(true))
    );
    assert_eq!(
        secure.apply_in(s("var_contenx"), &vars),
        Some(Value::Bool(false))
    );
}

#[test]
fn strings_and_addresses() {
    let s = |t: &str| Value::Str(t.to_owned().into());
    assert_eq!(text(conv("field", &["3", "/"]).apply(s("/a/b/c"))), "b");
    assert_eq!(
        text(conv("field", &["2", "_", "0"]).apply(s("f1_f2_f3__f5"))),
        "f2_f3__f5"
    );
    assert_eq!(
        text(conv("field", &["2", "_", "2"]).apply(s("f1_f2_f3__f5"))),
        "f2_f3"
    );
    assert_eq!(
        text(conv("field", &["-2", "_", "3"]).apply(s("f1_f2_f3__f5"))),
        "f2_f3_"
    );
    assert_eq!(
        text(conv("field", &["-3", "_", "0"]).apply(s("f1_f2_f3__f5"))),
        "f1_f2_f3"
    );
    assert_eq!(text(conv("field", &["9", "_"]).apply(s("a_b"))), "<none>");
    assert_eq!(text(conv("word", &["2", "_"]).apply(s("__a__b__c"))), "b");
    assert_eq!(text(conv("word", &["-1", "_"]).apply(s("a__b__"))), "b");
    assert_eq!(
        text(conv("word", &["1", "_", "0"]).apply(s("_a__b"))),
        "a__b"
    );
    assert_eq!(
        text(conv("regsub", &["a(b)", "<\\1>", "g"]).apply(s("abcab"))),
        "<b>c<b>"
    );
    assert_eq!(text(conv("regsub", &["A", "x", "i"]).apply(s("aa"))), "xa");
    assert!(Converter::parse("regsub", &["(".into(), "".into()]).is_err());
    assert_eq!(text(conv("ltrim", &["/ "]).apply(s(" /a/"))), "a/");
    assert_eq!(text(conv("rtrim", &["/"]).apply(s("/a//"))), "/a");
    assert_eq!(text(conv("iif", &["ok", "ko"]).apply(Value::Int(2))), "ok");
    assert_eq!(text(conv("iif", &["ok", "ko"]).apply(Value::Int(0))), "ko");
    assert_eq!(text(conv("host_only", &[]).apply(s("[::1]:8080"))), "[::1]");
    assert_eq!(
        text(conv("port_only", &[]).apply(s("example.com:8080"))),
        "8080"
    );
    assert_eq!(text(conv("port_only", &[]).apply(s("example.com"))), "0");
    let ip = |t: &str| Value::Ip(t.parse().unwrap());
    assert_eq!(
        text(conv("ipmask", &["24"]).apply(ip("192.168.1.77"))),
        "192.168.1.0"
    );
    assert_eq!(
        text(conv("ipmask", &["255.255.0.0"]).apply(s("10.1.2.3"))),
        "10.1.0.0"
    );
    assert_eq!(
        text(conv("ipmask", &["24"]).apply(ip("2001:db8::1"))),
        "<none>"
    );
    assert_eq!(
        text(conv("ipmask", &["24", "32"]).apply(ip("2001:db8::1"))),
        "2001:db8::"
    );
    assert_eq!(
        text(conv("http_date", &[]).apply(Value::Int(784111777))),
        "Sun, 06 Nov 1994 08:49:37 GMT"
    );
    assert_eq!(
        text(conv("http_date", &["0", "ms"]).apply(Value::Int(784111777000))),
        "Sun, 06 Nov 1994 08:49:37 GMT"
    );
    assert_eq!(
        text(conv("utime", &["%Y-%m-%d %H:%M:%S %a %b %j"]).apply(Value::Int(951825600))),
        "2000-02-29 12:00:00 Tue Feb 060"
    );
    assert!(Converter::parse("utime", &["%Q".into()]).is_err());
    let q = |path: &str, doc: &str| text(conv("json_query", &[path]).apply(s(doc)));
    assert_eq!(
        q("$.iss", r#"{"iss":"kubernetes.io/serviceaccount"}"#),
        "kubernetes.io/serviceaccount"
    );
    assert_eq!(q("$.double", r#"{"double":4.5}"#), "4.5");
    assert_eq!(q("$.t", r#"{"t":true}"#), "1");
    assert_eq!(q("$.my\\.key", r#"{"my.key":"v"}"#), "v");
    assert_eq!(q("$.a[1]", r#"{"a":[1,2]}"#), "2");
    assert_eq!(q("$.a", "not json"), "<none>");
    assert_eq!(
        text(run(
            &[
                conv("json_query", &["$.integer", "int"]),
                conv("add", &["1"])
            ],
            s(r#"{"integer":-4}"#)
        )),
        "-3"
    );
}

#[test]
fn refused_converters_say_why() {
    for name in [
        "debug",
        "aes_gcm_dec",
        "protobuf",
        "ungrpc",
        "ltime",
        "mqtt_field_value",
        "fix_tag_value",
    ] {
        let e = Converter::parse(name, &[]).unwrap_err();
        assert!(
            e.to_string().contains("not supported by switchyard yet"),
            "{e}"
        );
    }
    assert_eq!(
        Converter::parse("nope", &[]).unwrap_err(),
        ConverterError::Unknown("nope".into())
    );
}

fn naive_fields(text: &str, delim: char) -> Vec<&str> {
    text.split(delim).collect()
}

fn naive_words(text: &str, delim: char) -> Vec<&str> {
    text.split(delim).filter(|w| !w.is_empty()).collect()
}

proptest! {
    #[test]
    fn field_and_word_agree_with_a_naive_split(text in "[ab_]{0,12}", index in 1i64..6) {
        let s = Value::Str(text.clone().into());
        let field = conv("field", &[&index.to_string(), "_"]).apply(s.clone()).map(|v| v.to_text());
        prop_assert_eq!(field, naive_fields(&text, '_').get(index as usize - 1).map(|f| f.to_string()));
        let from_end = conv("field", &[&(-index).to_string(), "_"]).apply(s.clone()).map(|v| v.to_text());
        let fields = naive_fields(&text, '_');
        let want = fields.len().checked_sub(index as usize).map(|i| fields[i].to_string());
        prop_assert_eq!(from_end, want);
        let word = conv("word", &[&index.to_string(), "_"]).apply(s).map(|v| v.to_text());
        prop_assert_eq!(word, naive_words(&text, '_').get(index as usize - 1).map(|w| w.to_string()));
    }

    #[test]
    fn regsub_agrees_with_the_regex_crate(text in "[abc]{0,12}", global in any::<bool>()) {
        let re = regex::Regex::new("a(b*)").unwrap();
        let want = if global { re.replace_all(&text, "<${1}>") } else { re.replace(&text, "<${1}>") };
        let flags = if global { "g" } else { "" };
        let got = conv("regsub", &["a(b*)", "<\\1>", flags]).apply(Value::Str(text.clone().into()));
        prop_assert_eq!(got.map(|v| v.to_text()), Some(want.into_owned()));
    }

    #[test]
    fn no_chain_panics(
        input in proptest::collection::vec(any::<u8>(), 0..40),
        n in any::<i64>(),
        picks in proptest::collection::vec(0usize..CHAIN_CONVERTERS.len(), 1..5),
    ) {
        let chain: Vec<Converter> = picks
            .iter()
            .map(|i| {
                let (name, args) = CHAIN_CONVERTERS[*i];
                conv(name, args)
            })
            .collect();
        for start in [
            Value::Bin(input.clone().into()),
            Value::Str(String::from_utf8_lossy(&input).into_owned().into()),
            Value::Int(n),
        ] {
            let _ = run(&chain, start);
        }
    }
}

/// Converters with arguments for the random chains.
const CHAIN_CONVERTERS: &[(&str, &[&str])] = &[
    ("add", &["9223372036854775807"]),
    ("sub", &["-9223372036854775808"]),
    ("mul", &["-3"]),
    ("div", &["-1"]),
    ("mod", &["0"]),
    ("neg", &[]),
    ("cpl", &[]),
    ("not", &[]),
    ("even", &[]),
    ("base64", &[]),
    ("b64dec", &[]),
    ("ub64enc", &[]),
    ("ub64dec", &[]),
    ("hex", &[]),
    ("hex2i", &[]),
    ("bytes", &["3", "100"]),
    ("url_dec", &[]),
    ("url_enc", &[]),
    ("be2dec", &[",", "8", "1"]),
    ("be2hex", &[":", "3"]),
    ("djb2", &["1"]),
    ("wt6", &[]),
    ("crc32c", &[]),
    ("xxh3", &["-1"]),
    ("sha1", &[]),
    ("hmac", &["sha256", "a2V5"]),
    ("length", &[]),
    ("ltrim", &["a"]),
    ("field", &["-2", ",", "0"]),
    ("word", &["2", ":"]),
    ("regsub", &["(.)", "\\1\\1", "g"]),
    ("lower", &[]),
    ("json", &["utf8"]),
    ("json_query", &["$.a[0]"]),
    ("ipmask", &["8", "16"]),
    ("http_date", &["-1", "ms"]),
    ("utime", &["%Y %j %s"]),
    ("iif", &["y", "n"]),
    ("host_only", &[]),
    ("port_only", &[]),
];

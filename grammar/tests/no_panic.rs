//! The parser never panics, whatever it is given: arbitrary text, and
//! text assembled from the language's own words, quotes and punctuation
//! (which reaches far deeper than random bytes do).

mod common;

use proptest::prelude::*;

const PIECES: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "userlist",
    "peers",
    "fe",
    "be",
    "from",
    "bind",
    "mode",
    "http",
    "tcp",
    "acl",
    "use_backend",
    "default_backend",
    "server",
    "default-server",
    "balance",
    "roundrobin",
    "hdr(host)",
    "uri",
    "random(3)",
    "cookie",
    "insert",
    "prefix",
    "indirect",
    "option",
    "no",
    "forwardfor",
    "except",
    "httpchk",
    "timeout",
    "client",
    "connect",
    "server",
    "retries",
    "stats",
    "uri",
    "auth",
    "a:b",
    "admin",
    "if",
    "unless",
    "!",
    "||",
    "or",
    "{",
    "}",
    "-i",
    "-m",
    "-f",
    "--",
    "beg",
    "path_beg",
    "req.hdr(host),lower,map(x,y)",
    "%[src]",
    "%[",
    "http-request",
    "http-response",
    "deny",
    "redirect",
    "scheme",
    "location",
    "code",
    "301",
    "set-header",
    "return",
    "status",
    "content-type",
    "string",
    "errorfile",
    "503",
    "log",
    "global",
    "127.0.0.1",
    "local2",
    "info",
    "127.0.0.1:80",
    "[::1]:80-90",
    ":80",
    "*:",
    "unix@/x",
    "fd@3",
    "ipv4@::1",
    "ssl",
    "crt",
    "alpn",
    "check",
    "inter",
    "3s",
    "10x",
    "fall",
    "rise",
    "weight",
    "300",
    "-1",
    "0",
    "nbproc",
    "cpu-map",
    "1/all",
    "0-1",
    "auto:1-2",
    "setenv",
    "unsetenv",
    ".if",
    ".elif",
    ".else",
    ".endif",
    ".alert",
    ".warning",
    "defined(X)",
    "streq(a,b)",
    "\"",
    "'",
    "\\",
    "\\x4",
    "#",
    "${",
    "${X-d}",
    "\"${X}\"",
    " ",
    "  ",
    "\t",
    "\n",
    "\n",
    "\n",
    "\r\n",
    "é",
    "\u{0}",
];

fn assembled() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..120).prop_map(|words| {
        let mut text = String::new();
        for (i, w) in words.iter().enumerate() {
            text.push_str(w);
            if i % 3 != 2 {
                text.push(' ');
            }
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn assembled_configs_never_panic(text in assembled()) {
        let loaded = common::load_text(&text);
        // Rendering every diagnostic must not panic either (spans inside lines).
        let _ = loaded.diagnostics.render(&loaded.sources);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let loaded = common::load_text(&text);
        let _ = loaded.diagnostics.render(&loaded.sources);
    }
}

//! `switchyard -c` as operators use it: on the tutorial's configurations,
//! on directories, and with HAProxy's exit codes and messages.

use switchyard_e2e::{run, stderr, stdout, workspace_root};

#[test]
fn the_tutorial_configuration_as_fixed_is_valid() {
    let seed = workspace_root().join("fixtures/seed/seed-fixed.cfg");
    let out = run(&["-c", "-f", seed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Configuration file is valid\n");
}

#[test]
fn the_tutorial_configuration_as_written_has_exactly_one_error() {
    let seed = workspace_root().join("fixtures/seed/seed-as-written.cfg");
    let out = run(&["-c", "-f", seed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.matches(": error: ").count(), 1, "{err}");
    assert!(
        err.contains("seed-as-written.cfg:39:10: error: unknown proxy mode 'forwardfor'"),
        "{err}"
    );
    assert!(err.contains("'mode http' and 'option forwardfor'"), "{err}");
    assert!(
        err.contains("seed-as-written.cfg:11:5: warning: 'nbproc' is ignored"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn quiet_check_prints_nothing_when_valid() {
    let seed = workspace_root().join("fixtures/seed/seed-fixed.cfg");
    let out = run(&["-c", "-q", "-f", seed.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(
        stdout(&out).is_empty() && stderr(&out).is_empty(),
        "{}",
        stderr(&out)
    );
}

#[test]
fn quiet_in_global_is_dash_q_written_in_the_file() {
    // HAProxy 2.6.12 prints nothing for this file with `-c` (its missing
    // timeouts warn without `quiet`); an error is still printed.
    let dir = tempfile::tempdir().unwrap();
    let body = "defaults\n    mode http\nfrontend fe\n    bind 127.0.0.1:8080\n    default_backend be\nbackend be\n    server s 127.0.0.1:9000\n";
    let quiet = dir.path().join("quiet.cfg");
    std::fs::write(&quiet, format!("global\n    quiet\n{body}")).unwrap();
    let out = run(&["-c", "-f", quiet.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).is_empty() && stderr(&out).is_empty(),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let loud = dir.path().join("loud.cfg");
    std::fs::write(&loud, format!("global\n{body}")).unwrap();
    let out = run(&["-c", "-f", loud.to_str().unwrap()]);
    assert!(stdout(&out).contains("Configuration file is valid"));
    let broken = dir.path().join("broken.cfg");
    std::fs::write(
        &broken,
        format!("global\n    quiet\n{body}    bogus-keyword\n"),
    )
    .unwrap();
    let out = run(&["-c", "-f", broken.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("bogus-keyword"), "{}", stderr(&out));
}

#[test]
fn a_directory_loads_its_cfg_files_in_lexical_order() {
    let dir = tempfile::tempdir().unwrap();
    // 20-backend.cfg must be read after 10-frontend.cfg's defaults.
    std::fs::write(dir.path().join("10-defaults.cfg"), "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n").unwrap();
    std::fs::write(dir.path().join("20-app.cfg"), "frontend fe\n    bind 127.0.0.1:8080\n    default_backend be\nbackend be\n    server s 127.0.0.1:9000\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a config\n").unwrap();
    let out = run(&["-c", "-f", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).is_empty(),
        "no missing-timeout warning: {}",
        stderr(&out)
    );
}

#[test]
fn several_files_in_one_check_report_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.cfg");
    let b = dir.path().join("b.cfg");
    std::fs::write(&a, "frontend fe\n    bnid 127.0.0.1:80\n").unwrap();
    std::fs::write(&b, "backend be\n    balance roundrobbin\n").unwrap();
    let out = run(&["-c", "-f", a.to_str().unwrap(), "-f", b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("a.cfg:2:5: error: unknown keyword 'bnid'"),
        "{err}"
    );
    assert!(err.contains("did you mean 'bind'?"), "{err}");
    assert!(
        err.contains("b.cfg:2:13: error: unknown balance algorithm 'roundrobbin'"),
        "{err}"
    );
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = run(&["-c", "-f", "/nonexistent/haproxy.cfg"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot open configuration file /nonexistent/haproxy.cfg"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fetching_listeners_from_a_missing_socket_is_a_clear_error() {
    let out = run(&["-x", "/nonexistent/old.sock", "-f", "fixtures/demo.cfg"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("-x /nonexistent/old.sock: cannot connect to the old process's stats socket"),
        "{err}"
    );
}

#[test]
fn dash_l_names_the_local_peer_for_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("peer.cfg");
    std::fs::write(
        &cfg,
        ".if streq(\"$HAPROXY_LOCALPEER\",gw-a)\n.notice \"local peer is gw-a\"\n.else\n.alert \"local peer is not gw-a\"\n.endif\n",
    )
    .unwrap();
    let out = run(&["-c", "-L", "gw-a", "-f", cfg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("local peer is gw-a"),
        "{}",
        stderr(&out)
    );
    let out = run(&["-c", "-L", "gw-b", "-f", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("local peer is not gw-a"),
        "{}",
        stderr(&out)
    );
}

/// An `http-check expect rstring` that does not compile is a configuration
/// error at `-c`, as in HAProxy, not a check that silently never passes.
#[test]
fn an_invalid_health_check_regex_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.cfg");
    std::fs::write(&cfg, "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nbackend be\n    option httpchk\n    http-check expect rstring ^(ok\n    server s 127.0.0.1:9000 check\n").unwrap();
    let out = run(&["-c", "-f", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("bad.cfg:8:31: error: invalid regex '^(ok'"),
        "{err}"
    );
    // Every rule of a sequence is checked: a header name's regex, a
    // status regex, a log-format's fetch, each at its place.
    std::fs::write(&cfg, "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nbackend be\n    option httpchk\n    http-check expect hdr name -m reg \"ab(c\"\n    http-check expect rstatus \"^2(0\"\n    http-check send uri-lf \"%[nope]\"\n    server s 127.0.0.1:9000 check\n").unwrap();
    let out = run(&["-c", "-f", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    for place in [
        "bad.cfg:8:39: error: invalid regex 'ab(c'",
        "bad.cfg:9:31: error: invalid regex '^2(0'",
        "bad.cfg:10:",
    ] {
        assert!(err.contains(place), "{place} in {err}");
    }
}

/// A `server` on a unix socket (`unix@PATH`, `/PATH`, `abns@NAME`) serves
/// HTTP and TCP (`unix_sockets.rs`); with `ssl` or with `check` it is not
/// built, nor a unix `bind` in TCP mode: `-c` warns at its place and starting refuses it with the
/// reason, instead of `-c` passing and the start failing.
#[test]
fn a_server_on_a_unix_socket_is_refused_where_not_built() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ux.cfg");
    std::fs::write(
        &cfg,
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n\
         frontend fe\n    bind 127.0.0.1:1\n    default_backend be\n\
         backend be\n    server s1 unix@/run/origin.sock check\n    server s2 /run/origin.sock\n    server s3 abns@origin\n\
         listen tcp\n    mode tcp\n    bind /run/tcp.sock\n    server s4 /run/origin.sock\n",
    )
    .unwrap();
    let path = cfg.to_str().unwrap();
    let check = stderr(&run(&["-c", "-f", path]));
    for (line, what) in [
        (10, "health checks ('check') of a server on a unix socket"),
        (15, "a 'bind' on a unix socket in TCP mode"),
    ] {
        assert!(
            check.contains(&format!("ux.cfg:{line}:"))
                && check.contains(&format!(
                    "warning: {what} is not built into the gateway yet"
                )),
            "{check}"
        );
    }
    assert_eq!(check.matches("warning:").count(), 2, "{check}");
    let start = run(&["-f", path]);
    assert!(!start.status.success());
    assert!(
        stderr(&start).contains("a 'bind' on a unix socket in TCP mode is not built"),
        "{}",
        stderr(&start)
    );
}

/// `max-spread-checks`, `spread-checks` and `unix-bind` are accepted (their
/// effects are tested in `upstream/check/schedule.rs` and
/// `unix_sockets.rs`); a `unix-bind` setting HAProxy does not have is an
/// error that lists the ones it has.
#[test]
fn check_spreading_and_unix_bind_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let body = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n\
                frontend fe\n    bind 127.0.0.1:8080\n    default_backend be\nbackend be\n    server s 127.0.0.1:9000 check\n";
    let good = dir.path().join("good.cfg");
    std::fs::write(
        &good,
        format!("global\n    max-spread-checks 500\n    spread-checks 5\n    unix-bind prefix /tmp/ mode 770 user root group root\n{body}"),
    )
    .unwrap();
    let out = run(&["-c", "-f", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bad = dir.path().join("bad.cfg");
    std::fs::write(&bad, format!("global\n    unix-bind owner root\n{body}")).unwrap();
    let out = run(&["-c", "-f", bad.to_str().unwrap()]);
    let err = stderr(&out);
    assert!(
        err.contains("bad.cfg:2:15: error: unknown 'unix-bind' setting 'owner'"),
        "{err}"
    );
    assert!(
        err.contains("prefix, mode, user, uid, group and gid"),
        "{err}"
    );
}

/// `zero-warning` refuses a configuration that only warns, with HAProxy
/// 2.6's message after the warnings (`-q` or not); without it the same
/// file is valid.
#[test]
fn zero_warning_makes_a_warning_fatal() {
    let dir = tempfile::tempdir().unwrap();
    // No timeouts: HAProxy and Switchyard warn about the backend.
    let body = "defaults\n    mode http\nfrontend fe\n    bind 127.0.0.1:8080\n    default_backend be\nbackend be\n    server s 127.0.0.1:9000\n";
    let plain = dir.path().join("plain.cfg");
    std::fs::write(&plain, body).unwrap();
    let out = run(&["-c", "-f", plain.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("missing timeouts"),
        "{}",
        stderr(&out)
    );
    let strict = dir.path().join("strict.cfg");
    std::fs::write(&strict, format!("global\n    zero-warning\n{body}")).unwrap();
    for args in [&["-c"][..], &["-c", "-q"]] {
        let mut args = args.to_vec();
        args.extend(["-f", strict.to_str().unwrap()]);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("missing timeouts"), "{err}");
        assert!(
            err.ends_with("Some warnings were found and 'zero-warning' is set. Aborting.\n"),
            "{err}"
        );
    }
}

/// HAProxy 2.6 has no global `debug` (it refuses the line as unknown); it
/// is not read and ignored here either.
#[test]
fn global_debug_is_refused_as_haproxy_2_6_does() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("debug.cfg");
    std::fs::write(&cfg, "global\n    debug\n").unwrap();
    let out = run(&["-c", "-f", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("error: unknown keyword 'debug' in 'global' section"),
        "{err}"
    );
    assert!(err.contains("-d"), "{err}");
}

/// `option http-no-delay` and `option splice-*` tune how HAProxy moves
/// bytes; Switchyard never delays data nor splices, so they are accepted
/// with a warning that says why (not refused, not silently ignored).
#[test]
fn no_delay_and_splice_options_are_accepted_with_a_warning_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("splice.cfg");
    std::fs::write(
        &cfg,
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n    option splice-auto\n\
         frontend fe\n    bind 127.0.0.1:8080\n    option http-no-delay\n    option splice-request\n    default_backend be\n\
         backend be\n    option splice-response\n    server s 127.0.0.1:9000\n",
    )
    .unwrap();
    let out = run(&["-c", "-f", cfg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: 'option http-no-delay' has no effect: switchyard never delays data"),
        "{err}"
    );
    for splice in ["splice-auto", "splice-request", "splice-response"] {
        assert!(
            err.contains(&format!("warning: 'option {splice}' has no effect: switchyard copies data through its own buffers")),
            "{err}"
        );
    }
}

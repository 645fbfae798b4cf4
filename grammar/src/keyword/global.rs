//! Directives of the `global` section.

use crate::ast::address::AddressUse;
use crate::ast::bind::Bind;
use crate::ast::global::{BufferLimits, CpuMap, Global, UnixBindDefaults};
use crate::ast::log::LogTarget;
use crate::ast::proxy::Spanned;
use crate::ast::tls::Side;
use crate::ast::value::{parse_time, parse_uint};
use crate::diagnostic::{Diagnostic, Diagnostics};
use std::time::Duration;

use crate::keyword::haproxy_keywords::GLOBAL_KEYWORDS;
use crate::keyword::{missing, no_extra, unknown_keyword};
use crate::reader::RawDirective;
use crate::word::Word;

pub fn apply_all(directives: &[RawDirective], global: &mut Global, diags: &mut Diagnostics) {
    for directive in directives {
        if let Err(diag) = apply(directive, global, diags) {
            diags.push(diag);
        }
    }
}

fn one<'a>(directive: &'a RawDirective, usage: &str) -> Result<&'a Word, Diagnostic> {
    let w = directive
        .args()
        .first()
        .ok_or_else(|| missing(directive, usage))?;
    no_extra(directive, 1)?;
    Ok(w)
}

fn apply(
    directive: &RawDirective,
    global: &mut Global,
    diags: &mut Diagnostics,
) -> Result<(), Diagnostic> {
    let kw = directive.keyword();
    let args = directive.args();
    let span = directive.span();
    let count = |what: &str, max: u64| -> Result<Spanned<u64>, Diagnostic> {
        Ok(Spanned::new(
            parse_uint(one(directive, "a number")?, what, max)?,
            span,
        ))
    };
    match kw.text.as_str() {
        "chroot" => global.chroot = Some(one(directive, "a directory")?.clone()),
        "daemon" => {
            no_extra(directive, 0)?;
            global.daemon = Some(span)
        }
        "master-worker" => global.master_worker = Some(span),
        "user" => global.user = Some(one(directive, "a user name")?.clone()),
        "group" => global.group = Some(one(directive, "a group name")?.clone()),
        "uid" => global.uid = Some(count("uid", u32::MAX as u64)?),
        "gid" => global.gid = Some(count("gid", u32::MAX as u64)?),
        "nbproc" => {
            global.nbproc = Some(count("nbproc", 64)?);
            diags.push(
                Diagnostic::warning(
                    kw.span,
                    "'nbproc' is ignored: threads replace processes (HAProxy 2.5 removed it)",
                )
                .with_help("remove 'nbproc' and use 'nbthread N' to run N worker threads"),
            );
        }
        "nbthread" => {
            let n = count("nbthread", 4096)?;
            if n.value == 0 {
                return Err(Diagnostic::error(kw.span, "'nbthread' must be at least 1"));
            }
            global.nbthread = Some(n);
        }
        "cpu-map" => {
            let map = parse_cpu_map(directive)?;
            if map
                .process
                .as_deref()
                .is_some_and(|p| p != "1" && p != "all" && p != "odd")
            {
                diags.push(Diagnostic::warning(kw.span, format!(
                    "'cpu-map' for process {} is ignored: there is only process 1 since threads replaced processes",
                    map.process.as_deref().unwrap_or_default())).with_help("write 'cpu-map 1/THREAD CPU' to pin a thread, e.g. 'cpu-map 1/1 0'"));
            }
            global.cpu_maps.push(map);
        }
        "maxconn" => global.maxconn = Some(count("maxconn", i32::MAX as u64)?),
        "pidfile" => global.pidfile = Some(one(directive, "a file name")?.clone()),
        "log" => global.logs.push(LogTarget::parse(kw, args)?),
        "log-send-hostname" => {
            global.log_send_hostname =
                Some(args.first().map(|w| w.text.clone()).unwrap_or_default())
        }
        "log-tag" => global.log_tag = Some(one(directive, "a tag")?.text.clone()),
        "ulimit-n" => global.ulimit_n = Some(count("ulimit-n", u32::MAX as u64)?.value),
        "spread-checks" => global.spread_checks = Some(count("spread-checks", 50)?.value),
        "max-spread-checks" => {
            global.max_spread_checks = Some(parse_time(one(directive, "a time")?)?)
        }
        "unix-bind" => global.unix_bind = parse_unix_bind(directive)?,
        "hard-stop-after" => global.hard_stop_after = Some(parse_time(one(directive, "a time")?)?),
        "node" => global.node = Some(one(directive, "a name")?.text.clone()),
        "description" => {
            global.description = Some(args.iter().map(Word::as_str).collect::<Vec<_>>().join(" "))
        }
        "ca-base" => global.ca_base = Some(one(directive, "a directory")?.clone()),
        "crt-base" => global.crt_base = Some(one(directive, "a directory")?.clone()),
        "default-path" => {
            let (kind, path) = match args {
                [k] => (k, None),
                [k, p] if k.is("origin") => (k, Some(p.clone())),
                _ => {
                    return Err(missing(
                        directive,
                        "current, config, parent or 'origin PATH'",
                    ))
                }
            };
            if !["current", "config", "parent", "origin"].contains(&kind.text.as_str())
                || (kind.is("origin") && path.is_none())
            {
                return Err(Diagnostic::error(
                    kind.span,
                    format!("invalid default-path '{}'", kind.text),
                )
                .with_help("use current, config, parent or 'origin PATH'"));
            }
            global.default_path = Some((kind.text.clone(), path));
        }
        "tune.bufsize" => {
            let n = count("tune.bufsize", BufferLimits::MAX_BUFSIZE as u64)?.value as usize;
            if n < 1024 {
                return Err(Diagnostic::error(
                    kw.span,
                    format!("'tune.bufsize {n}' is too small to hold a request"),
                )
                .with_help("use at least 1024 (HAProxy's default is 16384)"));
            }
            global.buffers.bufsize = n.div_ceil(16) * 16;
        }
        "tune.maxrewrite" => {
            global.buffers.maxrewrite =
                count("tune.maxrewrite", BufferLimits::MAX_BUFSIZE as u64)?.value as usize
        }
        "tune.idle-pool.shared" => {
            let shared = on_off(one(directive, "'on' or 'off'")?)?;
            if !shared {
                diags.push(
                    Diagnostic::warning(
                        kw.span,
                        "'tune.idle-pool.shared off' is ignored: switchyard keeps one pool of idle server connections shared by all threads",
                    )
                    .with_help("remove the line, or write 'tune.idle-pool.shared on', which is how switchyard always behaves"),
                );
            }
            global.idle_pool_shared = Some(shared);
        }
        "tune.ssl.default-dh-param" => {
            let bits = count("tune.ssl.default-dh-param", u32::MAX as u64)?.value;
            if bits < 1024 {
                return Err(Diagnostic::error(
                    kw.span,
                    format!("'tune.ssl.default-dh-param {bits}' is below the minimum"),
                )
                .with_help("use 1024 or more, e.g. 2048"));
            }
            diags.push(
                Diagnostic::warning(
                    kw.span,
                    "'tune.ssl.default-dh-param' is ignored: rustls, switchyard's TLS library, has no finite-field Diffie-Hellman (DHE) key exchange, only ECDHE, so there are no DH parameters to size",
                )
                .with_help("remove the line; ECDHE cipher suites are always offered"),
            );
            global.ssl_default_dh_param = Some(bits);
        }
        "ssl-default-bind-ciphers"
        | "ssl-default-bind-ciphersuites"
        | "ssl-default-bind-curves"
        | "ssl-default-bind-options"
        | "ssl-default-server-ciphers"
        | "ssl-default-server-ciphersuites"
        | "ssl-default-server-options" => apply_tls_default(directive, global, diags)?,
        "ssl-server-verify" => {
            let v = one(directive, "'none' or 'required'")?;
            if !v.is("none") && !v.is("required") {
                return Err(Diagnostic::error(
                    v.span,
                    format!("unknown ssl-server-verify mode '{}'", v.text),
                )
                .with_help("use 'none' or 'required'"));
            }
            global.ssl_server_verify = Some(v.clone());
        }
        "ssl-dh-param-file" => {
            one(directive, "a file")?;
            diags.push(no_effect(kw, "rustls, switchyard's TLS library, has no finite-field Diffie-Hellman (DHE) key exchange, only ECDHE, so DH parameters are never used"));
        }
        "ssl-engine" => {
            if args.is_empty() {
                return Err(missing(directive, "an engine name"));
            }
            diags.push(no_effect(kw, "switchyard's TLS is rustls with the ring provider, which has no OpenSSL engines; keys and ciphers run in software"));
        }
        "ssl-mode-async" => {
            no_extra(directive, 0)?;
            diags.push(no_effect(kw, "rustls has no asynchronous (engine-offloaded) mode; handshakes run on the worker threads"));
        }
        "tune.ssl.cachesize" => {
            global.tls_tuning.cachesize =
                Some(count("tune.ssl.cachesize", i32::MAX as u64)?.value as usize)
        }
        "tune.ssl.lifetime" => {
            let w = one(directive, "a time (seconds by default)")?;
            let t = if w.text.bytes().all(|b| b.is_ascii_digit()) {
                Duration::from_secs(parse_uint(w, "tune.ssl.lifetime", u32::MAX as u64)?)
            } else {
                parse_time(w)?
            };
            global.tls_tuning.lifetime = Some(t);
        }
        "tune.ssl.maxrecord" => {
            let n = count("tune.ssl.maxrecord", 16_384)?.value as usize;
            // 0 is HAProxy's "no limit"; rustls needs room for a header.
            if n != 0 && n < 64 {
                return Err(Diagnostic::error(
                    kw.span,
                    format!("'tune.ssl.maxrecord {n}' is too small"),
                )
                .with_help("use 0 (no limit) or at least 64, e.g. 1419"));
            }
            global.tls_tuning.maxrecord = (n != 0).then_some(n);
        }
        "quiet" => global.quiet = true,
        "zero-warning" => {
            no_extra(directive, 0)?;
            global.zero_warning = true
        }
        "strict-limits" => {
            no_extra(directive, 0)?;
            global.no_strict_limits = false
        }
        "set-dumpable" => {
            no_extra(directive, 0)?;
            global.set_dumpable = true
        }
        "no" => apply_no(directive, global)?,
        "debug" => {
            return Err(Diagnostic::error(
                kw.span,
                "unknown keyword 'debug' in 'global' section",
            )
            .with_help("HAProxy 2.6 has no global 'debug' either (it refuses the line); start with -d for the foreground and debug output"))
        }
        // Already applied in reading order by the reader; nothing more here.
        "setenv" | "presetenv" | "unsetenv" | "resetenv" => {}
        "stats" => apply_stats(directive, global)?,
        other if GLOBAL_KEYWORDS.contains(&other) => {
            return Err(Diagnostic::error(
                kw.span,
                format!("global keyword '{other}' is not supported by switchyard yet"),
            )
            .with_help("remove it, or run this configuration with HAProxy"));
        }
        _ => return Err(unknown_keyword(directive, "global", GLOBAL_KEYWORDS)),
    }
    Ok(())
}

/// `no strict-limits` and `no set-dumpable`: the keywords HAProxy lets
/// `no` turn off (strict-limits is on by default).
fn apply_no(directive: &RawDirective, global: &mut Global) -> Result<(), Diagnostic> {
    let word = one(directive, "'strict-limits' or 'set-dumpable'")?;
    match word.text.as_str() {
        "strict-limits" => global.no_strict_limits = true,
        "set-dumpable" => global.set_dumpable = false,
        other => {
            return Err(Diagnostic::error(
                word.span,
                format!("'no' cannot be put before global keyword '{other}'"),
            )
            .with_help("in 'global', 'no' only turns off 'strict-limits' and 'set-dumpable'"))
        }
    }
    Ok(())
}

/// A warning for a keyword that has no meaning with rustls.
fn no_effect(kw: &Word, why: &str) -> Diagnostic {
    Diagnostic::warning(kw.span, format!("'{}' is ignored: {why}", kw.text))
        .with_help("remove the line; it changes nothing in switchyard")
}

/// `ssl-default-{bind,server}-*`: the words are read as the same options
/// on a `bind`/`server` line would be.
fn apply_tls_default(
    directive: &RawDirective,
    global: &mut Global,
    diags: &mut Diagnostics,
) -> Result<(), Diagnostic> {
    let kw = directive.keyword();
    let args = directive.args();
    let (side, policy, what) = match kw.text.strip_prefix("ssl-default-bind-") {
        Some(what) => (Side::Bind, &mut global.bind_tls, what),
        None => (
            Side::Server,
            &mut global.server_tls,
            kw.text.trim_start_matches("ssl-default-server-"),
        ),
    };
    let mut line = crate::ast::tls::TlsPolicy::default();
    if what == "options" {
        let mut i = 0;
        while i < args.len() {
            match line.parse_option(args, i, side)? {
                Some(taken) => i += taken,
                None => {
                    return Err(Diagnostic::error(
                        args[i].span,
                        format!(
                            "'{}' is not a TLS option switchyard knows in '{}'",
                            args[i].text, kw.text
                        ),
                    )
                    .with_help("the options are ssl-min-ver, ssl-max-ver, no-sslv3, no-tlsv10, no-tlsv11, no-tlsv12, no-tlsv13, force-tlsv12, force-tlsv13, no-tls-tickets and (bind) prefer-client-ciphers"))
                }
            }
        }
    } else {
        // `ciphers`, `ciphersuites` or `curves`, as on a line.
        let value = one(directive, "a list")?;
        line.parse_option(&[Word::new(what, kw.span), value.clone()], 0, side)?;
    }
    for warning in line.warnings() {
        diags.push(warning);
    }
    *policy = line.over(policy);
    Ok(())
}

/// `unix-bind`'s settings, each a keyword and a value.
fn parse_unix_bind(directive: &RawDirective) -> Result<UnixBindDefaults, Diagnostic> {
    let args = directive.args();
    if args.is_empty() {
        return Err(missing(directive, "prefix, mode, user, uid, group or gid"));
    }
    let mut defaults = UnixBindDefaults::default();
    for pair in args.chunks(2) {
        let name = &pair[0];
        let Some(value) = pair.get(1) else {
            return Err(Diagnostic::error(
                name.span,
                format!(
                    "'unix-bind {}' expects a value (missing argument)",
                    name.text
                ),
            ));
        };
        match name.text.as_str() {
            "prefix" => defaults.prefix = Some(value.text.clone()),
            "mode" => {
                defaults.mode = Some(u32::from_str_radix(&value.text, 8).map_err(|_| {
                    Diagnostic::error(value.span, format!("invalid socket mode '{}'", value.text))
                        .with_help("write an octal mode such as 600 or 660")
                })?)
            }
            "user" | "uid" => defaults.user = Some(value.text.clone()),
            "group" | "gid" => defaults.group = Some(value.text.clone()),
            other => {
                return Err(Diagnostic::error(
                    name.span,
                    format!("unknown 'unix-bind' setting '{other}'"),
                )
                .with_help("the settings are prefix, mode, user, uid, group and gid"))
            }
        }
    }
    Ok(defaults)
}

/// `on` or `off`.
fn on_off(word: &Word) -> Result<bool, Diagnostic> {
    match word.text.as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(Diagnostic::error(
            word.span,
            format!("expected 'on' or 'off', not '{other}'"),
        )
        .with_help("write 'on' or 'off'")),
    }
}

fn apply_stats(directive: &RawDirective, global: &mut Global) -> Result<(), Diagnostic> {
    let args = directive.args();
    let Some(sub) = args.first() else {
        return Err(missing(directive, "'socket', 'timeout' or 'maxconn'"));
    };
    match sub.text.as_str() {
        "socket" => {
            global
                .stats_sockets
                .push(Bind::parse(sub, &args[1..], AddressUse::StatsSocket)?)
        }
        "timeout" => {
            let v = args
                .get(1)
                .ok_or_else(|| missing(directive, "'timeout' and a time"))?;
            no_extra(directive, 2)?;
            global.stats_timeout = Some(parse_time(v)?);
        }
        "maxconn" => {
            let v = args
                .get(1)
                .ok_or_else(|| missing(directive, "'maxconn' and a number"))?;
            no_extra(directive, 2)?;
            global.stats_maxconn = Some(parse_uint(v, "stats maxconn", i32::MAX as u64)?);
        }
        "bind-process" => {
            return Err(Diagnostic::error(
                sub.span,
                "'stats bind-process' was removed from HAProxy 2.5",
            )
            .with_help("remove the line"))
        }
        other => return Err(Diagnostic::error(
            sub.span,
            format!("unknown global 'stats {other}'"),
        )
        .with_help(
            "the global stats keywords are 'stats socket', 'stats timeout' and 'stats maxconn'",
        )),
    }
    Ok(())
}

/// `all`, `odd`, `even`, `N`, `N-M` or `N-` (up to 64).
fn parse_set(text: &str) -> Option<Vec<u32>> {
    let all: Vec<u32> = (1..=64).collect();
    Some(match text {
        "all" => all,
        "odd" => all.into_iter().filter(|n| n % 2 == 1).collect(),
        "even" => all.into_iter().filter(|n| n % 2 == 0).collect(),
        _ => match text.split_once('-') {
            Some((a, "")) => (a.parse().ok()?..=64).collect(),
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if a > b {
                    return None;
                }
                (a..=b).collect()
            }
            None => vec![text.parse().ok()?],
        },
    })
}

fn parse_cpu_map(directive: &RawDirective) -> Result<CpuMap, Diagnostic> {
    let args = directive.args();
    let Some((first, cpus)) = args.split_first().filter(|(_, c)| !c.is_empty()) else {
        return Err(missing(
            directive,
            "a thread set and a CPU set, e.g. 'cpu-map 1/all 0-1'",
        ));
    };
    let (auto, spec) = match first.text.strip_prefix("auto:") {
        Some(rest) => (true, rest),
        None => (false, first.text.as_str()),
    };
    let bad_set = |w: &Word, what: &str| {
        Diagnostic::error(w.span, format!("invalid {what} in 'cpu-map': '{}'", w.text)).with_help(
            "write all, odd, even, N or N-M; e.g. 'cpu-map 1/all 0-1' or 'cpu-map 1/1 0'",
        )
    };
    let (process, threads) = match spec.split_once('/') {
        Some((p, t)) => {
            parse_set(p).ok_or_else(|| bad_set(first, "process set"))?;
            let threads = parse_set(t).ok_or_else(|| bad_set(first, "thread set"))?;
            (
                Some(p.to_owned()),
                if t == "all" { None } else { Some(threads) },
            )
        }
        None => {
            parse_set(spec).ok_or_else(|| bad_set(first, "process set"))?;
            (Some(spec.to_owned()), None)
        }
    };
    let mut cpu_list = Vec::new();
    for w in cpus {
        let set = match w.text.split_once('-') {
            Some((a, b)) => a
                .parse::<u32>()
                .ok()
                .zip(b.parse::<u32>().ok())
                .filter(|(a, b)| a <= b)
                .map(|(a, b)| (a..=b).collect::<Vec<_>>()),
            None => w.text.parse::<u32>().ok().map(|n| vec![n]),
        };
        cpu_list.extend(set.ok_or_else(|| bad_set(w, "CPU set"))?);
    }
    Ok(CpuMap {
        auto,
        process,
        threads,
        cpus: cpu_list,
        span: directive.span(),
    })
}

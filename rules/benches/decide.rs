//! Decision time per request: N exact-host rules plus 100 path regexes,
//! indexed evaluation beside the plain linear one. The request matches the
//! last host rule, the worst case for a linear scan. Then N path-regex
//! rules (bench/run scenario 8), the request matching the last one, with
//! the time and memory compiling them takes.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use switchyard_grammar::{load, Environment, FileAccess};
use switchyard_rules::{OwnedRequest, RuleSet};

struct NoFiles;

impl FileAccess for NoFiles {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            path.to_owned(),
        ))
    }
}

/// The process's resident memory in bytes (Linux), 0 elsewhere.
fn resident() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// The CPU time (user and system) this thread has used, in the kernel's
/// ticks of 10 ms (Linux; zero elsewhere): on a loaded machine the
/// compile's wall time also counts the time other processes ran.
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| {
            let fields: Vec<&str> = s.rsplit_once(')')?.1.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .map_or(Duration::ZERO, |ticks| Duration::from_millis(ticks * 10))
}

fn compile(text: String) -> RuleSet {
    let loaded = load(&[("bench.cfg".into(), text)], Environment::new(), &NoFiles);
    assert!(!loaded.diagnostics.has_errors());
    RuleSet::compile(&loaded.config, &NoFiles).expect("valid rules")
}

const HEAD: &str = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend fe\n    bind :80\n";

/// `n` rules `acl rN path_reg ^/svcN/(v[0-9]+/)?items` / `use_backend`.
fn regex_rules_text(n: usize) -> String {
    let mut text = String::from(HEAD);
    for i in 0..n {
        text.push_str(&format!(
            "    acl r{i} path_reg ^/svc{i}/(v[0-9]+/)?items\n    use_backend b{} if r{i}\n",
            i % 10
        ));
    }
    text.push_str("    default_backend b0\n");
    for b in 0..10 {
        text.push_str(&format!(
            "backend b{b}\n    server s 127.0.0.1:{}\n",
            9000 + b
        ));
    }
    text
}

fn rules(hosts: usize) -> RuleSet {
    let mut text = String::from("defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend fe\n    bind :80\n");
    for i in 0..100 {
        text.push_str(&format!(
            "    acl re{i} path_reg ^/section{i}/[a-z]+/[0-9]+$\n"
        ));
    }
    for i in 0..hosts {
        text.push_str(&format!(
            "    acl h{i} hdr(host) -i app{i}.example.com\n    use_backend b{} if h{i}\n",
            i % 10
        ));
    }
    for i in 0..100 {
        text.push_str(&format!("    use_backend b{} if re{i}\n", i % 10));
    }
    text.push_str("    default_backend b0\n");
    for b in 0..10 {
        text.push_str(&format!(
            "backend b{b}\n    server s 127.0.0.1:{}\n",
            9000 + b
        ));
    }
    compile(text)
}

fn decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("decide");
    for hosts in [10usize, 1_000, 10_000] {
        let set = rules(hosts);
        let req = OwnedRequest::get("/index.html")
            .header("Host", &format!("APP{}.example.com", hosts - 1));
        assert_eq!(
            set.decide("fe", &req).unwrap().backend(),
            Some(format!("b{}", (hosts - 1) % 10).as_str())
        );
        group.bench_with_input(BenchmarkId::new("tree", hosts), &req, |b, req| {
            b.iter(|| set.decide("fe", req))
        });
        if hosts <= 1_000 {
            group.bench_with_input(BenchmarkId::new("linear", hosts), &req, |b, req| {
                b.iter(|| set.decide_linear("fe", req))
            });
        }
    }
    group.finish();
}

fn decide_regex(c: &mut Criterion) {
    let mut group = c.benchmark_group("decide_regex");
    for n in [10usize, 1_000, 10_000] {
        let text = regex_rules_text(n);
        let (before, t, cpu) = (resident(), Instant::now(), cpu_time());
        let set = compile(text);
        let (elapsed, cpu) = (t.elapsed(), cpu_time().saturating_sub(cpu));
        let kept = resident().saturating_sub(before);
        let req = OwnedRequest::get(&format!("/svc{}/v2/items", n - 1));
        assert_eq!(
            set.decide("fe", &req).unwrap().backend(),
            Some(format!("b{}", (n - 1) % 10).as_str())
        );
        let after = resident().saturating_sub(before);
        eprintln!(
            "{n} regex rules: parsed and compiled in {elapsed:?} ({cpu:?} of CPU); resident memory +{:.1} MiB, +{:.1} MiB after the first request (lazy DFA states)",
            kept as f64 / 1048576.0,
            after as f64 / 1048576.0
        );
        group.bench_with_input(BenchmarkId::new("tree", n), &req, |b, req| {
            b.iter(|| set.decide("fe", req))
        });
        if n <= 1_000 {
            group.bench_with_input(BenchmarkId::new("linear", n), &req, |b, req| {
                b.iter(|| set.decide_linear("fe", req))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, decide, decide_regex);
criterion_main!(benches);

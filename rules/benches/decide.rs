//! Decision time per request: N exact-host rules plus 100 path regexes,
//! indexed evaluation beside the plain linear one. The request matches the
//! last host rule, the worst case for a linear scan.

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
    let loaded = load(&[("bench.cfg".into(), text)], Environment::new(), &NoFiles);
    assert!(!loaded.diagnostics.has_errors());
    RuleSet::compile(&loaded.config, &NoFiles).expect("valid rules")
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

criterion_group!(benches, decide);
criterion_main!(benches);

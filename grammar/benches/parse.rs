//! Parse and validate a generated 10,000-line configuration: 5,000
//! `acl`/`use_backend` pairs routing by host to 100 backends.

use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_grammar::{load, Environment, FileAccess};

struct NoFiles;

impl FileAccess for NoFiles {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            path.to_owned(),
        ))
    }
}

/// The same generator as the tests use, so the bench measures a valid file.
fn generated_config(pairs: usize, backends: usize) -> String {
    let mut text = String::from("global\n    maxconn 4096\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\nfrontend web\n    bind 127.0.0.1:8080\n");
    for i in 0..pairs {
        text.push_str(&format!(
            "    acl host_{i} hdr(host) -i app{i}.example.com\n"
        ));
        text.push_str(&format!(
            "    use_backend be_{} if host_{i}\n",
            i % backends
        ));
    }
    text.push_str("    default_backend be_0\n");
    for b in 0..backends {
        text.push_str(&format!(
            "\nbackend be_{b}\n    balance roundrobin\n    server s1 127.0.0.1:{} check\n",
            9000 + b
        ));
    }
    text
}

fn parse_10k(c: &mut Criterion) {
    let text = generated_config(5_000, 100);
    assert!(text.lines().count() >= 10_000);
    let files = vec![("generated.cfg".to_owned(), text)];
    c.bench_function("parse+validate 5000 acl/use_backend pairs", |b| {
        b.iter(|| {
            let loaded = load(&files, Environment::new(), &NoFiles);
            assert!(!loaded.diagnostics.has_errors());
            loaded
        })
    });
}

criterion_group!(benches, parse_10k);
criterion_main!(benches);

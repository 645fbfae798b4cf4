//! Fuzzing without libFuzzer, for a machine with only the stable
//! toolchain: the corpus of a target (`fuzz/corpus/TARGET/`) mutated at
//! random (bytes changed, inserted, deleted, repeated; inputs spliced)
//! through the target's check, for a set time. Ignored by default:
//!
//! ```text
//! FUZZ_TARGET=request_head FUZZ_SECONDS=600 \
//!     cargo test --release -p switchyard-fuzz-checks --test mutate -- --ignored --nocapture
//! ```
//!
//! An input that panics is written to `fuzz/artifacts/TARGET/` and fails
//! the run; the check's properties are the target's own.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The targets this loop can drive, by corpus name.
fn check_of(target: &str) -> fn(&[u8]) {
    match target {
        "request_head" => switchyard_fuzz_checks::request_head::check,
        "server_response" => switchyard_fuzz_checks::server_response::check,
        "runtime_api_command" => switchyard_fuzz_checks::runtime_api_command::check,
        other => panic!("no check for target {other}"),
    }
}

/// xorshift64*: reproducible from its seed, printed at the start.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to HTTP/1's grammar, favoured over random ones.
const INTERESTING: &[u8] = b"\r\n:;, \t0123456789abcdefxX-+\x00\x7f\xff/?#%@";

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..=rng.below(4) {
        let at = rng.below(input.len() + 1);
        let byte = if rng.below(2) == 0 {
            INTERESTING[rng.below(INTERESTING.len())]
        } else {
            rng.next() as u8
        };
        match rng.below(6) {
            0 if at < input.len() => input[at] = byte,
            1 => input.insert(at, byte),
            2 if at < input.len() => {
                let end = (at + 1 + rng.below(16)).min(input.len());
                input.drain(at..end);
            }
            3 if at < input.len() => {
                let end = (at + 1 + rng.below(64)).min(input.len());
                let piece = input[at..end].to_vec();
                input.splice(at..at, piece);
            }
            4 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(256)).min(other.len());
                input.splice(at..at, other[from..end].iter().copied());
            }
            _ if !input.is_empty() => input[0] = rng.next() as u8,
            _ => input.push(byte),
        }
    }
    input.truncate(1 << 16);
}

#[test]
#[ignore = "runs for FUZZ_SECONDS; see the module comment"]
fn mutated_corpus() {
    let target = std::env::var("FUZZ_TARGET").unwrap_or_else(|_| "request_head".into());
    let seconds: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let check = check_of(&target);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let corpus: Vec<Vec<u8>> = std::fs::read_dir(root.join("corpus").join(&target))
        .expect("the target's corpus")
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    assert!(!corpus.is_empty());
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!(
        "{target}: seed {seed}, {} inputs, {seconds} s",
        corpus.len()
    );
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut runs = 0u64;
    while Instant::now() < deadline {
        for _ in 0..256 {
            let mut input = corpus[rng.below(corpus.len())].clone();
            let other = &corpus[rng.below(corpus.len())];
            mutate(&mut rng, &mut input, other);
            let outcome = std::panic::catch_unwind(|| check(&input));
            runs += 1;
            if outcome.is_err() {
                let dir = root.join("artifacts").join(&target);
                std::fs::create_dir_all(&dir).unwrap();
                let path = dir.join(format!("crash-{seed}-{runs}"));
                std::fs::write(&path, &input).unwrap();
                panic!("input {} panicked (run {runs})", path.display());
            }
        }
    }
    println!("{target}: {runs} inputs in {seconds} s, none panicked");
}

//! The multi-pattern regex engines side by side, on the routing table of
//! bench/run scenario 8 (`^/svcN/(v[0-9]+/)?items`, the request for the
//! last pattern): `regex::RegexSet`, regex-automata's meta engine, its lazy
//! DFA (what `switchyard_rules::multi_regex` uses) and a fully built DFA.
//! Build time and size are printed before the timings.

use std::time::Instant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use regex_automata::dfa::{dense, Automaton, OverlappingState as DenseState};
use regex_automata::hybrid::dfa::{OverlappingState, DFA};
use regex_automata::{meta, Input, MatchKind, PatternSet};

fn patterns(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("^/svc{i}/(v[0-9]+/)?items"))
        .collect()
}

fn engines(c: &mut Criterion) {
    let mut group = c.benchmark_group("regex_engines");
    group
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    for n in [10usize, 1_000, 10_000] {
        let pats = patterns(n);
        let path = format!("/svc{}/v2/items", n - 1);

        let t = Instant::now();
        let set = regex::RegexSetBuilder::new(&pats)
            .size_limit(256 << 20)
            .build()
            .unwrap();
        eprintln!("{n} patterns: RegexSet built in {:?}", t.elapsed());
        group.bench_with_input(BenchmarkId::new("RegexSet", n), &path, |b, p| {
            b.iter(|| set.matches(p).iter().next())
        });

        // At 10,000 patterns the meta engine's first overlapping search
        // asks for 74 GiB (its fallback's per-pattern state) and aborts.
        if n < 10_000 {
            bench_meta(&mut group, &pats, &path);
        }

        let t = Instant::now();
        let lazy = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .cache_capacity(8 << 20),
            )
            .build_many(&pats)
            .unwrap();
        let mut cache = lazy.create_cache();
        eprintln!(
            "{n} patterns: lazy DFA built in {:?}, its program {} KiB",
            t.elapsed(),
            lazy.get_nfa().memory_usage() / 1024
        );
        group.bench_with_input(BenchmarkId::new("lazy_dfa", n), &path, |b, p| {
            b.iter(|| {
                let mut state = OverlappingState::start();
                let input = Input::new(p);
                let mut found = 0;
                loop {
                    lazy.try_search_overlapping_fwd(&mut cache, &input, &mut state)
                        .unwrap();
                    match state.get_match() {
                        Some(_) => found += 1,
                        None => break found,
                    }
                }
            })
        });
        eprintln!(
            "{n} patterns: lazy DFA cache after the request: {} KiB",
            cache.memory_usage() / 1024
        );

        let t = Instant::now();
        let dense = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .match_kind(MatchKind::All)
                    .dfa_size_limit(Some(64 << 20))
                    .determinize_size_limit(Some(256 << 20)),
            )
            .build_many(&pats);
        match dense {
            Ok(dfa) => {
                eprintln!(
                    "{n} patterns: dense DFA built in {:?}, {} KiB",
                    t.elapsed(),
                    dfa.memory_usage() / 1024
                );
                group.bench_with_input(BenchmarkId::new("dense_dfa", n), &path, |b, p| {
                    b.iter(|| {
                        let mut state = DenseState::start();
                        let input = Input::new(p);
                        let mut found = 0;
                        loop {
                            dfa.try_search_overlapping_fwd(&input, &mut state).unwrap();
                            match state.get_match() {
                                Some(_) => found += 1,
                                None => break found,
                            }
                        }
                    })
                });
            }
            Err(e) => eprintln!(
                "{n} patterns: dense DFA refused after {:?}: {e}",
                t.elapsed()
            ),
        }
    }
    group.finish();
}

fn bench_meta(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    pats: &[String],
    path: &str,
) {
    let n = pats.len();
    let t = Instant::now();
    let meta = meta::Builder::new()
        .configure(meta::Config::new().match_kind(MatchKind::All))
        .syntax(regex_automata::util::syntax::Config::new())
        .build_many(pats)
        .unwrap();
    eprintln!("{n} patterns: meta built in {:?}", t.elapsed());
    let mut cache = meta.create_cache();
    group.bench_with_input(BenchmarkId::new("meta", n), path, |b, p| {
        b.iter(|| {
            let mut found = PatternSet::new(meta.pattern_len());
            meta.which_overlapping_matches_with(&mut cache, &Input::new(p), &mut found);
            found.iter().next()
        })
    });
}

criterion_group!(benches, engines);
criterion_main!(benches);

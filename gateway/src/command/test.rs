//! `switchyard test -f CONFIG [FIXTURE|DIR …]`: runs fixture requests
//! through the configuration's rules — the same decision function the
//! gateway uses — and checks each expectation.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use switchyard_grammar::SourceMap;
use switchyard_rules::fixture::{self, CaseResult};

use crate::command::cli::{Format, TestArgs};

/// Fixture files: given files, and the `*.http` files of given directories.
fn fixture_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot read directory {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "http"))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let Some(checked) = super::check::load_and_report(&args.files, true)? else {
        return Ok(ExitCode::FAILURE);
    };
    let config = &checked.loaded.config;
    let sources = &checked.loaded.sources;
    let mut results: Vec<(PathBuf, Result<CaseResult, String>)> = Vec::new();
    let mut exercised = BTreeSet::new();
    for file in fixture_files(&args.fixtures)? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read fixture {}", file.display()))?;
        let cases = match fixture::parse(&text) {
            Ok(cases) => cases,
            Err(e) => {
                results.push((
                    file.clone(),
                    Err(format!("{}:{}: {}", file.display(), e.line, e.message)),
                ));
                continue;
            }
        };
        for case in cases {
            let result = fixture::run_case(&checked.rules, config, &case);
            if let (true, Ok(r)) = (args.coverage, &result) {
                if let Some((_, trace)) = checked.rules.explain(&r.frontend, &case.request) {
                    for rule in trace.rules.iter().filter(|r| r.matched) {
                        exercised.insert((rule.span.file, rule.span.line));
                    }
                    for acl in trace
                        .rules
                        .iter()
                        .flat_map(|r| &r.acls)
                        .filter(|a| a.result)
                    {
                        exercised.extend(acl_lines(config, &acl.name));
                    }
                }
            }
            results.push((file.clone(), result));
        }
    }
    let failed = results
        .iter()
        .filter(|(_, r)| r.as_ref().map_or(true, |r| !r.failures.is_empty()))
        .count();
    let passed = results.len() - failed;
    let uncovered = if args.coverage {
        uncovered_lines(config, &exercised)
    } else {
        Vec::new()
    };
    match args.format {
        Format::Text => print_text(&results, sources, &uncovered, passed, failed),
        Format::Json => print_json(&results, sources, &uncovered, passed, failed),
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Lines of the `acl` definitions named `name` (in any proxy).
fn acl_lines(
    config: &switchyard_grammar::Config,
    name: &str,
) -> Vec<(switchyard_grammar::span::FileId, u32)> {
    config
        .proxies
        .iter()
        .flat_map(|p| &p.acls)
        .filter(|a| a.name.text == name)
        .map(|a| (a.name.span.file, a.name.span.line))
        .collect()
}

/// Every acl, use_backend and http-request line that nothing exercised.
fn uncovered_lines(
    config: &switchyard_grammar::Config,
    exercised: &BTreeSet<(switchyard_grammar::span::FileId, u32)>,
) -> Vec<(switchyard_grammar::Span, &'static str)> {
    let mut out = Vec::new();
    for proxy in &config.proxies {
        let mut add = |span: switchyard_grammar::Span, kind: &'static str| {
            if !exercised.contains(&(span.file, span.line)) {
                out.push((span, kind));
            }
        };
        for acl in &proxy.acls {
            add(acl.name.span, "acl");
        }
        for rule in &proxy.use_backends {
            add(rule.span, "use_backend");
        }
        for rule in &proxy.http_request {
            add(rule.span, "http-request");
        }
    }
    out.sort_by_key(|(s, _)| (s.file, s.line));
    out.dedup_by_key(|(s, _)| (s.file, s.line));
    out
}

fn print_text(
    results: &[(PathBuf, Result<CaseResult, String>)],
    sources: &SourceMap,
    uncovered: &[(switchyard_grammar::Span, &str)],
    passed: usize,
    failed: usize,
) {
    for (file, result) in results {
        match result {
            Err(e) => println!("FAILED  {e}"),
            Ok(r) if r.failures.is_empty() => {
                println!("ok      {}:{}  {}", file.display(), r.line, r.summary)
            }
            Ok(r) => {
                println!("FAILED  {}:{}  {}", file.display(), r.line, r.summary);
                for (expected, got) in &r.failures {
                    println!("        expected {expected}, got {got}");
                }
                match r.decision.rule {
                    Some(span) => println!("        decided by {}", sources.locate(span)),
                    None => println!(
                        "        decided by no rule (no use_backend matched, no default_backend)"
                    ),
                }
            }
        }
    }
    if !uncovered.is_empty() {
        println!("\nNot exercised by any fixture:");
        for (span, kind) in uncovered {
            let text = sources
                .file(span.file)
                .and_then(|f| f.line_text(span.line))
                .unwrap_or("")
                .trim();
            println!("  {}  {kind}: {text}", sources.locate(*span));
        }
    }
    println!("{passed} passed, {failed} failed");
}

fn print_json(
    results: &[(PathBuf, Result<CaseResult, String>)],
    sources: &SourceMap,
    uncovered: &[(switchyard_grammar::Span, &str)],
    passed: usize,
    failed: usize,
) {
    use serde_json::json;
    let cases: Vec<_> = results
        .iter()
        .map(|(file, r)| match r {
            Err(e) => json!({ "file": display(file), "ok": false, "error": e }),
            Ok(r) => json!({
                "file": display(file),
                "line": r.line,
                "ok": r.failures.is_empty(),
                "decision": switchyard_rules::fixture::describe(&r.decision),
                "server": r.server,
                "decided_by": r.decision.rule.map(|s| sources.locate(s).to_string()),
                "failures": r.failures.iter().map(|(e, g)| json!({ "expected": e, "got": g })).collect::<Vec<_>>(),
            }),
        })
        .collect();
    let uncovered: Vec<_> = uncovered
        .iter()
        .map(|(s, kind)| json!({ "location": sources.locate(*s).to_string(), "kind": kind }))
        .collect();
    let report =
        json!({ "passed": passed, "failed": failed, "cases": cases, "not_exercised": uncovered });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

//! The configuration corpus: every file of `fixtures/configs/valid` loads
//! without error, every file of `fixtures/configs/invalid` fails with the
//! errors its `# expect: LINE:COL FRAGMENT` lines name, at those places.
//! Files are read relative to `fixtures/configs`, as the differential
//! script runs `haproxy -c` from there.

mod common;

use std::path::{Path, PathBuf};

use common::DiskFiles;
use switchyard_grammar::{load, Environment, LoadedConfig};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/configs")
}

fn cfg_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cfg"))
        .collect();
    files.sort();
    files
}

fn load_file(path: &Path) -> LoadedConfig {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    load(
        &[(name, text)],
        Environment::new(),
        &DiskFiles(corpus_dir()),
    )
}

/// `# expect: 12:5 unknown keyword` → (12, 5, "unknown keyword").
fn expectations(path: &Path) -> Vec<(u32, u32, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("# expect:"))
        .map(|rest| {
            let rest = rest.trim();
            let (place, fragment) = rest.split_once(' ').unwrap_or((rest, ""));
            let (line, col) = place.split_once(':').expect("LINE:COL");
            (
                line.parse().unwrap(),
                col.parse().unwrap(),
                fragment.trim().to_owned(),
            )
        })
        .collect()
}

#[test]
fn valid_corpus_has_no_error() {
    let files = cfg_files(&corpus_dir().join("valid"));
    assert!(
        files.len() >= 30,
        "the corpus holds at least 30 valid configurations"
    );
    let mut failures = Vec::new();
    for path in &files {
        let loaded = load_file(path);
        if loaded.diagnostics.has_errors() {
            failures.push(loaded.diagnostics.render(&loaded.sources));
        }
    }
    assert!(
        failures.is_empty(),
        "{} valid configs rejected:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn invalid_corpus_fails_where_expected() {
    let files = cfg_files(&corpus_dir().join("invalid"));
    assert!(
        files.len() >= 30,
        "the corpus holds at least 30 invalid configurations"
    );
    let mut failures = Vec::new();
    for path in &files {
        let expected = expectations(path);
        assert!(
            !expected.is_empty(),
            "{} has no '# expect:' line",
            path.display()
        );
        let loaded = load_file(path);
        for (line, col, fragment) in &expected {
            let found = loaded.diagnostics.errors().any(|d| {
                d.span.is_some_and(|s| s.line == *line && s.column == *col)
                    && d.message.to_lowercase().contains(fragment.as_str())
            });
            if !found {
                failures.push(format!(
                    "{}: expected an error at {line}:{col} containing '{fragment}', got:\n{}",
                    path.display(),
                    loaded.diagnostics.render(&loaded.sources)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} expectations not met:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

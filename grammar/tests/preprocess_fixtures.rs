//! The preprocessor fixtures through `switchyard_grammar::load`: every file
//! of `fixtures/configs/preprocess/valid` loads without an error, and every
//! file of `fixtures/configs/preprocess/invalid` has, for each of its
//! `# expect: LINE:COL fragment` lines, an error at that place whose
//! message contains the fragment (compared in lower case).
//!
//! `scripts/haproxy-preprocess-check` runs the same files through
//! `haproxy -c` to show that HAProxy 2.6 agrees on each verdict.

mod common;

use std::path::{Path, PathBuf};

use switchyard_grammar::{load, Environment, LoadedConfig, Severity};

fn fixture_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/configs/preprocess")
        .join(kind)
}

/// The `*.cfg` files of a fixture folder, in name order.
fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = fixture_dir(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "cfg"))
        .collect();
    files.sort();
    files
}

/// Loads one file as `switchyard -c -f FILE` would, with an empty process
/// environment so that only the file's own `setenv` lines count.
fn load_file(path: &Path) -> (String, LoadedConfig) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).expect("fixture is UTF-8");
    let dir = path.parent().unwrap().to_path_buf();
    let loaded = load(
        &[(name.clone(), text)],
        Environment::new(),
        &common::DiskFiles(dir),
    );
    (name, loaded)
}

/// `# expect: LINE:COL fragment` lines.
fn expectations(text: &str) -> Vec<(u32, u32, String)> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# expect: "))
        .map(|rest| {
            let (place, fragment) = rest.split_once(' ').expect("# expect: LINE:COL fragment");
            let (line, col) = place.split_once(':').expect("LINE:COL");
            (
                line.parse().expect("line number"),
                col.parse().expect("column number"),
                fragment.trim().to_owned(),
            )
        })
        .collect()
}

#[test]
fn valid_fixtures_load_without_errors() {
    let files = fixtures("valid");
    assert!(
        files.len() >= 10,
        "expected the valid fixtures, found {files:?}"
    );
    let mut failures = Vec::new();
    for path in &files {
        let (name, loaded) = load_file(path);
        if loaded.diagnostics.has_errors() {
            failures.push(format!(
                "{name}:\n{}",
                loaded.diagnostics.render(&loaded.sources)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn invalid_fixtures_report_each_expected_error() {
    let files = fixtures("invalid");
    assert!(
        files.len() >= 20,
        "expected the invalid fixtures, found {files:?}"
    );
    let mut failures = Vec::new();
    for path in &files {
        let (name, loaded) = load_file(path);
        let text = std::fs::read_to_string(path).unwrap();
        let expected = expectations(&text);
        if expected.is_empty() {
            failures.push(format!("{name}: no '# expect: LINE:COL fragment' line"));
            continue;
        }
        for (line, col, fragment) in expected {
            let found = loaded.diagnostics.errors().any(|d| {
                d.span.is_some_and(|s| s.line == line && s.column == col)
                    && d.message.to_lowercase().contains(&fragment)
            });
            if !found {
                failures.push(format!(
                    "{name}: no error at {line}:{col} containing \"{fragment}\"; got:\n{}",
                    loaded.diagnostics.render(&loaded.sources)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn messages_are_shown_at_their_line_with_their_level() {
    let (_, loaded) = load_file(&fixture_dir("valid").join("messages.cfg"));
    let shown: Vec<(Severity, u32, &str)> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Warning || !d.message.contains("timeout"))
        .map(|d| (d.severity, d.span.unwrap().line, d.message.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            (Severity::Notice, 6, "reading messages.cfg"),
            (Severity::Warning, 7, "this is only a warning"),
            (Severity::Notice, 8, "a diagnostic remark"),
            (Severity::Notice, 9, "'.notice' with no message"),
        ]
    );
}

#[test]
fn alert_stops_reading_every_file() {
    let alert = fixture_dir("invalid").join("alert.cfg");
    let text = std::fs::read_to_string(&alert).unwrap();
    let loaded = load(
        &[
            ("alert.cfg".to_owned(), text),
            ("next.cfg".to_owned(), "this-is-not-a-keyword\n".to_owned()),
        ],
        Environment::new(),
        &common::MemFiles::default(),
    );
    let errors = common::errors(&loaded);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("SY_NEVER_SET must be set"));
}

//! The configuration corpus through `switchyard -c`, as operators run it:
//! every file of `fixtures/configs/valid` is valid, every file of
//! `fixtures/configs/invalid` is refused with the errors its
//! `# expect: LINE:COL FRAGMENT` lines name, at those places. The checker
//! runs from `fixtures/configs`, as HAProxy resolves relative paths from the
//! current directory (and as `scripts/haproxy-corpus-check` runs both).

use std::path::{Path, PathBuf};

use switchyard_e2e::{run_in, stderr, workspace_root};

fn corpus_dir() -> PathBuf {
    workspace_root().join("fixtures/configs")
}

fn cfg_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".cfg"))
        .collect();
    files.sort();
    files
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
                fragment.trim().to_lowercase(),
            )
        })
        .collect()
}

/// The `file:line:col: error: message` lines of a check.
fn reported_errors(output: &str) -> Vec<(u32, u32, String)> {
    output
        .lines()
        .filter_map(|line| {
            let (location, message) = line.split_once(": error: ")?;
            let mut parts = location.rsplitn(3, ':');
            let col = parts.next()?.parse().ok()?;
            let row = parts.next()?.parse().ok()?;
            Some((row, col, message.to_lowercase()))
        })
        .collect()
}

#[test]
fn valid_corpus_is_valid() {
    let dir = corpus_dir();
    let files = cfg_files(&dir.join("valid"));
    assert!(
        files.len() >= 30,
        "the corpus holds at least 30 valid configurations"
    );
    let mut failures = Vec::new();
    for name in &files {
        let out = run_in(&dir, &["-c", "-f", &format!("valid/{name}")]);
        if !out.status.success() {
            failures.push(stderr(&out));
        }
    }
    assert!(
        failures.is_empty(),
        "{} valid configurations refused:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn invalid_corpus_fails_where_expected() {
    let dir = corpus_dir();
    let files = cfg_files(&dir.join("invalid"));
    assert!(
        files.len() >= 30,
        "the corpus holds at least 30 invalid configurations"
    );
    let mut failures = Vec::new();
    for name in &files {
        let path = dir.join("invalid").join(name);
        let expected = expectations(&path);
        assert!(!expected.is_empty(), "{name} has no '# expect:' line");
        let out = run_in(&dir, &["-c", "-f", &format!("invalid/{name}")]);
        let err = stderr(&out);
        if out.status.code() != Some(1) {
            failures.push(format!(
                "{name}: exit status {:?}, expected 1",
                out.status.code()
            ));
        }
        let reported = reported_errors(&err);
        for (line, col, fragment) in &expected {
            if !reported
                .iter()
                .any(|(l, c, m)| l == line && c == col && m.contains(fragment.as_str()))
            {
                failures.push(format!("{name}: no error at {line}:{col} containing '{fragment}'; switchyard said:\n{err}"));
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

//! Helpers for the end-to-end tests: the real `switchyard` binary, run as
//! an operator would run it.

pub mod client;
pub mod faulty_origin;
pub mod gateway;
pub mod h2_frames;
pub mod held_origin;
pub mod launch;
pub mod origin;
pub mod origin_process;
pub mod pki;
pub mod raw_http;
pub mod runtime_api;
pub mod syslog;
pub mod tcp_origin;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root (the folder holding `fixtures/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// Called by a test that cannot run on this machine (a tool missing, not
/// root) before it returns early. Under CI (`CI` set, as `.ci/run` sets it),
/// which installs every tool the tests use, that is a failure; elsewhere
/// the skip is printed, so that a passing run does not hide it.
pub fn cannot_run_here(reason: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{reason}: CI must provide what this test needs");
    }
    eprintln!("SKIPPED: {reason}");
}

/// Polls `condition` every 20 ms until it holds, for at most `limit`, and
/// panics naming `what` if it never does. Tests wait this way for what
/// they assert rather than sleeping a fixed time first: on a loaded
/// machine they only take longer, they do not fail.
pub async fn wait_until(
    what: &str,
    limit: std::time::Duration,
    mut condition: impl FnMut() -> bool,
) {
    let deadline = std::time::Instant::now() + limit;
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {limit:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// [`wait_until`] for a condition that takes an exchange to learn (a
/// request, a stats page): `condition` is awaited every 50 ms until it
/// holds, for at most `limit`.
pub async fn wait_until_async<F, Fut>(what: &str, limit: std::time::Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    while !condition().await {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {limit:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A figure that settles after a burst of work (a process's descriptors,
/// its resident memory): sampled every 100 ms until two samples in a row
/// agree (within `tolerance`), for at most `limit`; the last sample. A
/// baseline taken this way does not depend on how fast a loaded machine
/// finished the work that came before it.
pub async fn settled(
    what: &str,
    limit: std::time::Duration,
    tolerance: u64,
    mut sample: impl FnMut() -> u64,
) -> u64 {
    let deadline = std::time::Instant::now() + limit;
    let mut last = sample();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let now = sample();
        if now.abs_diff(last) <= tolerance {
            return now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not settle within {limit:?} (last {last}, now {now})"
        );
        last = now;
    }
}

/// Path of the `switchyard` binary, built once per test process with the
/// same profile as the tests (cargo does not build another package's
/// binaries for a test crate, so we ask it to).
pub fn switchyard_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let test_exe = std::env::current_exe().expect("the test knows its own path");
        // target/<profile>/deps/<test> → target/<profile>
        let profile_dir = test_exe
            .parent()
            .and_then(Path::parent)
            .expect("test binaries live in target/<profile>/deps");
        let target_dir = profile_dir.parent().expect("target/<profile> has a parent");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args([
                "build",
                "--quiet",
                "-p",
                "switchyard",
                "--bin",
                "switchyard",
            ])
            .arg("--target-dir")
            .arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build
            .current_dir(workspace_root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the switchyard binary failed");
        profile_dir.join("switchyard")
    })
}

/// Runs `switchyard ARGS` in `dir` and returns what it printed.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(switchyard_binary())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("switchyard starts")
}

/// Runs `switchyard ARGS` from the workspace root.
pub fn run(args: &[&str]) -> Output {
    run_in(&workspace_root(), args)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Waits up to `limit` for `child` to exit; its status if it did.
pub fn wait_exit(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    None
}

/// What a child with a piped stderr printed there (read to the end, so
/// call it once the child has exited).
pub fn child_stderr(child: &mut std::process::Child) -> String {
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        use std::io::Read;
        let _ = stderr.read_to_string(&mut err);
    }
    err
}

//! `daemon` / `-D` and `pidfile` / `-p`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Detaches from the terminal: the parent exits, the child continues in a
/// new session with its standard streams on /dev/null (HAProxy's `-D`).
/// Must run before any thread is started (before the tokio runtime).
pub fn detach() -> anyhow::Result<()> {
    // nochdir: relative paths in the configuration were read already, but
    // later reloads read them again from the same directory.
    nix::unistd::daemon(true, false).context("cannot go to the background")
}

/// Writes this process's id to `path`, replacing what was there.
pub fn write_pidfile(path: &Path) -> anyhow::Result<()> {
    let mut file = std::fs::File::create(path)
        .with_context(|| format!("cannot create the pid file {}", path.display()))?;
    writeln!(file, "{}", std::process::id())
        .with_context(|| format!("cannot write the pid file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pidfile_holds_our_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchyard.pid");
        std::fs::write(&path, "999999\nold\n").unwrap();
        write_pidfile(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
        assert!(write_pidfile(&dir.path().join("missing/dir/pid")).is_err());
    }
}

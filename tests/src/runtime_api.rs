//! Talking to the gateway's runtime API as an operator does: with the
//! real `socat` binary when it is installed (`echo CMD | socat stdio
//! SOCKET`), else with a plain unix-socket client sending the same bytes.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Whether `socat` is on this machine.
pub fn have_socat() -> bool {
    Command::new("socat")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Sends one command line to the unix socket at `path` and returns the
/// whole answer (the gateway closes the connection after it).
pub fn command(path: &Path, line: &str) -> String {
    if have_socat() {
        let mut child = Command::new("socat")
            .arg("stdio")
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("socat starts");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(format!("{line}\n").as_bytes())
            .expect("socat takes the command");
        let output = child.wait_with_output().expect("socat ends");
        assert!(
            output.status.success(),
            "socat failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return String::from_utf8_lossy(&output.stdout).into_owned();
    }
    let mut stream = UnixStream::connect(path).expect("the runtime API socket accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
        .write_all(format!("{line}\n").as_bytes())
        .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    answer
}

/// One field of `show stat`'s CSV: the row of `proxy`/`server` (`BACKEND`,
/// `FRONTEND` or a server's name), the column named `column`.
pub fn stat_field(path: &Path, proxy: &str, server: &str, column: &str) -> String {
    let stat = command(path, "show stat");
    let mut lines = stat.lines();
    let header = lines.next().expect("a header line");
    let at = header
        .trim_start_matches("# ")
        .split(',')
        .position(|c| c == column)
        .unwrap_or_else(|| panic!("no column {column} in {header}"));
    let prefix = format!("{proxy},{server},");
    let row = lines
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no row {proxy}/{server} in {stat}"));
    row.split(',').nth(at).unwrap_or_default().to_owned()
}

//! An origin running as a separate process (`src/bin/origin.rs`), for
//! faults a task inside the test cannot fake: SIGKILL mid-load.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

/// A running origin process; killed (by its own PID) when dropped.
pub struct OriginProcess {
    child: Child,
    pub addr: SocketAddr,
    // Held open: the origin exits when it closes.
    _stdin: ChildStdin,
}

impl OriginProcess {
    /// Starts `binary NAME` (pass `env!("CARGO_BIN_EXE_origin")`) and reads
    /// the address it listens on.
    pub fn start(binary: &Path, name: &str) -> OriginProcess {
        let mut child = Command::new(binary)
            .arg(name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the origin process starts");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the origin prints its address");
        let addr = match line.trim().parse() {
            Ok(addr) => addr,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the origin printed {line:?}, not an address: {e}");
            }
        };
        OriginProcess {
            child,
            addr,
            _stdin: stdin,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reap it: the process is gone when this returns.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OriginProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

//! The real binary started the way a supervisor starts it: with listening
//! sockets at chosen descriptor numbers (`fd@N`, systemd's `LISTEN_FDS`),
//! `LISTEN_PID` equal to its own pid, and a `NOTIFY_SOCKET` the test reads
//! `READY=1` from. Killed (by its own PID) when dropped.
//!
//! Placing a descriptor at a number in the child needs `dup2` between
//! `fork` and `exec` (a `pre_exec` hook), which is `unsafe`: this module is
//! the test crate's only exception to the workspace's rule.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::switchyard_binary;

/// What to start: arguments, environment, inherited descriptors.
#[derive(Default)]
pub struct Launch {
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Each socket and the number it gets in the child.
    fds: Vec<(OwnedFd, RawFd)>,
    listen_pid: bool,
}

impl Launch {
    pub fn new(args: &[&str]) -> Launch {
        Launch {
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Launch::default()
        }
    }

    pub fn env(mut self, name: &str, value: &str) -> Launch {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Passes `socket` as descriptor `number` of the child.
    pub fn fd(mut self, socket: impl Into<OwnedFd>, number: RawFd) -> Launch {
        self.fds.push((socket.into(), number));
        self
    }

    /// Sets `LISTEN_PID` to the child's own pid, as systemd does.
    pub fn listen_pid(mut self) -> Launch {
        self.listen_pid = true;
        self
    }

    /// Starts the binary; stderr is kept for [`Running::stderr`].
    pub fn spawn(self) -> Running {
        let mut command = if self.listen_pid {
            // The pid is the child's once it runs: a shell sets it to its
            // own `$$` and `exec`s the binary, which keeps the pid (setting
            // the environment in `pre_exec` would allocate after fork).
            let mut sh = Command::new("/bin/sh");
            sh.arg("-c")
                .arg(r#"LISTEN_PID=$$ exec "$0" "$@""#)
                .arg(switchyard_binary());
            sh
        } else {
            Command::new(switchyard_binary())
        };
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // (source, target, scratch) per descriptor; the hook only indexes it.
        let mut moves: Vec<(RawFd, RawFd, RawFd)> = self
            .fds
            .iter()
            .map(|(fd, target)| (fd.as_raw_fd(), *target, -1))
            .collect();
        #[allow(unsafe_code)]
        // SAFETY: the hook runs in the forked child before exec and only
        // calls fcntl and dup2, which are async-signal-safe; it allocates
        // nothing (`moves` was built before the fork).
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(move || {
                use nix::fcntl::{fcntl, FcntlArg};
                // Out of the way first, so that no target overwrites a
                // source; the scratch copies close on exec.
                for m in moves.iter_mut() {
                    m.2 = fcntl(m.0, FcntlArg::F_DUPFD_CLOEXEC(1000))?;
                }
                for m in moves.iter() {
                    // dup2's copy is not close-on-exec: the child keeps it.
                    nix::unistd::dup2(m.2, m.1)?;
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("switchyard starts");
        // The child has its copies; the test's close with `self.fds`.
        Running { child }
    }
}

/// A started gateway.
pub struct Running {
    pub child: Child,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        crate::wait_exit(&mut self.child, limit)
    }

    /// What it printed on stderr (after it exited).
    pub fn stderr(&mut self) -> String {
        crate::child_stderr(&mut self.child)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `NOTIFY_SOCKET` the test reads: a unix datagram socket in a
/// temporary directory.
pub struct NotifySocket {
    socket: UnixDatagram,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl NotifySocket {
    pub fn new() -> NotifySocket {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        NotifySocket {
            socket,
            path,
            _dir: dir,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next notification, waiting up to `limit`.
    pub fn next(&self, limit: Duration) -> Option<String> {
        self.socket.set_read_timeout(Some(limit)).unwrap();
        let mut buf = [0u8; 1024];
        let n = self.socket.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// Waits for `READY=1` from `running`; panics with its stderr if it
    /// exits first or says nothing within 15 s.
    pub fn wait_ready(&self, running: &mut Running) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(state) = self.next(Duration::from_millis(200)) {
                if state.starts_with("READY=1") {
                    return;
                }
            }
            if let Ok(Some(status)) = running.child.try_wait() {
                panic!(
                    "switchyard exited ({status}) before READY=1:\n{}",
                    running.stderr()
                );
            }
        }
        panic!("switchyard did not say READY=1 within 15s");
    }
}

impl Default for NotifySocket {
    fn default() -> Self {
        NotifySocket::new()
    }
}

//! The real `switchyard` binary as a child process, with a configuration
//! written to a temporary file; killed (by its own PID) when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::switchyard_binary;

/// A free loopback port for a listener a test configures (bound then
/// released). Taken at random below the kernel's ephemeral range (32768 and
/// up on Linux): a port the kernel hands out there may be the local port of
/// some test's outgoing connection by the time the gateway binds it, which
/// then fails with "address already in use" (seen in CI).
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    loop {
        // `RandomState` is seeded afresh for each instance.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let port = 20_000 + (hasher.finish() % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A loopback address nothing listens on (a port just freed): connections
/// to it are refused.
pub fn closed_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

pub struct Gateway {
    child: Child,
    pub config_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Starts `switchyard -db -f CONFIG` and waits until `wait_for` accepts.
    pub fn start(config: &str, wait_for: SocketAddr) -> Gateway {
        Gateway::start_with_env(config, wait_for, &[])
    }

    /// The same, with extra environment variables for the gateway.
    pub fn start_with_env(config: &str, wait_for: SocketAddr, env: &[(&str, &str)]) -> Gateway {
        Gateway::start_program(switchyard_binary(), config, wait_for, env)
    }

    /// Another program that takes `-db -f CONFIG` (`haproxy`, to capture
    /// the reference a fixture holds), started and awaited the same way.
    pub fn start_program(
        program: &std::path::Path,
        config: &str,
        wait_for: SocketAddr,
        env: &[(&str, &str)],
    ) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("switchyard.cfg");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(program)
            .arg("-db")
            .arg("-f")
            .arg(&config_path)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("switchyard starts");
        let mut gateway = Gateway {
            child,
            config_path,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect_timeout(&wait_for, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = gateway.child.try_wait() {
                let mut err = String::new();
                if let Some(mut stderr) = gateway.child.stderr.take() {
                    use std::io::Read;
                    let _ = stderr.read_to_string(&mut err);
                }
                panic!(
                    "{} exited ({status}) before listening on {wait_for}:\n{err}",
                    program.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {wait_for} within 15s",
                program.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        gateway
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`HUP`, `USR1`, `TERM`…) to the gateway.
    pub fn signal(&self, signal: &str) {
        send_signal(self.pid(), signal);
    }

    /// Replaces the configuration file (for a reload).
    pub fn rewrite_config(&self, config: &str) {
        std::fs::write(&self.config_path, config).unwrap();
    }

    /// Waits up to `limit` for the gateway to exit; its status if it did.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        crate::wait_exit(&mut self.child, limit)
    }

    /// What it printed on stderr (after it exited).
    pub fn stderr(&mut self) -> String {
        crate::child_stderr(&mut self.child)
    }
}

/// `kill -SIGNAL PID`, for a process the test started.
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

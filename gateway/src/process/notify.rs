//! systemd's readiness protocol (`Type=notify`): when `NOTIFY_SOCKET` is
//! set, the gateway says `READY=1` once it listens, `RELOADING=1` around a
//! reload, `STOPPING=1` when it stops, with a short `STATUS=`. A datagram
//! to a unix socket (a path, or an abstract name written `@name`), so a
//! few lines of std do it.

use std::os::unix::net::UnixDatagram;

/// Where to notify, if systemd (or a test) asked.
pub struct Notifier {
    socket: UnixDatagram,
    target: std::os::unix::net::SocketAddr,
}

impl Notifier {
    /// From `NOTIFY_SOCKET`; `None` when unset or unusable.
    pub fn from_env() -> Option<Notifier> {
        let path = std::env::var_os("NOTIFY_SOCKET")?;
        let path = path.to_str()?;
        let target = match path.strip_prefix('@') {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).ok()?
            }
            None => std::os::unix::net::SocketAddr::from_pathname(path).ok()?,
        };
        let socket = UnixDatagram::unbound().ok()?;
        Some(Notifier { socket, target })
    }

    /// Sends `state` (`READY=1\nSTATUS=…`); failures are only logged.
    pub fn send(&self, state: &str) {
        if let Err(e) = self.socket.send_to_addr(state.as_bytes(), &self.target) {
            tracing::warn!("sd_notify failed: {e}");
        }
    }
}

/// `RELOADING=1` wants the monotonic clock in microseconds (systemd ≥ 253).
pub fn monotonic_usec() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1_000)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_reach_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let receiver = UnixDatagram::bind(&path).unwrap();
        let target = std::os::unix::net::SocketAddr::from_pathname(&path).unwrap();
        let notifier = Notifier {
            socket: UnixDatagram::unbound().unwrap(),
            target,
        };
        notifier.send("READY=1\nSTATUS=test");
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=test");
        assert!(monotonic_usec() > 0);
    }
}

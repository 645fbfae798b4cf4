//! `-sf PID…` and `-st PID…`: the processes a new gateway replaces. They
//! are told only once the new one accepts on every address (with `-x`, on
//! the very sockets they accept on), so that no client meets a closed port:
//! `-sf` sends SIGUSR1, the soft stop (stop accepting, finish the requests
//! in progress, exit); `-st` sends SIGTERM, which stops them at once.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The processes to stop once serving, checked before anything starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OldProcesses {
    soft: Vec<Pid>,
    hard: Vec<Pid>,
}

impl OldProcesses {
    /// Refuses what `kill` would read as a group (0, negative numbers) or
    /// what is this process itself.
    pub fn new(soft: &[u32], hard: &[u32]) -> anyhow::Result<OldProcesses> {
        let own = std::process::id();
        let check = |flag: &str, pids: &[u32]| -> anyhow::Result<Vec<Pid>> {
            pids.iter()
                .map(|&pid| match i32::try_from(pid) {
                    Ok(n) if n > 0 && pid != own => Ok(Pid::from_raw(n)),
                    _ => Err(anyhow::anyhow!(
                        "{flag} {pid}: not the process id of an old gateway"
                    )),
                })
                .collect()
        };
        Ok(OldProcesses {
            soft: check("-sf", soft)?,
            hard: check("-st", hard)?,
        })
    }

    /// Sends each its signal; one that is gone already is only logged.
    pub fn tell(&self) {
        let orders = self
            .soft
            .iter()
            .map(|p| (*p, Signal::SIGUSR1, "finish and exit"))
            .chain(self.hard.iter().map(|p| (*p, Signal::SIGTERM, "stop")));
        for (pid, signal, what) in orders {
            match kill(pid, signal) {
                Ok(()) => tracing::info!("told the old process {pid} to {what} ({signal})"),
                Err(e) => tracing::warn!("cannot signal the old process {pid}: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_ourselves_are_refused() {
        assert!(OldProcesses::new(&[0], &[]).is_err());
        assert!(OldProcesses::new(&[], &[u32::MAX]).is_err());
        assert!(OldProcesses::new(&[std::process::id()], &[]).is_err());
        let ok = OldProcesses::new(&[12, 13], &[14]).unwrap();
        assert_eq!(ok.soft, [Pid::from_raw(12), Pid::from_raw(13)]);
        assert_eq!(ok.hard, [Pid::from_raw(14)]);
    }

    #[test]
    fn the_signal_reaches_the_old_process() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let old = OldProcesses::new(&[], &[child.id()]).unwrap();
        old.tell();
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(Signal::SIGTERM as i32));
    }
}

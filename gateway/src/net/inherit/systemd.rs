//! systemd's socket activation, as `sd_listen_fds_with_names` reads it:
//! `LISTEN_PID` (the process the sockets are for), `LISTEN_FDS` (how many,
//! from descriptor 3 on) and `LISTEN_FDNAMES` (their names, `:`-separated,
//! from `FileDescriptorName=`; systemd says `unknown` when none is set).
//! The variables are removed once read, as `sd_listen_fds(1)` does, so a
//! process the gateway might start does not believe they are meant for it.

use std::os::fd::RawFd;

/// The first activated descriptor (`SD_LISTEN_FDS_START`).
pub const FIRST_FD: RawFd = 3;

/// More than any real socket unit passes; a bound on a corrupt variable.
const MAX_FDS: u32 = 4096;

/// What the environment says about activated sockets.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ActivationError {
    #[error("LISTEN_FDS={0} is not a count of descriptors")]
    BadCount(String),
    #[error("LISTEN_PID={0} is not a process id")]
    BadPid(String),
    #[error("LISTEN_FDNAMES has {names} name(s) for LISTEN_FDS={fds}")]
    NameCount { names: usize, fds: u32 },
}

/// The activated descriptors, numbered from [`FIRST_FD`], each with its name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activation {
    pub sockets: Vec<(RawFd, String)>,
}

impl Activation {
    /// Reads the variables for process `pid` and removes them from the
    /// environment. Must run before any thread is started (the runtime),
    /// since changing the environment is not thread-safe.
    pub fn take_from_env(pid: u32) -> Result<Activation, ActivationError> {
        let var = |name: &str| std::env::var(name).ok();
        let (listen_pid, fds, names) =
            (var("LISTEN_PID"), var("LISTEN_FDS"), var("LISTEN_FDNAMES"));
        for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
            std::env::remove_var(name);
        }
        Activation::parse(listen_pid.as_deref(), fds.as_deref(), names.as_deref(), pid)
    }

    /// The variables' meaning for process `pid`: nothing unless
    /// `LISTEN_PID` names it (sockets passed to a parent that then started
    /// us are not ours).
    pub fn parse(
        listen_pid: Option<&str>,
        listen_fds: Option<&str>,
        names: Option<&str>,
        pid: u32,
    ) -> Result<Activation, ActivationError> {
        let (Some(listen_pid), Some(listen_fds)) = (listen_pid, listen_fds) else {
            return Ok(Activation::default());
        };
        let for_pid = listen_pid
            .trim()
            .parse::<u32>()
            .map_err(|_| ActivationError::BadPid(listen_pid.to_owned()))?;
        if for_pid != pid {
            return Ok(Activation::default());
        }
        let count = listen_fds
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= MAX_FDS)
            .ok_or_else(|| ActivationError::BadCount(listen_fds.to_owned()))?;
        let names: Vec<String> = match names {
            Some(list) => list.split(':').map(str::to_owned).collect(),
            None => vec!["unknown".to_owned(); count as usize],
        };
        if names.len() != count as usize {
            return Err(ActivationError::NameCount {
                names: names.len(),
                fds: count,
            });
        }
        let sockets = (FIRST_FD..).zip(names).collect();
        Ok(Activation { sockets })
    }

    /// The descriptors systemd passed under `name`, in order.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = RawFd> + 'a {
        self.sockets
            .iter()
            .filter(move |(_, n)| n == name)
            .map(|(fd, _)| *fd)
    }

    /// The names, as `LISTEN_FDNAMES` listed them, for messages.
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.sockets.iter().map(|(_, n)| n.as_str()).collect();
        names.join(":")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_for_this_process_are_numbered_from_3_with_their_names() {
        let a = Activation::parse(Some("42"), Some("3"), Some("web:web:api"), 42).unwrap();
        assert_eq!(
            a.sockets,
            [(3, "web".into()), (4, "web".into()), (5, "api".into())]
        );
        assert_eq!(a.named("web").collect::<Vec<_>>(), [3, 4]);
        assert_eq!(a.named("api").collect::<Vec<_>>(), [5]);
        assert_eq!(a.named("nope").count(), 0);
        assert_eq!(a.names(), "web:web:api");
    }

    #[test]
    fn without_names_systemd_says_unknown() {
        let a = Activation::parse(Some("7"), Some("2"), None, 7).unwrap();
        assert_eq!(a.named("unknown").collect::<Vec<_>>(), [3, 4]);
    }

    #[test]
    fn sockets_for_another_process_or_without_a_pid_are_not_ours() {
        assert_eq!(
            Activation::parse(Some("41"), Some("2"), None, 42).unwrap(),
            Activation::default()
        );
        assert_eq!(
            Activation::parse(None, Some("2"), None, 42).unwrap(),
            Activation::default()
        );
        assert_eq!(
            Activation::parse(None, None, None, 42).unwrap(),
            Activation::default()
        );
    }

    #[test]
    fn corrupt_variables_are_errors() {
        assert_eq!(
            Activation::parse(Some("x"), Some("1"), None, 1),
            Err(ActivationError::BadPid("x".into()))
        );
        assert_eq!(
            Activation::parse(Some("1"), Some("-1"), None, 1),
            Err(ActivationError::BadCount("-1".into()))
        );
        assert_eq!(
            Activation::parse(Some("1"), Some("99999999"), None, 1),
            Err(ActivationError::BadCount("99999999".into()))
        );
        assert_eq!(
            Activation::parse(Some("1"), Some("2"), Some("a"), 1),
            Err(ActivationError::NameCount { names: 1, fds: 2 })
        );
    }
}

//! Taking ownership of a socket this process was started with, by its
//! descriptor number: `fd@N`, systemd's `LISTEN_FDS`, or one the old
//! process handed over with `_getsocks`.
//!
//! std has no safe way to turn a number into an owned descriptor (it cannot
//! know that nothing else owns it), so [`adopt`] is the gateway's only
//! `unsafe fn`. It is sound because of how it is called: only at
//! startup, before the process opens anything it keeps (no runtime, no
//! listener, no log socket yet), each number once ([`super::Inherited`]
//! keeps them by number), and for descriptors the kernel just installed
//! (`SCM_RIGHTS`). Everything else is checked before the descriptor is
//! used: open, a socket, listening.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::stat::{fstat, SFlag};
use socket2::{Domain, SockRef, Type};

/// Why a descriptor cannot serve as a listening socket.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FdError {
    #[error("file descriptor {0} is not open in this process (was it passed by the parent?)")]
    NotOpen(RawFd),
    #[error("file descriptor {0} is not a socket")]
    NotSocket(RawFd),
    #[error("file descriptor {0} is a socket but not a listening one (SO_ACCEPTCONN is off: the parent must call listen() on it)")]
    NotListening(RawFd),
    #[error("file descriptor {0} is not a stream socket (TCP or unix)")]
    NotStream(RawFd),
    #[error("file descriptor {fd}: cannot {what}: {reason}")]
    Os {
        fd: RawFd,
        what: &'static str,
        reason: String,
    },
}

/// What an adopted listening socket is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Tcp(SocketAddr),
    /// A unix stream socket, with its path when it has one.
    Unix(Option<PathBuf>),
}

/// A listening socket this process now owns.
#[derive(Debug)]
pub struct Adopted {
    pub fd: OwnedFd,
    pub bound: Bound,
}

/// Takes ownership of descriptor `fd`, which must be an open, listening
/// stream socket, and marks it close-on-exec (as `sd_listen_fds` does) so
/// that nothing the gateway may start inherits it. On error the descriptor
/// is left as it was: open, and not ours.
///
/// # Safety
///
/// Nothing else in the process may own `fd` or close it later: the
/// caller adopts at startup, before the process opens descriptors it
/// keeps, each number once (the module comment), or a descriptor the
/// kernel just installed for it (`SCM_RIGHTS`). On error the caller keeps
/// whatever it had.
#[allow(unsafe_code)]
pub unsafe fn adopt(fd: RawFd) -> Result<Adopted, FdError> {
    if fd < 0 {
        return Err(FdError::NotOpen(fd));
    }
    match fcntl(fd, FcntlArg::F_GETFD) {
        Ok(_) => {}
        Err(nix::Error::EBADF) => return Err(FdError::NotOpen(fd)),
        Err(e) => return Err(os(fd, "read its flags", e)),
    }
    let stat = fstat(fd).map_err(|e| os(fd, "stat it", e))?;
    if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT != SFlag::S_IFSOCK {
        return Err(FdError::NotSocket(fd));
    }
    // SAFETY: `fd` is open (F_GETFD succeeded), and nothing else owns it
    // (the function's contract). If a check below fails, `into_raw_fd`
    // gives the number back unclosed.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let checked = describe(&owned).and_then(|bound| {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
            .map(|_| bound)
            .map_err(|e| os(fd, "set close-on-exec", e))
    });
    match checked {
        Ok(bound) => Ok(Adopted { fd: owned, bound }),
        Err(e) => {
            let _ = owned.into_raw_fd();
            Err(e)
        }
    }
}

/// The socket's kind and address, once it is known to be listening.
fn describe(owned: &OwnedFd) -> Result<Bound, FdError> {
    let fd = owned.as_raw_fd();
    let socket = SockRef::from(owned);
    let io = |what: &'static str| move |e: std::io::Error| os(fd, what, e);
    if socket.r#type().map_err(io("read its type"))? != Type::STREAM {
        return Err(FdError::NotStream(fd));
    }
    if !socket.is_listener().map_err(io("read SO_ACCEPTCONN"))? {
        return Err(FdError::NotListening(fd));
    }
    let local = socket.local_addr().map_err(io("read its address"))?;
    match socket.domain().map_err(io("read its family"))? {
        Domain::IPV4 | Domain::IPV6 => local
            .as_socket()
            .map(Bound::Tcp)
            .ok_or(FdError::NotStream(fd)),
        Domain::UNIX => Ok(Bound::Unix(local.as_pathname().map(PathBuf::from))),
        _ => Err(FdError::NotStream(fd)),
    }
}

fn os(fd: RawFd, what: &'static str, reason: impl std::fmt::Display) -> FdError {
    FdError::Os {
        fd,
        what,
        reason: reason.to_string(),
    }
}

/// A std TCP listener on an adopted socket, non-blocking for tokio.
pub fn tcp_listener(fd: OwnedFd) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::from(fd);
    listener.set_nonblocking(true)?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// Adopting a descriptor the test already owns would close it twice;
    /// each test hands over a duplicate (`into_raw_fd`) instead.
    fn handed_over(fd: impl Into<OwnedFd>) -> RawFd {
        fd.into().into_raw_fd()
    }

    /// [`adopt`] on a descriptor the test gave up ([`handed_over`]), or one
    /// it keeps and expects refused (a refusal leaves it as it was).
    fn try_adopt(fd: RawFd) -> Result<Adopted, FdError> {
        // SAFETY: nothing else in the test owns a handed-over descriptor;
        // one the test keeps is only ever refused, which takes nothing.
        #[allow(unsafe_code)]
        unsafe {
            adopt(fd)
        }
    }

    #[test]
    fn a_listening_tcp_socket_is_adopted_with_its_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let adopted = try_adopt(handed_over(listener)).unwrap();
        assert_eq!(adopted.bound, Bound::Tcp(addr));
        let flags = fcntl(adopted.fd.as_raw_fd(), FcntlArg::F_GETFD).unwrap();
        assert!(FdFlag::from_bits_truncate(flags).contains(FdFlag::FD_CLOEXEC));
        let listener = tcp_listener(adopted.fd).unwrap();
        assert_eq!(listener.local_addr().unwrap(), addr);
    }

    #[test]
    fn a_unix_listener_is_adopted_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let adopted = try_adopt(handed_over(listener)).unwrap();
        assert_eq!(adopted.bound, Bound::Unix(Some(path)));
    }

    #[test]
    fn what_is_not_a_listening_stream_socket_is_refused_and_left_open() {
        let file = tempfile::tempfile().unwrap();
        assert_eq!(
            try_adopt(file.as_raw_fd()).unwrap_err(),
            FdError::NotSocket(file.as_raw_fd())
        );
        // Still open and still the test's: writing works.
        use std::io::Write;
        (&file).write_all(b"x").unwrap();

        let unlistened = socket2::Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        assert_eq!(
            try_adopt(unlistened.as_raw_fd()).unwrap_err(),
            FdError::NotListening(unlistened.as_raw_fd())
        );
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert_eq!(
            try_adopt(udp.as_raw_fd()).unwrap_err(),
            FdError::NotStream(udp.as_raw_fd())
        );
        assert!(udp.local_addr().is_ok(), "left open");
    }

    #[test]
    fn a_number_that_is_not_open_is_refused() {
        // Far above any descriptor table (closing a real one here could
        // race with another test reusing its number).
        assert_eq!(
            try_adopt(RawFd::MAX).unwrap_err(),
            FdError::NotOpen(RawFd::MAX)
        );
        assert_eq!(try_adopt(-1).unwrap_err(), FdError::NotOpen(-1));
    }
}

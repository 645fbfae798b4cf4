//! HAProxy's socket handover (`stats socket … expose-fd listeners`, `-x`):
//! the new process connects to the old one's stats socket and says
//! `_getsocks`; the old one answers with the number of its listening
//! sockets as a native `int`, then the sockets themselves as `SCM_RIGHTS`
//! messages of at most [`MAX_SEND_FD`] descriptors, each message carrying
//! per socket a length-prefixed namespace name, a length-prefixed interface
//! name and 4 zero bytes (HAProxy 2.6's `_getsocks` in `cli.c`). After a
//! full batch the sender waits for a 4-byte acknowledgement. Speaking the
//! same bytes means `switchyard -x` can take over from HAProxy and the
//! other way round.
//!
//! Both sides are blocking with a timeout: the receiver runs before the
//! async runtime exists, the sender on a blocking thread.

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::socket::{recvmsg, send, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

use super::fd::{adopt, Adopted};

/// The command the new process sends.
pub const COMMAND: &str = "_getsocks";

/// HAProxy's `MAX_SEND_FD`: descriptors per message.
pub const MAX_SEND_FD: usize = 253;

/// The most sockets a receiver accepts (a bound on a corrupt count).
const MAX_TOTAL: i32 = 65_536;

/// The largest socket description: two length-prefixed names (a
/// namespace path, an interface name) and the 4 option bytes.
const MAX_DESCRIPTION: usize = 1 + 255 + 1 + 255 + 4;

#[derive(Debug, thiserror::Error)]
pub enum HandoverError {
    #[error("cannot connect to the old process's stats socket {path}: {source}")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the old process sent no socket: its 'stats socket' needs 'expose-fd listeners' (and it must have listeners)")]
    NothingSent,
    #[error("socket handover: {0}")]
    Io(String),
    #[error("socket handover: {0}")]
    Protocol(String),
}

fn io(what: &str) -> impl Fn(std::io::Error) -> HandoverError + '_ {
    move |e| HandoverError::Io(format!("{what}: {e}"))
}

fn errno(what: &str) -> impl Fn(nix::Error) -> HandoverError + '_ {
    move |e| HandoverError::Io(format!("{what}: {e}"))
}

/// The new process's side (`-x PATH`): fetches the old process's listening
/// sockets. Each is checked to be a listening socket before it is kept.
pub fn fetch(path: &Path, timeout: Duration) -> Result<Vec<Adopted>, HandoverError> {
    let mut stream = UnixStream::connect(path).map_err(|source| HandoverError::Connect {
        path: path.to_owned(),
        source,
    })?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(io("set the timeout"))?;
    stream
        .write_all(format!("{COMMAND}\n").as_bytes())
        .map_err(io("send the command"))?;
    let mut count = [0u8; 4];
    match stream.read_exact(&mut count) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
            ) =>
        {
            return Err(HandoverError::NothingSent)
        }
        Err(e) => return Err(io("read the socket count")(e)),
    }
    let total = i32::from_ne_bytes(count);
    if !(1..=MAX_TOTAL).contains(&total) {
        return Err(HandoverError::Protocol(format!(
            "the old process announced {total} sockets"
        )));
    }
    let total = total as usize;
    let mut sockets = Vec::with_capacity(total);
    let mut description = vec![0u8; MAX_SEND_FD * MAX_DESCRIPTION];
    while sockets.len() < total {
        let received = receive_batch(stream.as_raw_fd(), &mut description)?;
        if received.is_empty() {
            return Err(HandoverError::Protocol(format!(
                "the old process stopped after {} of {total} sockets",
                sockets.len()
            )));
        }
        for fd in received {
            // SAFETY: the kernel just installed `fd` for this process
            // (`SCM_RIGHTS`); nothing else knows its number.
            #[allow(unsafe_code)]
            let adopted = unsafe { adopt(fd) };
            match adopted {
                Ok(adopted) => sockets.push(adopted),
                Err(e) => {
                    // Ours (the kernel just installed it), but useless.
                    let _ = nix::unistd::close(fd);
                    return Err(HandoverError::Protocol(e.to_string()));
                }
            }
        }
        // HAProxy's receiver acknowledges every batch; the sender waits
        // for it after a full one. A sender that has finished may have
        // closed already, so a failure here is not an error.
        let ack = (sockets.len() as i32).to_ne_bytes();
        let _ = send(stream.as_raw_fd(), &ack, MsgFlags::MSG_NOSIGNAL);
    }
    Ok(sockets)
}

/// One `SCM_RIGHTS` message: its descriptors (close-on-exec already).
fn receive_batch(fd: RawFd, description: &mut [u8]) -> Result<Vec<RawFd>, HandoverError> {
    let mut space = nix::cmsg_space!([RawFd; MAX_SEND_FD]);
    let mut iov = [IoSliceMut::new(description)];
    let msg = loop {
        match recvmsg::<()>(fd, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC) {
            Err(nix::Error::EINTR) => continue,
            other => break other.map_err(errno("receive sockets"))?,
        }
    };
    let mut fds = Vec::new();
    for cmsg in msg.cmsgs().map_err(errno("read the control message"))? {
        if let ControlMessageOwned::ScmRights(received) = cmsg {
            fds.extend(received);
        }
    }
    if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
        for fd in fds {
            let _ = nix::unistd::close(fd);
        }
        return Err(HandoverError::Protocol(
            "more descriptors in one message than HAProxy sends".into(),
        ));
    }
    Ok(fds)
}

/// The listening sockets `_getsocks` hands over: the frontends'. Held
/// weakly, so that a listener the gateway closes (a reload that drops its
/// address, the soft stop) is not kept open, and its queue alive, by this
/// list.
#[derive(Default)]
pub struct Exported {
    listeners: std::sync::Mutex<Vec<std::sync::Weak<tokio::net::TcpListener>>>,
}

impl Exported {
    pub fn add(&self, listener: &std::sync::Arc<tokio::net::TcpListener>) {
        let mut list = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|l| l.strong_count() > 0);
        list.push(std::sync::Arc::downgrade(listener));
    }

    /// The listeners still open, kept open while the caller holds them.
    pub fn live(&self) -> Vec<std::sync::Arc<tokio::net::TcpListener>> {
        let list = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        list.iter().filter_map(std::sync::Weak::upgrade).collect()
    }
}

/// Answers `_getsocks` on a stats socket session: on a blocking thread,
/// as HAProxy makes the socket blocking for the exchange.
pub async fn answer(stream: tokio::net::UnixStream, exported: &Exported) {
    let listeners = exported.live();
    let sent = tokio::task::spawn_blocking(move || {
        let stream = stream.into_std().map_err(io("take the session"))?;
        stream
            .set_nonblocking(false)
            .and_then(|()| stream.set_read_timeout(Some(Duration::from_secs(5))))
            .and_then(|()| stream.set_write_timeout(Some(Duration::from_secs(5))))
            .map_err(io("make the session blocking"))?;
        let fds: Vec<RawFd> = listeners.iter().map(|l| l.as_raw_fd()).collect();
        send_all(&stream, &fds).map(|()| fds.len())
    })
    .await;
    match sent {
        Ok(Ok(count)) => tracing::info!("handed {count} listening socket(s) over to a new process"),
        Ok(Err(e)) => tracing::warn!("{e}"),
        Err(e) => tracing::warn!("socket handover: {e}"),
    }
}

/// The description of one socket as HAProxy sends it: no namespace, no
/// interface (Switchyard binds neither), 4 zero bytes.
const DESCRIPTION: [u8; 6] = [0, 0, 0, 0, 0, 0];

/// The old process's side: answers `_getsocks` on `stream` with `listeners`.
/// With none, sends nothing (HAProxy closes the session then too).
pub fn send_all(stream: &UnixStream, listeners: &[RawFd]) -> Result<(), HandoverError> {
    if listeners.is_empty() {
        return Ok(());
    }
    let fd = stream.as_raw_fd();
    let count = (listeners.len() as i32).to_ne_bytes();
    send_fully(fd, &count, &[])?;
    for (i, batch) in listeners.chunks(MAX_SEND_FD).enumerate() {
        let description = DESCRIPTION.repeat(batch.len());
        send_fully(fd, &description, batch)?;
        let more = (i + 1) * MAX_SEND_FD < listeners.len();
        if batch.len() == MAX_SEND_FD && more {
            let mut ack = [0u8; 4];
            (&*stream)
                .read_exact(&mut ack)
                .map_err(io("wait for the acknowledgement"))?;
        }
    }
    Ok(())
}

/// One message, with `fds` attached; a short write is an error (the
/// descriptors travel with the first byte, so it cannot be resumed).
fn send_fully(fd: RawFd, bytes: &[u8], fds: &[RawFd]) -> Result<(), HandoverError> {
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
    let sent = loop {
        match sendmsg::<()>(
            fd,
            &[IoSlice::new(bytes)],
            cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Err(nix::Error::EINTR) => continue,
            other => break other.map_err(errno("send sockets"))?,
        }
    };
    if sent != bytes.len() {
        return Err(HandoverError::Io(format!(
            "sent {sent} of {} bytes",
            bytes.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::inherit::fd::Bound;
    use std::os::unix::net::UnixListener;

    /// A stats socket whose first session `answer` handles.
    fn stats_socket(
        answer: impl FnOnce(UnixStream) + Send + 'static,
    ) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stats.sock");
        let server = UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || answer(server.accept().unwrap().0));
        (dir, path)
    }

    /// An old process's stats socket, answering `_getsocks` once.
    fn old_process(listeners: Vec<std::net::TcpListener>) -> (tempfile::TempDir, PathBuf) {
        stats_socket(move |mut stream| {
            let mut line = [0u8; 10];
            stream.read_exact(&mut line).unwrap();
            assert_eq!(&line, b"_getsocks\n");
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let fds: Vec<RawFd> = listeners.iter().map(|l| l.as_raw_fd()).collect();
            send_all(&stream, &fds).unwrap();
            drop(listeners);
        })
    }

    #[test]
    fn listening_sockets_cross_over_and_keep_their_addresses() {
        let listeners: Vec<_> = (0..3)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let addrs: Vec<_> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
        let (_dir, path) = old_process(listeners);
        let got = fetch(&path, Duration::from_secs(5)).unwrap();
        let bounds: Vec<_> = got.iter().map(|a| a.bound.clone()).collect();
        assert_eq!(
            bounds,
            addrs.iter().map(|a| Bound::Tcp(*a)).collect::<Vec<_>>()
        );
        // The received socket still accepts after the sender closed its own.
        std::thread::sleep(Duration::from_millis(50));
        assert!(std::net::TcpStream::connect(addrs[0]).is_ok());
    }

    #[test]
    fn more_than_one_batch_is_acknowledged() {
        // 260 descriptors: a full batch of 253, an acknowledgement, then 7.
        let one = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = one.local_addr().unwrap();
        let listeners: Vec<_> = (0..260).map(|_| one.try_clone().unwrap()).collect();
        let (_dir, path) = old_process(listeners);
        let got = fetch(&path, Duration::from_secs(5)).unwrap();
        assert_eq!(got.len(), 260);
        assert!(got.iter().all(|a| a.bound == Bound::Tcp(addr)));
    }

    #[test]
    fn a_socket_without_expose_fd_sends_nothing() {
        // Reads the command, answers nothing, closes.
        let (dir, path) = stats_socket(|mut stream| {
            let mut line = [0u8; 10];
            let _ = stream.read_exact(&mut line);
        });
        assert!(matches!(
            fetch(&path, Duration::from_secs(5)),
            Err(HandoverError::NothingSent)
        ));
        assert!(matches!(
            fetch(&dir.path().join("missing"), Duration::from_secs(1)),
            Err(HandoverError::Connect { .. })
        ));
    }

    #[test]
    fn a_corrupt_count_is_refused() {
        // Reads the command before answering: closing first would make the
        // command's write fail (EPIPE), depending on which thread runs first.
        let (_dir, path) = stats_socket(|mut stream| {
            let mut line = [0u8; 10];
            let _ = stream.read_exact(&mut line);
            let _ = stream.write_all(&(-5i32).to_ne_bytes());
        });
        assert!(matches!(
            fetch(&path, Duration::from_secs(5)),
            Err(HandoverError::Protocol(_))
        ));
    }
}

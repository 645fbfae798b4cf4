//! Servers on unix sockets: `server NAME unix@PATH`, `server NAME /PATH`
//! and `server NAME abns@NAME` (Linux's abstract namespace). Requests to
//! such a server go over a stream unix socket instead of TCP; everything
//! else (balancing, reuse, limits, logs) is as for a TCP server.

use std::fmt;
use std::io;
use std::path::PathBuf;

use switchyard_grammar::ast::address::{Address, AddressFamily, Host};
use tokio::net::UnixStream;

/// Where a unix-socket server listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UnixTarget {
    /// A socket file.
    Path(PathBuf),
    /// `abns@NAME`: a name in the abstract namespace (no file).
    Abstract(String),
}

impl UnixTarget {
    /// The unix socket an address names, if it names one.
    pub fn of(address: &Address) -> Option<UnixTarget> {
        match (&address.family, &address.host) {
            (AddressFamily::Unix, Host::Path(path)) => Some(UnixTarget::Path(path.into())),
            (AddressFamily::Abns, Host::Path(name)) => Some(UnixTarget::Abstract(name.clone())),
            _ => None,
        }
    }

    /// A connection to the socket.
    pub async fn connect(&self) -> io::Result<UnixStream> {
        match self {
            UnixTarget::Path(path) => UnixStream::connect(path).await,
            UnixTarget::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
                // A unix connect completes at once (or fails): no waiting.
                let stream = std::os::unix::net::UnixStream::connect_addr(&addr)?;
                stream.set_nonblocking(true)?;
                UnixStream::from_std(stream)
            }
        }
    }
}

/// As HAProxy writes the address in its stats and logs.
impl fmt::Display for UnixTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnixTarget::Path(path) => write!(f, "{}", path.display()),
            UnixTarget::Abstract(name) => write!(f, "abns@{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn connects_to_a_path_and_to_an_abstract_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let target = UnixTarget::Path(path);
        let (client, server) = tokio::join!(target.connect(), listener.accept());
        let (mut client, (mut server, _)) = (client.unwrap(), server.unwrap());
        client.write_all(b"hi").await.unwrap();
        let mut got = [0u8; 2];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hi");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("switchyard-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let std_listener = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::UnixListener::from_std(std_listener).unwrap();
        let target = UnixTarget::Abstract(name.clone());
        let (client, server) = tokio::join!(target.connect(), listener.accept());
        assert!(client.is_ok() && server.is_ok());
        assert_eq!(target.to_string(), format!("abns@{name}"));
        assert!(UnixTarget::Abstract("nobody-listens-here".into())
            .connect()
            .await
            .is_err());
    }
}

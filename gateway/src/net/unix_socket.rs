//! Unix sockets: servers (`server NAME unix@PATH`, `server NAME /PATH`,
//! `server NAME abns@NAME` in Linux's abstract namespace), to which
//! requests go over a stream unix socket instead of TCP, everything else
//! (balancing, reuse, limits, logs) as for a TCP server; and listening
//! sockets (`bind /PATH mode 660 user U group G`, `stats socket`).

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

/// A listening unix socket: where, and its file's `mode`, `user` and
/// `group` (`bind` and `stats socket` options; none for an abstract name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnixBind {
    pub target: UnixTarget,
    pub mode: Option<u32>,
    pub user: Option<String>,
    pub group: Option<String>,
}

impl UnixBind {
    /// The socket of a proxy's `bind` line at `target`: its own `mode`,
    /// `user` and `group`, else `unix-bind`'s, and the path behind
    /// `unix-bind prefix` (joined as written, as HAProxy does).
    pub fn of_proxy_bind(
        target: UnixTarget,
        options: &switchyard_grammar::ast::bind::BindOptions,
        defaults: &switchyard_grammar::ast::global::UnixBindDefaults,
    ) -> UnixBind {
        let target = match (target, &defaults.prefix) {
            (UnixTarget::Path(path), Some(prefix)) => {
                let mut joined = std::ffi::OsString::from(prefix);
                joined.push(path.as_os_str());
                UnixTarget::Path(joined.into())
            }
            (target, _) => target,
        };
        UnixBind {
            target,
            mode: options.unix_mode.or(defaults.mode),
            user: options.unix_user.clone().or_else(|| defaults.user.clone()),
            group: options
                .unix_group
                .clone()
                .or_else(|| defaults.group.clone()),
        }
    }

    /// Binds the socket. A socket file left by an earlier run is replaced
    /// (any other file there is an error); the file then gets its mode and
    /// owner.
    pub fn listen(&self) -> anyhow::Result<tokio::net::UnixListener> {
        use anyhow::Context;
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let std_listener = match &self.target {
            UnixTarget::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
                std::os::unix::net::UnixListener::bind_addr(&addr)
                    .with_context(|| format!("cannot bind abns@{name}"))?
            }
            UnixTarget::Path(path) => {
                let shown = path.display();
                if let Ok(meta) = std::fs::symlink_metadata(path) {
                    if !meta.file_type().is_socket() {
                        anyhow::bail!("{shown}: the path exists and is not a socket");
                    }
                    std::fs::remove_file(path)
                        .with_context(|| format!("{shown}: cannot remove the old socket"))?;
                }
                let listener = std::os::unix::net::UnixListener::bind(path)
                    .with_context(|| format!("cannot bind {shown}"))?;
                if let Some(mode) = self.mode {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                        .with_context(|| format!("{shown}: cannot set mode {mode:o}"))?;
                }
                let uid = match &self.user {
                    Some(user) => Some(user_id(user)?),
                    None => None,
                };
                let gid = match &self.group {
                    Some(group) => Some(group_id(group)?),
                    None => None,
                };
                if uid.is_some() || gid.is_some() {
                    nix::unistd::chown(path, uid, gid)
                        .with_context(|| format!("{shown}: cannot change the owner"))?;
                }
                listener
            }
        };
        std_listener.set_nonblocking(true)?;
        Ok(tokio::net::UnixListener::from_std(std_listener)?)
    }
}

/// A user by name or number (`user`/`uid`).
fn user_id(user: &str) -> anyhow::Result<nix::unistd::Uid> {
    if let Ok(n) = user.parse::<u32>() {
        return Ok(nix::unistd::Uid::from_raw(n));
    }
    nix::unistd::User::from_name(user)?
        .map(|u| u.uid)
        .ok_or_else(|| anyhow::anyhow!("unknown user '{user}'"))
}

/// A group by name or number (`group`/`gid`).
fn group_id(group: &str) -> anyhow::Result<nix::unistd::Gid> {
    if let Ok(n) = group.parse::<u32>() {
        return Ok(nix::unistd::Gid::from_raw(n));
    }
    nix::unistd::Group::from_name(group)?
        .map(|g| g.gid)
        .ok_or_else(|| anyhow::anyhow!("unknown group '{group}'"))
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

//! `chroot`, then `group`/`gid` and `user`/`uid`: done once every socket
//! is bound and every file is read, so the gateway can listen on port 80
//! and read root-only certificates, then serve as an ordinary user.

use anyhow::{anyhow, Context};
use nix::unistd::{Gid, Group, Uid, User};

/// Who to become, resolved from names when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub uid: Option<Uid>,
    pub gid: Option<Gid>,
}

impl Identity {
    /// `user`/`uid` and `group`/`gid` of the global section; with a user
    /// name and no group, the user's own group (as HAProxy does).
    pub fn resolve(
        user: Option<&str>,
        group: Option<&str>,
        uid: Option<u64>,
        gid: Option<u64>,
    ) -> anyhow::Result<Identity> {
        let mut identity = Identity {
            uid: uid.map(|u| Uid::from_raw(u as u32)),
            gid: gid.map(|g| Gid::from_raw(g as u32)),
        };
        if let Some(name) = user {
            let found = User::from_name(name)
                .with_context(|| format!("cannot look up user '{name}'"))?
                .ok_or_else(|| anyhow!("no user named '{name}' on this system"))?;
            identity.uid = Some(found.uid);
            if identity.gid.is_none() && group.is_none() {
                identity.gid = Some(found.gid);
            }
        }
        if let Some(name) = group {
            let found = Group::from_name(name)
                .with_context(|| format!("cannot look up group '{name}'"))?
                .ok_or_else(|| anyhow!("no group named '{name}' on this system"))?;
            identity.gid = Some(found.gid);
        }
        Ok(identity)
    }

    pub fn is_empty(&self) -> bool {
        self.uid.is_none() && self.gid.is_none()
    }

    /// Becomes that identity: supplementary groups cleared, group first,
    /// user last (after it, nothing else can be changed).
    pub fn assume(&self) -> anyhow::Result<()> {
        if let Some(gid) = self.gid {
            if Uid::effective().is_root() {
                nix::unistd::setgroups(&[gid]).context("cannot drop supplementary groups")?;
            }
            nix::unistd::setgid(gid).with_context(|| format!("cannot switch to group {gid}"))?;
        }
        if let Some(uid) = self.uid {
            nix::unistd::setuid(uid).with_context(|| format!("cannot switch to user {uid}"))?;
        }
        Ok(())
    }
}

/// `chroot DIR`: the gateway's root becomes DIR (and the working directory
/// its top), as HAProxy does before dropping privileges.
pub fn enter_chroot(dir: &str) -> anyhow::Result<()> {
    nix::unistd::chroot(dir).with_context(|| format!("cannot chroot to '{dir}'"))?;
    std::env::set_current_dir("/").with_context(|| format!("cannot enter the chroot '{dir}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_and_unknown_names_are_errors() {
        let root = Identity::resolve(Some("root"), None, None, None).unwrap();
        assert_eq!(root.uid, Some(Uid::from_raw(0)));
        assert_eq!(root.gid, Some(Gid::from_raw(0)));
        let numeric = Identity::resolve(None, None, Some(65534), Some(65534)).unwrap();
        assert_eq!(numeric.uid, Some(Uid::from_raw(65534)));
        let err = Identity::resolve(Some("no-such-user-here"), None, None, None).unwrap_err();
        assert!(err.to_string().contains("no user named"), "{err}");
        assert!(Identity::resolve(None, Some("no-such-group-here"), None, None).is_err());
        assert!(Identity::resolve(None, None, None, None)
            .unwrap()
            .is_empty());
    }
}

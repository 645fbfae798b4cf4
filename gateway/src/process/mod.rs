//! Running as a service, as HAProxy does: background (`daemon`, `-D`), a
//! pid file, privileges dropped after the sockets are bound (`user`,
//! `group`, `uid`, `gid`), `chroot` once everything is loaded, threads
//! pinned to CPUs (`cpu-map`), a raised open-file limit, and the signals
//! that stop or reload the gateway.

pub mod cpu_map;
pub mod daemon;
pub mod limits;
pub mod notify;
pub mod privileges;
pub mod signals;

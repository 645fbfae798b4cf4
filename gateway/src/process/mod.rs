//! Running as a service, as HAProxy does: background (`daemon`, `-D`), a
//! pid file, privileges dropped after the sockets are bound (`user`,
//! `group`, `uid`, `gid`), `chroot` once everything is loaded, threads
//! pinned to CPUs (`cpu-map`), a raised open-file limit, the signals
//! that stop or reload the gateway, and the old processes a restart
//! replaces (`-sf`, `-st`).

pub mod config_check;
pub mod config_files;
pub mod cpu_map;
pub mod daemon;
pub mod generation;
pub mod limits;
pub mod notify;
pub mod old_processes;
pub mod privileges;
pub mod runtime;
pub mod signals;
pub mod support;

//! The `global` section: process-wide settings.

use std::time::Duration;

use crate::ast::bind::Bind;
use crate::ast::log::LogTarget;
use crate::ast::proxy::Spanned;
use crate::word::Word;

/// `cpu-map [auto:]THREAD-SET CPU-SET`, e.g. `cpu-map 1/all 0-1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuMap {
    pub auto: bool,
    /// The process part (`1` in `1/all`); HAProxy 2.6 only has process 1.
    pub process: Option<String>,
    /// Thread numbers (1-based), `None` meaning all threads.
    pub threads: Option<Vec<u32>>,
    pub cpus: Vec<u32>,
    pub span: crate::span::Span,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Global {
    pub chroot: Option<Word>,
    pub daemon: Option<crate::span::Span>,
    pub master_worker: Option<crate::span::Span>,
    pub user: Option<Word>,
    pub group: Option<Word>,
    pub uid: Option<Spanned<u64>>,
    pub gid: Option<Spanned<u64>>,
    /// Accepted with a warning: threads replace processes.
    pub nbproc: Option<Spanned<u64>>,
    pub nbthread: Option<Spanned<u64>>,
    pub cpu_maps: Vec<CpuMap>,
    pub maxconn: Option<Spanned<u64>>,
    pub pidfile: Option<Word>,
    pub logs: Vec<LogTarget>,
    pub log_send_hostname: Option<String>,
    pub log_tag: Option<String>,
    pub stats_sockets: Vec<Bind>,
    pub stats_timeout: Option<Duration>,
    pub stats_maxconn: Option<u64>,
    pub ulimit_n: Option<u64>,
    pub spread_checks: Option<u64>,
    pub hard_stop_after: Option<Duration>,
    pub node: Option<String>,
    pub description: Option<String>,
    pub ca_base: Option<Word>,
    pub crt_base: Option<Word>,
    /// `default-path current|config|parent|origin PATH`.
    pub default_path: Option<(String, Option<Word>)>,
    pub quiet: bool,
    pub debug: bool,
}

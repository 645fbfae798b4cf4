//! The `global` section: process-wide settings.

use std::time::Duration;

use crate::ast::bind::Bind;
use crate::ast::log::LogTarget;
use crate::ast::proxy::Spanned;
use crate::ast::tls::TlsPolicy;
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
    /// `spread-checks N`: each check interval varies by up to N % either
    /// way, so that checks started together drift apart.
    pub spread_checks: Option<u64>,
    /// `max-spread-checks TIME`: the first checks start within this delay
    /// rather than over a whole check interval.
    pub max_spread_checks: Option<Duration>,
    /// `unix-bind …`: defaults for the UNIX sockets of `bind` lines.
    pub unix_bind: UnixBindDefaults,
    pub hard_stop_after: Option<Duration>,
    pub node: Option<String>,
    pub description: Option<String>,
    pub ca_base: Option<Word>,
    pub crt_base: Option<Word>,
    /// `default-path current|config|parent|origin PATH`.
    pub default_path: Option<(String, Option<Word>)>,
    pub quiet: bool,
    pub debug: bool,
    /// `tune.bufsize` and `tune.maxrewrite`.
    pub buffers: BufferLimits,
    /// `tune.idle-pool.shared on|off` as written (`off` is warned about:
    /// the idle pool is always one for all threads).
    pub idle_pool_shared: Option<bool>,
    /// `tune.ssl.default-dh-param`, accepted with a warning: rustls has no
    /// finite-field DHE, so there are no DH parameters to size.
    pub ssl_default_dh_param: Option<u64>,
    /// `ssl-default-bind-ciphers`, `-ciphersuites`, `-curves`, `-options`:
    /// laid under every `bind` line's own TLS options.
    pub bind_tls: TlsPolicy,
    /// `ssl-default-server-ciphers`, `-ciphersuites`, `-options`: laid
    /// under every `default-server` and `server` line's.
    pub server_tls: TlsPolicy,
    /// `ssl-server-verify none|required`: the default of `server … verify`.
    pub ssl_server_verify: Option<Word>,
    pub tls_tuning: TlsTuning,
}

/// `tune.ssl.cachesize`, `tune.ssl.lifetime`, `tune.ssl.maxrecord` as
/// written (None: rustls' own behaviour, see docs/gateway.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TlsTuning {
    /// Sessions kept for resumption by session ID (0: none).
    pub cachesize: Option<usize>,
    /// How long a session (cached or in a ticket) may be resumed.
    pub lifetime: Option<Duration>,
    /// The largest TLS record sent.
    pub maxrecord: Option<usize>,
}

/// `unix-bind [prefix P] [mode M] [user U|uid N] [group G|gid N]`: what the
/// UNIX sockets of proxies' `bind` lines get unless their line says
/// otherwise. The prefix is put before each path as written (HAProxy joins
/// the two strings); `stats socket` lines are not concerned, as in HAProxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnixBindDefaults {
    pub prefix: Option<String>,
    pub mode: Option<u32>,
    pub user: Option<String>,
    pub group: Option<String>,
}

/// HAProxy's buffer: `tune.bufsize` bytes, of which `tune.maxrewrite` are
/// kept free when reading, for what the rules add. A message head must fit
/// in the rest ([`BufferLimits::max_head`]), and rules may grow it up to the
/// whole buffer ([`BufferLimits::max_rewritten`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferLimits {
    /// `tune.bufsize`, rounded up to a multiple of 16 as HAProxy does on
    /// 64-bit machines.
    pub bufsize: usize,
    /// `tune.maxrewrite` as written (HAProxy's default: 1024).
    pub maxrewrite: usize,
}

impl Default for BufferLimits {
    fn default() -> Self {
        BufferLimits {
            bufsize: Self::DEFAULT_BUFSIZE,
            maxrewrite: Self::DEFAULT_MAXREWRITE,
        }
    }
}

impl BufferLimits {
    pub const DEFAULT_BUFSIZE: usize = 16_384;
    pub const DEFAULT_MAXREWRITE: usize = 1024;
    /// The largest `tune.bufsize` accepted: response heads are indexed with
    /// 16-bit offsets.
    pub const MAX_BUFSIZE: usize = 65_536;

    /// The reserve actually kept: `maxrewrite`, or half the buffer when it
    /// is larger than that (HAProxy readjusts it so).
    pub fn reserve(&self) -> usize {
        self.maxrewrite.min(self.bufsize / 2)
    }

    /// The longest request or response head read: the buffer less the
    /// reserve. A longer request is answered 400, a longer response 502.
    pub fn max_head(&self) -> usize {
        self.bufsize - self.reserve()
    }

    /// The most a message may hold once rules have added to it: the whole
    /// buffer. A rule that would grow it further fails.
    pub fn max_rewritten(&self) -> usize {
        self.bufsize
    }
}

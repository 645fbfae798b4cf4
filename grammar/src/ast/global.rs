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
    /// `auto:`: threads and CPUs are paired one to one in order.
    pub auto: bool,
    /// The process part (`1` in `1/all`); HAProxy 2.6 only has process 1.
    pub process: Option<String>,
    /// Thread numbers (1-based), `None` meaning all threads.
    pub threads: Option<Vec<u32>>,
    /// The CPU numbers the threads may run on.
    pub cpus: Vec<u32>,
    /// Where the line is written.
    pub span: crate::span::Span,
}

/// The `global` section: process-wide settings, each `None` (or empty) when
/// not written, so that HAProxy's default applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Global {
    /// `chroot DIR`: the directory the process enters after start-up.
    pub chroot: Option<Word>,
    /// `daemon`: run in the background.
    pub daemon: Option<crate::span::Span>,
    /// `master-worker`: a master process supervises the worker.
    pub master_worker: Option<crate::span::Span>,
    /// `user NAME`: the user the process switches to.
    pub user: Option<Word>,
    /// `group NAME`: the group the process switches to.
    pub group: Option<Word>,
    /// `uid N`: the user id the process switches to.
    pub uid: Option<Spanned<u64>>,
    /// `gid N`: the group id the process switches to.
    pub gid: Option<Spanned<u64>>,
    /// Accepted with a warning: threads replace processes.
    pub nbproc: Option<Spanned<u64>>,
    /// `nbthread N`: how many worker threads serve connections.
    pub nbthread: Option<Spanned<u64>>,
    /// `cpu-map` lines, in order.
    pub cpu_maps: Vec<CpuMap>,
    /// `maxconn N`: connections the process holds at once.
    pub maxconn: Option<Spanned<u64>>,
    /// `pidfile FILE`: where the process id is written.
    pub pidfile: Option<Word>,
    /// `log` lines: the targets `log global` in a proxy refers to.
    pub logs: Vec<LogTarget>,
    /// `log-send-hostname [NAME]`: the host name put in syslog headers (empty:
    /// the machine's).
    pub log_send_hostname: Option<String>,
    /// `log-tag TAG`: the tag of syslog headers (default `haproxy`).
    pub log_tag: Option<String>,
    /// `stats socket` lines: where the runtime API listens.
    pub stats_sockets: Vec<Bind>,
    /// `stats timeout`: how long the runtime API waits for a command.
    pub stats_timeout: Option<Duration>,
    /// `stats maxconn`: connections the runtime API holds at once, over all
    /// its sockets (HAProxy's default: 10); more wait to be accepted.
    pub stats_maxconn: Option<u64>,
    /// `ulimit-n N`: the file-descriptor limit the process sets for itself.
    pub ulimit_n: Option<u64>,
    /// `spread-checks N`: each check interval varies by up to N % either
    /// way, so that checks started together drift apart.
    pub spread_checks: Option<u64>,
    /// `max-spread-checks TIME`: the first checks start within this delay
    /// rather than over a whole check interval.
    pub max_spread_checks: Option<Duration>,
    /// `unix-bind …`: defaults for the UNIX sockets of `bind` lines.
    pub unix_bind: UnixBindDefaults,
    /// `hard-stop-after TIME`: how long an old process may keep serving after
    /// a reload or soft stop.
    pub hard_stop_after: Option<Duration>,
    /// `node NAME`: the name the stats page shows (default: the host's).
    pub node: Option<String>,
    /// `description TEXT`: the text the stats page shows.
    pub description: Option<String>,
    /// `ca-base DIR`: the directory relative CA and CRL files are read from.
    pub ca_base: Option<Word>,
    /// `crt-base DIR`: the directory relative certificate files are read from.
    pub crt_base: Option<Word>,
    /// `default-path current|config|parent|origin PATH`.
    pub default_path: Option<(String, Option<Word>)>,
    /// `quiet`: no start-up messages, as `-q` (warnings and `-c`'s verdict
    /// are not printed; errors are).
    pub quiet: bool,
    /// `zero-warning`: a configuration with a warning is refused, as with
    /// an error (HAProxy's `-dW`).
    pub zero_warning: bool,
    /// `no strict-limits`: start even when the open-file limit that
    /// `maxconn`/`ulimit-n` need cannot be set (HAProxy's default, and
    /// `strict-limits`, refuse to start then).
    pub no_strict_limits: bool,
    /// `set-dumpable`: core dumps re-enabled after start-up (core and file
    /// size limits raised, the process made dumpable again after it
    /// changed user).
    pub set_dumpable: bool,
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
    /// `tune.ssl.*`: sessions, tickets and record size.
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
    /// `prefix P`: put before each `bind` path.
    pub prefix: Option<String>,
    /// `mode M`: the sockets' permissions (octal).
    pub mode: Option<u32>,
    /// `user U` or `uid N`: the sockets' owner.
    pub user: Option<String>,
    /// `group G` or `gid N`: the sockets' group.
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
    /// HAProxy's default `tune.bufsize`.
    pub const DEFAULT_BUFSIZE: usize = 16_384;
    /// HAProxy's default `tune.maxrewrite`.
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

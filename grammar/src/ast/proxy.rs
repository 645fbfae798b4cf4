//! The settings of a proxy section (`defaults`, `frontend`, `backend`,
//! `listen`). A proxy starts as a copy of its defaults section and its own
//! directives are applied on top, which is how HAProxy inherits settings.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::ast::acl::AclDef;
use crate::ast::bind::Bind;
use crate::ast::condition::Condition;
use crate::ast::http_rule::HttpRule;
use crate::ast::log::{LogFormatSetting, LogSetting};
use crate::ast::log_format::LogFormat;
use crate::ast::server::{Server, ServerOptions};
use crate::ast::stats::StatsSettings;
use crate::ast::tcp_rule::TcpRule;
use crate::span::Span;
use crate::word::Word;

/// The section kind a proxy was written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// `defaults`: settings the following proxies start from.
    Defaults,
    /// `frontend`: takes connections and routes them.
    Frontend,
    /// `backend`: has servers.
    Backend,
    /// `listen`: a frontend and a backend in one.
    Listen,
}

impl ProxyKind {
    /// The section keyword, for messages.
    pub fn keyword(self) -> &'static str {
        match self {
            ProxyKind::Defaults => "defaults",
            ProxyKind::Frontend => "frontend",
            ProxyKind::Backend => "backend",
            ProxyKind::Listen => "listen",
        }
    }

    /// Accepts connections (has `bind` lines and routing rules).
    pub fn is_frontend(self) -> bool {
        matches!(self, ProxyKind::Frontend | ProxyKind::Listen)
    }

    /// Has servers and can be the target of `use_backend`.
    pub fn is_backend(self) -> bool {
        matches!(self, ProxyKind::Backend | ProxyKind::Listen)
    }
}

/// `mode`: how a proxy reads its traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// HTTP requests and responses.
    Http,
    /// HAProxy's default when nothing says otherwise.
    #[default]
    Tcp,
}

/// A value and the place that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it is written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// `value`, set at `span`.
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

/// `timeout …`: every kind HAProxy 2.6 knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// `timeout connect`: how long connecting to a server may take.
    pub connect: Option<Spanned<Duration>>,
    /// `timeout client`: how long the client may stay silent.
    pub client: Option<Spanned<Duration>>,
    /// `timeout server`: how long the server may stay silent.
    pub server: Option<Spanned<Duration>>,
    /// `timeout http-request`: how long a whole request head may take.
    pub http_request: Option<Spanned<Duration>>,
    /// `timeout http-keep-alive`: how long to wait for the next request.
    pub http_keep_alive: Option<Spanned<Duration>>,
    /// `timeout queue`: how long a request may wait for a server slot.
    pub queue: Option<Spanned<Duration>>,
    /// `timeout tunnel`: how long an upgraded or TCP connection may idle.
    pub tunnel: Option<Spanned<Duration>>,
    /// `timeout check`: how long a health check may take once connected.
    pub check: Option<Spanned<Duration>>,
    /// `timeout client-fin`: how long a half-closed client may stay.
    pub client_fin: Option<Spanned<Duration>>,
    /// `timeout server-fin`: how long a half-closed server may stay.
    pub server_fin: Option<Spanned<Duration>>,
    /// `timeout tarpit`: how long a tarpitted request is held.
    pub tarpit: Option<Spanned<Duration>>,
}

/// `balance`: how a backend picks a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BalanceAlgorithm {
    /// `roundrobin`: in turn, by weight, weights changeable at run time.
    RoundRobin,
    /// `static-rr`: in turn, by weight, weights fixed.
    StaticRr,
    /// `leastconn`: the server with the fewest connections.
    LeastConn,
    /// `first`: the first server with a free slot, by id.
    First,
    /// `source`: a hash of the client's address.
    Source,
    /// `uri [whole] [len N] [depth N]`.
    Uri {
        /// `whole`: hash the query string too.
        whole: bool,
        /// `len N`: hash only the first N characters.
        len: Option<u64>,
        /// `depth N`: hash only the first N directories.
        depth: Option<u64>,
        /// `path-only`: hash the path without the authority of an absolute URI.
        path_only: bool,
    },
    /// `url_param NAME`.
    UrlParam {
        /// The query parameter whose value is hashed.
        name: String,
    },
    /// `hdr(NAME) [use_domain_only]`.
    Hdr {
        /// The header whose value is hashed.
        name: String,
        /// `use_domain_only`: hash only the domain part of a host name.
        use_domain_only: bool,
    },
    /// `random [DRAWS]`.
    Random {
        /// How many servers are drawn; the least loaded wins (default 2).
        draws: u64,
    },
}

/// `hash-type`'s method: how a hash maps to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashMethod {
    /// `map-based`: the hash modulo the servers' total weight (changes move
    /// most keys).
    #[default]
    MapBased,
    /// `consistent`: a ring of points per server (changes move few keys).
    Consistent,
}

/// `hash-type`'s function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashFunction {
    /// `sdbm`.
    #[default]
    Sdbm,
    /// `djb2`.
    Djb2,
    /// `wt6`.
    Wt6,
    /// `crc32`.
    Crc32,
}

/// `http-reuse`: which idle server connections a request may use
/// (HAProxy 2.6's policies; `safe` by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpReuse {
    /// Only the client connection's own server connection.
    Never,
    /// Only for requests after a client connection's first.
    #[default]
    Safe,
    /// A first request only on a connection that has already been reused.
    Aggressive,
    /// Any idle connection, for any request.
    Always,
}

/// `hash-type METHOD [FUNCTION] [avalanche]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashType {
    /// How a hash picks a server.
    pub method: HashMethod,
    /// How keys are hashed.
    pub function: HashFunction,
    /// `avalanche`: the hash is mixed once more, spreading similar keys.
    pub avalanche: bool,
}

/// How `cookie` persistence carries the server's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieMode {
    /// `insert`: the gateway adds its own cookie to the response.
    Insert,
    /// `rewrite`: the server sets the cookie; its value is replaced.
    Rewrite,
    /// `prefix`: the server's own cookie gets the server's name in front.
    Prefix,
}

/// `cookie NAME insert|rewrite|prefix [options]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieSettings {
    /// The cookie's name.
    pub name: String,
    /// How the server's name is carried.
    pub mode: CookieMode,
    /// `indirect`: no cookie is set for a client that already has a valid one.
    pub indirect: bool,
    /// `nocache`: a response with the cookie is marked not cacheable.
    pub nocache: bool,
    /// `postonly`: the cookie is inserted on responses to POST only.
    pub postonly: bool,
    /// `preserve`: a cookie the server sets itself is left as it is.
    pub preserve: bool,
    /// `httponly`: the inserted cookie gets `HttpOnly`.
    pub httponly: bool,
    /// `secure`: the inserted cookie gets `Secure`.
    pub secure: bool,
    /// `domain D` lines: the cookie's `Domain` attributes.
    pub domains: Vec<String>,
    /// `maxidle`: a cookie older than this since last seen is ignored.
    pub maxidle: Option<Duration>,
    /// `maxlife`: a cookie older than this since first set is ignored.
    pub maxlife: Option<Duration>,
    /// `attr A` lines: attributes added to the cookie as written.
    pub attrs: Vec<String>,
    /// Where the line is written.
    pub span: Span,
}

/// `option forwardfor [except NET] [header NAME] [if-none]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardFor {
    /// `except NET`: clients of this network get no header.
    pub except: Option<Word>,
    /// The header's name (`X-Forwarded-For` by default).
    pub header: String,
    /// `if-none`: the header is only added when the request has none.
    pub if_none: bool,
    /// Where the line is written.
    pub span: Span,
}

/// `option httpchk [METHOD] [URI] [VERSION]`, with what `http-check send`
/// changes or adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheckRequest {
    /// The method (`OPTIONS` by default).
    pub method: String,
    /// The URI (`/` by default).
    pub uri: String,
    /// The version (`HTTP/1.0` by default).
    pub version: String,
    /// Header fields in order: the legacy `VERSION\r\nName:\ value` form
    /// of `option httpchk`, then `http-check send hdr NAME VALUE`.
    pub headers: Vec<(String, String)>,
    /// The body, sent with a `Content-Length`.
    pub body: Option<String>,
    /// `uri-lf` and `body-lf`: evaluated for each check (they replace
    /// `uri` and `body`).
    pub uri_lf: Option<LogFormat>,
    /// The body expanded for each check.
    pub body_lf: Option<LogFormat>,
    /// Where `option httpchk` is written.
    pub span: Span,
}

/// `http-check send [meth M] [uri U|uri-lf F] [ver V] [hdr NAME VALUE]…
/// [body S|body-lf F]`; header values are log-format strings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpCheckSend {
    /// `meth M`.
    pub method: Option<String>,
    /// `uri U`.
    pub uri: Option<String>,
    /// `ver V`.
    pub version: Option<String>,
    /// `hdr NAME VALUE` lines, in order.
    pub headers: Vec<(String, String)>,
    /// `body S`.
    pub body: Option<String>,
    /// `uri-lf F`: the URI expanded for each check.
    pub uri_lf: Option<LogFormat>,
    /// `body-lf F`: the body expanded for each check.
    pub body_lf: Option<LogFormat>,
    /// Where the line is written.
    pub span: Span,
}

impl HttpCheckRequest {
    /// `option httpchk` alone: `OPTIONS / HTTP/1.0`.
    pub fn bare(span: Span) -> HttpCheckRequest {
        HttpCheckRequest {
            method: "OPTIONS".into(),
            uri: "/".into(),
            version: "HTTP/1.0".into(),
            headers: Vec::new(),
            body: None,
            uri_lf: None,
            body_lf: None,
            span,
        }
    }

    /// The request with `send`'s changes applied. The headers smuggled
    /// after the version of `option httpchk` are dropped, as HAProxy drops
    /// them once `http-check send` is there.
    pub fn with(&self, send: &HttpCheckSend) -> HttpCheckRequest {
        let mut out = self.clone();
        out.headers.clear();
        if let Some(m) = &send.method {
            out.method = m.clone();
        }
        if let Some(u) = &send.uri {
            out.uri = u.clone();
            out.uri_lf = None;
        }
        if send.uri_lf.is_some() {
            out.uri_lf = send.uri_lf.clone();
        }
        if let Some(v) = &send.version {
            out.version = v.clone();
        }
        out.headers.extend(send.headers.iter().cloned());
        if send.body.is_some() {
            out.body = send.body.clone();
            out.body_lf = None;
        }
        if send.body_lf.is_some() {
            out.body_lf = send.body_lf.clone();
        }
        out
    }
}

/// `errorfile CODE FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorFile {
    /// The status whose page it replaces.
    pub status: u16,
    /// The file: a complete HTTP response.
    pub path: Word,
}

/// `errorfiles NAME [CODE…]`: the files of `http-errors NAME` (those of the
/// codes listed, or all), taken in place: `at` is how many `errorfile`
/// entries came before it, so that later ones override it and it overrides
/// earlier ones. Resolved into [`Proxy::errorfiles`] once every section is
/// read (`model.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorFilesImport {
    /// How many `errorfile` entries came before it in the proxy.
    pub at: usize,
    /// The `http-errors` section named.
    pub name: Word,
    /// The codes taken (empty: all of the section's).
    pub codes: Vec<u16>,
    /// How many `http-error` replies came before it: those of the codes it
    /// imports are replaced by the section's files (the later line wins).
    pub http_errors_before: usize,
    /// Codes a later line of the proxy says something else for.
    pub overridden: Vec<u16>,
}

/// `http-error status CODE …`: the message the proxy sends instead of its
/// own for CODE, built as a `return` is (`string`, `lf-string`, `file`,
/// `lf-file`, `hdr`). `errorfile`, `errorfiles` and `default-errorfiles`
/// forms are read into [`Proxy::errorfiles`] and its imports instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpErrorReply {
    /// What is sent, as for a `return`.
    pub spec: crate::ast::http_rule::ReturnSpec,
    /// Where the line is written.
    pub span: Span,
}

/// An `http-errors NAME` section: `errorfile CODE FILE` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpErrors {
    /// The section's name, as `errorfiles NAME` refers to it.
    pub name: Word,
    /// Its `errorfile` lines.
    pub errorfiles: Vec<ErrorFile>,
}

/// `use_backend NAME [if|unless COND]`; the name may be a log-format
/// expression (`%[req.hdr(host),lower,map(hosts.map,be_default)]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseBackend {
    /// The backend, by name or expression.
    pub target: BackendTarget,
    /// When the rule applies; `None`: always.
    pub condition: Option<Condition>,
    /// Where the line is written.
    pub span: Span,
}

/// The backend a `use_backend` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendTarget {
    /// A fixed name, checked at load.
    Named(Word),
    /// A log-format expression, expanded per request (a name that is no
    /// backend makes the rule fall through to the next).
    Dynamic(crate::ast::log_format::LogFormat),
}

/// `clitcpka-idle`/`-intvl`/`-cnt` (or the `srvtcpka-` ones): the TCP
/// keep-alive timings of one side, the system's where not written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpKeepaliveTuning {
    /// `TCP_KEEPIDLE`: idle time before the first probe.
    pub idle: Option<Duration>,
    /// `TCP_KEEPINTVL`: time between probes.
    pub interval: Option<Duration>,
    /// `TCP_KEEPCNT`: probes unanswered before the connection is dropped.
    pub count: Option<u32>,
}

/// `option NAME` / `no option NAME` for options that are on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSetting {
    /// `option NAME` (true) or `no option NAME` (false).
    pub enabled: bool,
    /// Where the line is written.
    pub span: Span,
}

/// The on/off options (`option NAME` / `no option NAME`) a section can
/// set, typed: the gateway reads each through [`Proxy::option`] with one
/// of these, so that a misspelt name is a compile error rather than an
/// option that silently reads as off. [`Switch::name`] is the keyword
/// table's spelling (`keyword/options.rs` holds the two equal in a test).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Switch {
    /// `option dontlognull`.
    DontLogNull,
    /// `option httplog`.
    HttpLog,
    /// `option httplog-clf` (set by `option httplog clf`).
    HttpLogClf,
    /// `option tcplog`.
    TcpLog,
    /// `option redispatch`.
    Redispatch,
    /// `option persist`.
    Persist,
    /// `option allbackups`.
    AllBackups,
    /// `option log-health-checks`.
    LogHealthChecks,
    /// `option http-keep-alive`.
    HttpKeepAlive,
    /// `option http-server-close`.
    HttpServerClose,
    /// `option httpclose`.
    HttpClose,
    /// `option abortonclose`.
    AbortOnClose,
    /// `option tcpka`.
    TcpKa,
    /// `option clitcpka`.
    CliTcpKa,
    /// `option srvtcpka`.
    SrvTcpKa,
    /// `option http-ignore-probes`.
    HttpIgnoreProbes,
    /// `option log-separate-errors`.
    LogSeparateErrors,
    /// `option prefer-last-server`.
    PreferLastServer,
    /// `option tcp-smart-accept`.
    TcpSmartAccept,
    /// `option tcp-smart-connect`.
    TcpSmartConnect,
    /// `option logasap`.
    LogAsap,
}

impl Switch {
    /// Every switch.
    pub const ALL: [Switch; 21] = [
        Switch::DontLogNull,
        Switch::HttpLog,
        Switch::HttpLogClf,
        Switch::TcpLog,
        Switch::Redispatch,
        Switch::Persist,
        Switch::AllBackups,
        Switch::LogHealthChecks,
        Switch::HttpKeepAlive,
        Switch::HttpServerClose,
        Switch::HttpClose,
        Switch::AbortOnClose,
        Switch::TcpKa,
        Switch::CliTcpKa,
        Switch::SrvTcpKa,
        Switch::HttpIgnoreProbes,
        Switch::LogSeparateErrors,
        Switch::PreferLastServer,
        Switch::TcpSmartAccept,
        Switch::TcpSmartConnect,
        Switch::LogAsap,
    ];

    /// The option's name as written after `option`.
    pub const fn name(self) -> &'static str {
        match self {
            Switch::DontLogNull => "dontlognull",
            Switch::HttpLog => "httplog",
            Switch::HttpLogClf => "httplog-clf",
            Switch::TcpLog => "tcplog",
            Switch::Redispatch => "redispatch",
            Switch::Persist => "persist",
            Switch::AllBackups => "allbackups",
            Switch::LogHealthChecks => "log-health-checks",
            Switch::HttpKeepAlive => "http-keep-alive",
            Switch::HttpServerClose => "http-server-close",
            Switch::HttpClose => "httpclose",
            Switch::AbortOnClose => "abortonclose",
            Switch::TcpKa => "tcpka",
            Switch::CliTcpKa => "clitcpka",
            Switch::SrvTcpKa => "srvtcpka",
            Switch::HttpIgnoreProbes => "http-ignore-probes",
            Switch::LogSeparateErrors => "log-separate-errors",
            Switch::PreferLastServer => "prefer-last-server",
            Switch::TcpSmartAccept => "tcp-smart-accept",
            Switch::TcpSmartConnect => "tcp-smart-connect",
            Switch::LogAsap => "logasap",
        }
    }
}

/// Everything a proxy section can say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// The section kind.
    pub kind: ProxyKind,
    /// Empty for an anonymous `defaults`.
    pub name: String,
    /// The header line's name word (or keyword, when anonymous).
    pub name_span: Span,
    /// `mode http|tcp`; `None`: the default, TCP.
    pub mode: Option<Spanned<Mode>>,
    /// `bind` lines: where a frontend listens.
    pub binds: Vec<Bind>,
    /// `acl` lines, in order.
    pub acls: Vec<AclDef>,
    /// `http-request` rules, in order.
    pub http_request: Vec<HttpRule>,
    /// `http-response` rules, in order.
    pub http_response: Vec<HttpRule>,
    /// `http-after-response` rules, in order.
    pub http_after_response: Vec<HttpRule>,
    /// Legacy `redirect` rules, evaluated after `http-request` rules.
    pub redirects: Vec<HttpRule>,
    /// `tcp-request connection …`, in order.
    pub tcp_request_connection: Vec<TcpRule>,
    /// `tcp-request content …`, in order.
    pub tcp_request_content: Vec<TcpRule>,
    /// `tcp-request inspect-delay`: how long content rules may wait for data.
    pub tcp_inspect_delay: Option<Spanned<Duration>>,
    /// `use_backend` rules, in order; the first matching wins.
    pub use_backends: Vec<UseBackend>,
    /// `default_backend`: where requests go when no `use_backend` matches.
    pub default_backend: Option<Word>,
    /// `server` lines, in order.
    pub servers: Vec<Server>,
    /// `dispatch ADDR:PORT`, as a server named `dispatch`.
    pub dispatch: Option<Server>,
    /// `default-server`: options every `server` line starts from.
    pub default_server: ServerOptions,
    /// `balance`; `None`: round robin.
    pub balance: Option<Spanned<BalanceAlgorithm>>,
    /// `hash-type`; `None`: map-based sdbm.
    pub hash_type: Option<Spanned<HashType>>,
    /// `cookie`: persistence by cookie.
    pub cookie: Option<CookieSettings>,
    /// On/off options (`dontlognull`, `redispatch`, `httplog`…).
    pub options: BTreeMap<&'static str, OptionSetting>,
    /// `option forwardfor`.
    pub forwardfor: Option<ForwardFor>,
    /// `option http-restrict-req-hdr-names`; `None` is `preserve`.
    pub restrict_req_hdr_names: Option<HeaderNamePolicy>,
    /// `clitcpka-*`: client-side keep-alive timings.
    pub client_tcpka: TcpKeepaliveTuning,
    /// `srvtcpka-*`: server-side keep-alive timings.
    pub server_tcpka: TcpKeepaliveTuning,
    /// `option httpchk`: the health-check request.
    pub httpchk: Option<HttpCheckRequest>,
    /// `http-check connect|send|expect|comment`, in order.
    pub http_check_rules: Vec<crate::ast::check_rule::CheckRule>,
    /// Whether the check request and rules (`option httpchk`,
    /// `http-check …`) were written in this section; until then they are
    /// the defaults section's, which HAProxy takes as a whole or not at all.
    pub http_check_own: bool,
    /// `http-check send-state`: checks tell the server its state.
    pub http_check_send_state: bool,
    /// `http-check disable-on-404`: a 404 answer to a passing server's
    /// check drains it (NOLB) instead of failing it.
    pub http_check_disable_on_404: bool,
    /// `option tcp-check` or a protocol check (`option redis-check`…);
    /// `None` with `option httpchk` or no check option.
    pub check_option: Option<crate::ast::check_rule::CheckOption>,
    /// `tcp-check connect|send…|expect|comment`, in order.
    pub tcp_check_rules: Vec<crate::ast::check_rule::CheckRule>,
    /// Whether the `tcp-check` rules were written in this section (else
    /// they are the defaults section's, taken as a whole).
    pub tcp_check_own: bool,
    /// The `timeout` lines.
    pub timeouts: Timeouts,
    /// `retries`: connection attempts after the first (default 3).
    pub retries: Option<Spanned<u64>>,
    /// `http-reuse`; `None`: `safe`.
    pub http_reuse: Option<Spanned<HttpReuse>>,
    /// `retry-on`: which failures are retried (default `conn-failure`).
    pub retry_on: Option<Spanned<Vec<String>>>,
    /// `option redispatch <interval>`: HAProxy's `redispatch_after` (`None`
    /// is its default, -1: the last retry).
    pub redispatch_after: Option<i64>,
    /// `maxconn`: a frontend's connections at once.
    pub maxconn: Option<Spanned<u64>>,
    /// `fullconn`: a backend's load at which dynamic `maxconn` is reached.
    pub fullconn: Option<Spanned<u64>>,
    /// The `stats` lines.
    pub stats: StatsSettings,
    /// The `log` lines.
    pub logs: LogSetting,
    /// `log-format`; with `option httplog` and friends decides the line.
    pub log_format: Option<LogFormatSetting>,
    /// `errorfile CODE FILE` lines (and resolved imports).
    pub errorfiles: Vec<ErrorFile>,
    /// `errorfiles NAME [CODE…]`, until resolved into `errorfiles`.
    pub errorfile_imports: Vec<ErrorFilesImport>,
    /// `http-error status CODE …` replies, one per code (a later
    /// `errorfile` or `http-error` for the code replaces it).
    pub http_errors: Vec<HttpErrorReply>,
    /// `force-persist if COND` lines.
    pub force_persist: Vec<Condition>,
    /// `ignore-persist if COND` lines.
    pub ignore_persist: Vec<Condition>,
    /// `monitor-uri URI`: requests for it get the gateway's own health
    /// answer (the last one written wins, as in HAProxy).
    pub monitor_uri: Option<Word>,
    /// `monitor fail if|unless COND`: the monitor answer is 503 when one holds.
    pub monitor_fail: Vec<Condition>,
    /// `description TEXT`: shown on the stats page.
    pub description: Option<String>,
    /// `disabled`: the proxy is not served.
    pub disabled: bool,
    /// `id N`: the proxy's number (`iid` in stats); `None`: assigned.
    pub id: Option<u64>,
    /// A frontend's capture slots and `capture cookie` (never inherited:
    /// HAProxy refuses them in defaults sections).
    pub captures: crate::ast::capture::Captures,
}

/// `BASE/PATH` for a relative `path` when there is a base (HAProxy's
/// `crt-base`/`ca-base`); an absolute path stays.
pub fn rebased(path: &str, base: Option<&str>) -> String {
    match base {
        Some(base) if !path.starts_with('/') => format!("{base}/{path}"),
        _ => path.to_owned(),
    }
}

fn rebase(word: &mut Word, base: Option<&Word>) {
    word.text = rebased(&word.text, base.map(|b| b.text.as_str()));
}

/// What `option http-restrict-req-hdr-names` does with a request header
/// whose name has a character outside `[A-Za-z0-9-]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderNamePolicy {
    /// Keep it (HAProxy's default without FastCGI).
    #[default]
    Preserve,
    /// Remove the header.
    Delete,
    /// Refuse the request with 403.
    Reject,
}

impl HeaderNamePolicy {
    /// Whether `name` is one the policy concerns.
    pub fn restricted(name: &str) -> bool {
        !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }
}

impl Proxy {
    /// Puts the files of each `errorfiles NAME` in place among the
    /// `errorfile` entries (a later entry for a code wins); an unknown
    /// section name is an error.
    pub fn resolve_errorfile_imports(&mut self, sections: &[HttpErrors]) -> Vec<crate::Diagnostic> {
        let mut diags = Vec::new();
        let mut replaced = Vec::new();
        // Last first, so that earlier positions stay valid.
        for import in std::mem::take(&mut self.errorfile_imports)
            .into_iter()
            .rev()
        {
            let Some(section) = sections.iter().find(|s| s.name.text == import.name.text) else {
                diags.push(
                    crate::Diagnostic::error(
                        import.name.span,
                        format!("no http-errors section named '{}'", import.name.text),
                    )
                    .with_help(
                        "declare 'http-errors NAME' with its 'errorfile' lines, or fix the name",
                    ),
                );
                continue;
            };
            let files = section
                .errorfiles
                .iter()
                .filter(|e| import.codes.is_empty() || import.codes.contains(&e.status))
                .filter(|e| !import.overridden.contains(&e.status))
                .cloned();
            let files: Vec<ErrorFile> = files.collect();
            replaced.extend(
                self.http_errors[..import.http_errors_before.min(self.http_errors.len())]
                    .iter()
                    .enumerate()
                    .filter(|(_, h)| files.iter().any(|f| f.status == h.spec.status))
                    .map(|(i, _)| i),
            );
            let at = import.at.min(self.errorfiles.len());
            self.errorfiles.splice(at..at, files);
        }
        let mut index = 0;
        self.http_errors.retain(|_| {
            index += 1;
            !replaced.contains(&(index - 1))
        });
        diags
    }

    /// Forgets what the proxy (or its defaults) said for `status` so far:
    /// a later `errorfile` or `http-error` for it replaces it.
    pub fn forget_error_message(&mut self, status: u16) {
        self.http_errors.retain(|h| h.spec.status != status);
        while let Some(i) = self.errorfiles.iter().position(|e| e.status == status) {
            self.errorfiles.remove(i);
            for import in &mut self.errorfile_imports {
                if import.at > i {
                    import.at -= 1;
                }
            }
        }
        for import in &mut self.errorfile_imports {
            import.overridden.push(status);
        }
    }

    /// A proxy with HAProxy's built-in defaults.
    pub fn new(kind: ProxyKind, name: String, name_span: Span) -> Proxy {
        Proxy {
            kind,
            name,
            name_span,
            mode: None,
            binds: Vec::new(),
            acls: Vec::new(),
            http_request: Vec::new(),
            http_response: Vec::new(),
            http_after_response: Vec::new(),
            redirects: Vec::new(),
            tcp_request_connection: Vec::new(),
            tcp_request_content: Vec::new(),
            tcp_inspect_delay: None,
            use_backends: Vec::new(),
            default_backend: None,
            servers: Vec::new(),
            dispatch: None,
            default_server: ServerOptions::default(),
            balance: None,
            hash_type: None,
            cookie: None,
            options: BTreeMap::new(),
            forwardfor: None,
            restrict_req_hdr_names: None,
            client_tcpka: TcpKeepaliveTuning::default(),
            server_tcpka: TcpKeepaliveTuning::default(),
            httpchk: None,
            http_check_rules: Vec::new(),
            http_check_own: false,
            http_check_send_state: false,
            http_check_disable_on_404: false,
            check_option: None,
            tcp_check_rules: Vec::new(),
            tcp_check_own: false,
            timeouts: Timeouts::default(),
            retries: None,
            http_reuse: None,
            retry_on: None,
            redispatch_after: None,
            maxconn: None,
            fullconn: None,
            stats: StatsSettings::default(),
            logs: LogSetting::default(),
            log_format: None,
            errorfiles: Vec::new(),
            errorfile_imports: Vec::new(),
            http_errors: Vec::new(),
            force_persist: Vec::new(),
            ignore_persist: Vec::new(),
            monitor_uri: None,
            monitor_fail: Vec::new(),
            description: None,
            disabled: false,
            id: None,
            captures: Default::default(),
        }
    }

    /// A new proxy that inherits what HAProxy copies from a defaults
    /// section: everything but the name and the per-proxy lists.
    ///
    /// The TCP/HTTP rules of a named defaults section (`http-request`,
    /// `http-response`, `tcp-request …`) come first in the new proxy's
    /// lists, as HAProxy runs a proxy's defaults rules before its own.
    /// (A defaults section never inherits rules: `model.rs` refuses one
    /// made `from` a defaults section with rules.)
    pub fn inherit(defaults: &Proxy, kind: ProxyKind, name: String, name_span: Span) -> Proxy {
        let rules = kind != ProxyKind::Defaults;
        let inherited = |list: &Vec<HttpRule>| if rules { list.clone() } else { Vec::new() };
        Proxy {
            kind,
            name,
            name_span,
            binds: Vec::new(),
            acls: Vec::new(),
            http_request: inherited(&defaults.http_request),
            http_response: inherited(&defaults.http_response),
            http_after_response: inherited(&defaults.http_after_response),
            redirects: Vec::new(),
            tcp_request_connection: if rules {
                defaults.tcp_request_connection.clone()
            } else {
                Vec::new()
            },
            tcp_request_content: if rules {
                defaults.tcp_request_content.clone()
            } else {
                Vec::new()
            },
            tcp_inspect_delay: defaults.tcp_inspect_delay.clone().filter(|_| rules),
            use_backends: Vec::new(),
            servers: Vec::new(),
            force_persist: Vec::new(),
            ignore_persist: Vec::new(),
            monitor_fail: Vec::new(),
            description: None,
            disabled: false,
            id: None,
            http_check_own: false,
            tcp_check_own: false,
            ..defaults.clone()
        }
    }

    /// `crt-base` and `ca-base` from `global`, applied as HAProxy applies
    /// them: a relative `crt`, `crt-list` (and each relative file the list
    /// names, see [`crate::ast::bind::BindOptions::crt_base`]) or `ca-file` on a `bind`,
    /// `server` or `default-server` line becomes `BASE/PATH`.
    pub fn apply_file_bases(&mut self, crt_base: Option<&Word>, ca_base: Option<&Word>) {
        for bind in &mut self.binds {
            let o = &mut bind.options;
            for word in o.certificates.iter_mut().chain(o.crt_list.iter_mut()) {
                rebase(word, crt_base);
            }
            if let Some(word) = o.ca_file.as_mut() {
                rebase(word, ca_base);
            }
            o.crt_base = crt_base.map(|w| w.text.clone());
        }
        let servers = self.servers.iter_mut().map(|s| &mut s.options);
        for options in servers.chain(std::iter::once(&mut self.default_server)) {
            if let Some(word) = options.ca_file.as_mut() {
                rebase(word, ca_base);
            }
            if let Some(word) = options.crt.as_mut() {
                rebase(word, crt_base);
            }
        }
    }

    /// `global`'s TLS defaults laid under the lines' own settings, as
    /// HAProxy applies `ssl-default-bind-*`, `ssl-default-server-*`,
    /// `ssl-server-verify` and `tune.ssl.*`: under each `bind`, and under
    /// `default-server` (which each `server` is laid over).
    pub fn apply_tls_defaults(&mut self, global: &crate::ast::global::Global) {
        for bind in &mut self.binds {
            let o = &mut bind.options;
            o.tls = o.tls.over(&global.bind_tls);
            o.tls_tuning = global.tls_tuning;
        }
        let d = &mut self.default_server;
        d.tls = d.tls.over(&global.server_tls);
        d.tls_tuning = global.tls_tuning;
        if d.verify.is_none() {
            d.verify = global.ssl_server_verify.clone();
        }
    }

    /// `dispatch ADDR:PORT` as HAProxy applies it once the section is read:
    /// without `balance`, every connection goes to that address, and the
    /// section's servers are not used (warned about); with `balance`, the
    /// dispatch address is ignored, with HAProxy's warning. Here the
    /// address becomes the section's one server, named `dispatch`.
    pub fn apply_dispatch(&mut self) -> Option<crate::Diagnostic> {
        let dispatch = self.dispatch.take()?;
        let span = dispatch.keyword.span;
        if self.balance.is_some() {
            return Some(crate::Diagnostic::warning(
                span,
                format!(
                    "dispatch address of {} '{}' will be ignored in balance mode",
                    self.kind.keyword(),
                    self.name
                ),
            ));
        }
        let unused = !self.servers.is_empty();
        self.servers = vec![dispatch];
        unused.then(|| {
            crate::Diagnostic::warning(
                span,
                format!(
                    "the servers of {} '{}' are not used: without 'balance', 'dispatch' sends every connection to its address, as in HAProxy",
                    self.kind.keyword(),
                    self.name
                ),
            )
            .with_help("remove 'dispatch', or the servers")
        })
    }

    /// Whether this (defaults) section has TCP/HTTP rules, which limit the
    /// sections that may use it.
    pub fn defines_rules(&self) -> bool {
        !(self.http_request.is_empty()
            && self.http_response.is_empty()
            && self.tcp_request_connection.is_empty()
            && self.tcp_request_content.is_empty()
            && self.tcp_inspect_delay.is_none())
    }

    /// The effective mode (HAProxy defaults to TCP).
    pub fn mode(&self) -> Mode {
        self.mode.as_ref().map(|m| m.value).unwrap_or_default()
    }

    /// Whether an on/off option is enabled.
    pub fn option(&self, switch: Switch) -> bool {
        self.enabled_option(switch).is_some()
    }

    /// An on/off option's line, when it is enabled.
    pub fn enabled_option(&self, switch: Switch) -> Option<&OptionSetting> {
        self.options.get(switch.name()).filter(|o| o.enabled)
    }

    /// Whether connections accepted on `bind` leave the first data's ACK
    /// to the answer (`option tcp-smart-accept`): as written, else
    /// HAProxy's automatic choice, on in HTTP mode and on `ssl` binds, where
    /// the client speaks first and the answer follows at once.
    pub fn tcp_smart_accept(&self, bind: &Bind) -> bool {
        match self.options.get(Switch::TcpSmartAccept.name()) {
            Some(setting) => setting.enabled,
            None => self.mode() == Mode::Http || bind.options.ssl,
        }
    }

    /// A server's options with `default-server` applied.
    pub fn server_options(&self, server: &Server) -> ServerOptions {
        server.options.over(&self.default_server)
    }

    /// The first `http-check send`, which `option httpchk`'s request
    /// line merges into.
    pub fn first_http_check_send(&self) -> Option<&HttpCheckSend> {
        self.http_check_rules.iter().find_map(|r| match &r.step {
            crate::ast::check_rule::CheckStep::Send(crate::ast::check_rule::CheckSend::Http(s)) => {
                Some(s)
            }
            _ => None,
        })
    }

    /// The effective retry count (HAProxy's default is 3).
    pub fn retries(&self) -> u64 {
        self.retries.as_ref().map(|r| r.value).unwrap_or(3)
    }
}

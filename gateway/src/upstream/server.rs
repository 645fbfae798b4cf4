//! A server of a backend and its live state. Everything the request path
//! reads or changes is atomic, so choosing a server never takes a lock.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use switchyard_grammar::ast::address::{Host, Port};
use switchyard_grammar::ast::proxy::Proxy;
use switchyard_grammar::ast::server::{Server as ServerLine, ServerOptions};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::queue::WaitQueue;
use crate::net::tls::upstream::ServerTls;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("server '{server}': cannot resolve '{address}': {why}")]
    Resolve {
        server: String,
        address: String,
        why: String,
    },
    /// `init-addr` found no address (HAProxy's alert).
    #[error("server '{server}': {why}")]
    InitAddr {
        server: String,
        why: super::init_addr::Unresolved,
    },
    #[error("server '{server}': address '{address}' has no port (a port from the client connection is not supported yet)")]
    NoPort { server: String, address: String },
    #[error("server '{server}': {source}")]
    Tls {
        server: String,
        source: crate::net::tls::TlsError,
    },
}

/// What an operator set (HAProxy's administrative state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminState {
    /// Takes traffic.
    Ready,
    /// Takes only requests that persistence sends to it.
    Drain,
    /// Takes nothing (maintenance).
    Maint,
}

/// Why the sessions on a server are cut (`on-marked-down`,
/// `on-marked-up`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCut {
    /// The server went DOWN (`on-marked-down shutdown-sessions`).
    Down,
    /// An active server came UP and this backup server's sessions go
    /// (`on-marked-up shutdown-backup-sessions`).
    BackupUp,
}

impl SessionCut {
    /// The first letter of the session's termination state: HAProxy's
    /// `D` (`SF_ERR_DOWN`) and `U` (`SF_ERR_UP`).
    pub fn letter(self) -> char {
        match self {
            SessionCut::Down => 'D',
            SessionCut::BackupUp => 'U',
        }
    }
}

/// What a session on a server waits on to learn that it must end.
pub struct CutWatch(tokio::sync::watch::Receiver<Option<SessionCut>>);

impl CutWatch {
    /// Resolves when the server's sessions are cut after this watch was
    /// taken; never otherwise.
    pub async fn cut(&mut self) -> SessionCut {
        loop {
            if self.0.changed().await.is_err() {
                // The server is gone with its configuration: no cut comes.
                std::future::pending::<()>().await;
            }
            if let Some(why) = *self.0.borrow_and_update() {
                return why;
            }
        }
    }
}

/// Slots of a server without `maxconn`: as good as unlimited.
const UNLIMITED: u32 = 1 << 28;

/// No slot freed in time (`timeout queue`).
#[derive(Debug)]
pub struct QueueTimeout;

pub struct Server {
    pub name: String,
    pub index: usize,
    /// Where the server listens: as configured, until `set server … addr`
    /// moves it ([`Server::addr`]).
    addr: arc_swap::ArcSwap<SocketAddr>,
    /// A server on a unix socket (`addr` is then `0.0.0.0:0`).
    pub unix: Option<crate::net::unix_socket::UnixTarget>,
    /// `init-addr … none` started it without an address (`addr` is then
    /// `0.0.0.0:PORT`): in maintenance, "MAINT (resolution)", for the life
    /// of this configuration (see `init_addr.rs`).
    pub resolution_maint: bool,
    pub backup: bool,
    /// `addr`: where health checks go instead of the server's address.
    pub check_ip: Option<std::net::IpAddr>,
    /// `agent-addr`: where the agent is asked instead of the server's address.
    pub agent_ip: Option<std::net::IpAddr>,
    /// The agent's verdict on the server's health: false from a `down`,
    /// `fail` or `stopped` until an `up`. While false, passing health
    /// checks do not bring the server back (HAProxy's `check_notify_success`).
    agent_up: AtomicBool,
    /// The agent's last status (`L7OK`, `L7STS`) and what it said, for
    /// `show stat`'s `last_agt`.
    agent_status: std::sync::Mutex<(Option<&'static str>, Option<String>)>,
    /// `cookie VALUE` for persistence.
    pub cookie: Option<String>,
    pub options: ServerOptions,
    /// `ssl`: the TLS settings toward this server.
    pub tls: Option<Arc<ServerTls>>,
    /// Health checks in TLS: `check-ssl`, or `ssl` with neither `port`
    /// nor `addr` (HAProxy's rule).
    pub check_tls: Option<Arc<ServerTls>>,
    /// The weight set in the configuration, for `set weight N%`.
    pub initial_weight: u32,
    weight: AtomicU32,
    up: AtomicBool,
    /// An [`AdminState`], as set by `disabled` or the runtime API.
    admin: AtomicU8,
    /// `set server … health stopping`: up, but no new traffic (NOLB).
    stopping: AtomicBool,
    /// `disable health` pauses the checks.
    checks_enabled: AtomicBool,
    /// When the state last changed, for `show servers state`.
    last_change: std::sync::Mutex<std::time::Instant>,
    /// `maxconn` now (0: none), and the slots it allows.
    maxconn: AtomicU32,
    capacity: std::sync::Mutex<u32>,
    in_flight: Arc<AtomicU32>,
    max_in_flight: AtomicU32,
    /// HAProxy's short code for the last check (`L4OK`, `L7STS`…).
    check_status: std::sync::Mutex<Option<&'static str>>,
    /// The checks' health counter (`health.rs`), kept here so that
    /// `show servers state` reports it and a reload resumes from it.
    check_health: AtomicU32,
    slots: Arc<Semaphore>,
    /// Requests waiting for a slot now (`qcur`) and at most (`qmax`).
    queued: AtomicU32,
    max_queued: AtomicU32,
    pub picks: AtomicU64,
    pub failures: AtomicU64,
    /// Failed checks (`chkfail`) and UP→DOWN transitions (`chkdown`).
    pub check_failures: AtomicU64,
    pub downs: AtomicU64,
    /// Time spent down before the current state, in ms (`downtime`).
    downtime_ms: AtomicU64,
    /// Requests retried on this server (`wretr`) and sent elsewhere
    /// after failing here (`wredis`).
    pub retries: AtomicU64,
    pub redispatches: AtomicU64,
    /// Positions in this server's own queue (requests that must go to
    /// it); the others count in their backend's.
    pub queue_positions: WaitQueue,
    /// Tells the sessions on this server when they must end.
    cuts: tokio::sync::watch::Sender<Option<SessionCut>>,
    /// `slowstart` in whole seconds, rounded up as HAProxy keeps it; `None`
    /// without one, or with a static algorithm, which HAProxy never ramps.
    slowstart_secs: Option<u64>,
    /// Since when the server has been coming back (HAProxy's
    /// `SRV_ST_STARTING`): its weight ramps until `slowstart` has passed.
    starting_since: std::sync::Mutex<Option<std::time::Instant>>,
    /// `observe`: the live traffic's errors, counted for the checks.
    pub observer: super::observe::Observer,
    /// The servers whose `track` names this one.
    pub(crate) trackers: super::track::Trackers,
}

/// An `addr` or `agent-addr`: an IP address, or a name resolved once.
fn resolve_ip(
    word: Option<&switchyard_grammar::Word>,
    server: &str,
) -> Result<Option<std::net::IpAddr>, BuildError> {
    let Some(word) = word else {
        return Ok(None);
    };
    word.text
        .parse::<std::net::IpAddr>()
        .or_else(|_| {
            (word.text.as_str(), 0)
                .to_socket_addrs()
                .map_err(|e| e.to_string())
                .and_then(|mut a| a.next().ok_or_else(|| "no address".to_owned()))
                .map(|a| a.ip())
        })
        .map(Some)
        .map_err(|why| BuildError::Resolve {
            server: server.to_owned(),
            address: word.text.clone(),
            why,
        })
}

impl Server {
    pub fn build(proxy: &Proxy, line: &ServerLine, index: usize) -> Result<Server, BuildError> {
        let options = proxy.server_options(line);
        let unix = crate::net::unix_socket::UnixTarget::of(&line.address);
        let port = match line.address.port {
            // A unix socket has no port; `addr` is then a placeholder.
            _ if unix.is_some() => 0,
            Port::Range(p, _) => p,
            _ => {
                return Err(BuildError::NoPort {
                    server: line.name.text.clone(),
                    address: line.address.word.text.clone(),
                })
            }
        };
        let addr = match &line.address.host {
            _ if unix.is_some() => Some(SocketAddr::from(([0, 0, 0, 0], 0))),
            Host::Ip(ip) => Some(SocketAddr::new(*ip, port)),
            Host::Name(name) => {
                let resolved = super::init_addr::resolve(
                    name,
                    port,
                    options.init_addr.as_deref(),
                    super::init_addr::libc,
                )
                .map_err(|why| BuildError::InitAddr {
                    server: line.name.text.clone(),
                    why,
                })?;
                if let Some(warning) = resolved.warning {
                    tracing::warn!("'server {}/{}' : {warning}.", proxy.name, line.name.text);
                }
                resolved.addr
            }
            other => {
                return Err(BuildError::Resolve {
                    server: line.name.text.clone(),
                    address: format!("{other:?}"),
                    why: "not an IP address or host name".into(),
                })
            }
        };
        let check_ip = resolve_ip(options.check_addr.as_ref(), &line.name.text)?;
        let agent_ip = resolve_ip(options.agent_addr.as_ref(), &line.name.text)?;
        let weight = options.weight.unwrap_or(1) as u32;
        let maxconn = options.maxconn.unwrap_or(0).min(u64::from(UNLIMITED)) as u32;
        let capacity = if maxconn == 0 { UNLIMITED } else { maxconn };
        let ssl = options.ssl == Some(true);
        let check_ssl = options.check_ssl == Some(true)
            || (ssl && options.check_port.is_none() && options.check_addr.is_none());
        let tls = if ssl || check_ssl {
            let built = ServerTls::build(&options).map_err(|source| BuildError::Tls {
                server: line.name.text.clone(),
                source,
            })?;
            Some(Arc::new(built))
        } else {
            None
        };
        Ok(Server {
            check_ip,
            agent_ip,
            agent_up: AtomicBool::new(true),
            agent_status: std::sync::Mutex::new((None, None)),
            // `check-alpn`: the checks' offer instead of the server's `alpn`.
            check_tls: tls
                .clone()
                .filter(|_| check_ssl)
                .map(|tls| match &options.check_alpn {
                    Some(alpn) => Arc::new(tls.with_alpn(alpn)),
                    None => tls,
                }),
            tls: tls.filter(|_| ssl),
            name: line.name.text.clone(),
            index,
            resolution_maint: addr.is_none(),
            addr: arc_swap::ArcSwap::from_pointee(
                addr.unwrap_or(SocketAddr::from(([0, 0, 0, 0], port))),
            ),
            unix,
            backup: options.backup.unwrap_or(false),
            cookie: options.cookie.clone(),
            initial_weight: weight,
            weight: AtomicU32::new(weight),
            // HAProxy starts servers UP and lets checks take them down.
            up: AtomicBool::new(true),
            admin: AtomicU8::new(if options.disabled.unwrap_or(false) {
                AdminState::Maint as u8
            } else {
                AdminState::Ready as u8
            }),
            stopping: AtomicBool::new(false),
            checks_enabled: AtomicBool::new(true),
            last_change: std::sync::Mutex::new(std::time::Instant::now()),
            maxconn: AtomicU32::new(maxconn),
            capacity: std::sync::Mutex::new(capacity),
            in_flight: Arc::new(AtomicU32::new(0)),
            max_in_flight: AtomicU32::new(0),
            check_status: std::sync::Mutex::new(None),
            check_health: AtomicU32::new(
                super::health::Health::starting(
                    options.rise.unwrap_or(2) as u32,
                    options.fall.unwrap_or(3) as u32,
                )
                .value(),
            ),
            slots: Arc::new(Semaphore::new(capacity as usize)),
            queued: AtomicU32::new(0),
            max_queued: AtomicU32::new(0),
            picks: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            check_failures: AtomicU64::new(0),
            downs: AtomicU64::new(0),
            downtime_ms: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            redispatches: AtomicU64::new(0),
            queue_positions: WaitQueue::default(),
            cuts: tokio::sync::watch::Sender::new(None),
            slowstart_secs: options
                .slowstart
                .map(|d| d.as_millis().div_ceil(1000) as u64)
                .filter(|secs| *secs > 0 && !super::static_algorithm(proxy)),
            starting_since: std::sync::Mutex::new(None),
            trackers: super::track::Trackers::default(),
            observer: super::observe::Observer::new(
                &options,
                proxy.mode() == switchyard_grammar::ast::proxy::Mode::Http,
            ),
            options,
        })
    }

    /// A watch for a session starting on this server: it learns of the
    /// cuts made from now on.
    pub fn cuts(&self) -> CutWatch {
        CutWatch(self.cuts.subscribe())
    }

    /// Ends every session on this server that holds a [`CutWatch`].
    pub fn cut_sessions(&self, why: SessionCut) {
        self.cuts.send_replace(Some(why));
    }

    pub fn agent_says_up(&self) -> bool {
        self.agent_up.load(Ordering::Relaxed)
    }

    pub fn agent_status(&self) -> Option<&'static str> {
        self.agent_status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
    }

    /// What the agent last said (`via agent : down`…).
    pub fn agent_info(&self) -> Option<String> {
        self.agent_status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }

    pub fn set_agent_status(&self, status: &'static str, info: Option<String>) {
        *self.agent_status.lock().unwrap_or_else(|e| e.into_inner()) = (Some(status), info);
    }

    pub fn set_agent_up(&self, up: bool) {
        self.agent_up.store(up, Ordering::Relaxed);
    }

    /// The health counter's full value (`rise + fall - 1`), which an
    /// agent's `up` sets.
    pub fn full_health(&self) -> u32 {
        super::health::Health::starting(
            self.options.rise.unwrap_or(2) as u32,
            self.options.fall.unwrap_or(3) as u32,
        )
        .full()
    }

    pub fn weight(&self) -> u32 {
        self.weight.load(Ordering::Relaxed)
    }

    /// After a reload, this (new) server takes over the live state of the
    /// same server in the old configuration: up or down, last check,
    /// operator settings and counters. Only for the same address and
    /// configured weight; anything else starts afresh.
    pub fn inherit(&self, old: &Server) {
        if old.addr() != self.addr() || old.initial_weight != self.initial_weight {
            return;
        }
        self.up.store(old.is_up(), Ordering::Relaxed);
        self.stopping.store(old.is_stopping(), Ordering::Relaxed);
        // A server `disabled` in the new file stays in maintenance.
        if self.admin_state() == AdminState::Ready {
            self.set_admin_state(old.admin_state());
        }
        self.weight.store(old.weight(), Ordering::Relaxed);
        self.checks_enabled
            .store(old.checks_enabled(), Ordering::Relaxed);
        if let Some(code) = old.check_status() {
            self.set_check_status(code);
        }
        self.set_check_health(old.check_health());
        self.set_agent_up(old.agent_says_up());
        *self.last_change.lock().unwrap_or_else(|e| e.into_inner()) =
            *old.last_change.lock().unwrap_or_else(|e| e.into_inner());
        self.picks
            .store(old.picks.load(Ordering::Relaxed), Ordering::Relaxed);
        self.failures
            .store(old.failures.load(Ordering::Relaxed), Ordering::Relaxed);
        self.max_in_flight
            .store(old.max_in_flight(), Ordering::Relaxed);
        for (new, old) in [
            (&self.check_failures, &old.check_failures),
            (&self.downs, &old.downs),
            (&self.downtime_ms, &old.downtime_ms),
            (&self.retries, &old.retries),
            (&self.redispatches, &old.redispatches),
        ] {
            new.store(old.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    /// `slowstart`: a server coming back (UP again, or out of
    /// maintenance; never at startup) starts its weight ramp.
    pub(crate) fn start_slowstart(&self) {
        if self.slowstart_secs.is_some() {
            *self
                .starting_since
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(std::time::Instant::now());
        }
    }

    /// During `slowstart`, the ramp's step out of HAProxy's 16
    /// (`BE_WEIGHT_SCALE`): `(16 × elapsed + slowstart) / slowstart`, in
    /// whole seconds, as `server_recalc_eweight` counts; `None` at full
    /// weight.
    fn slowstart_step(&self) -> Option<u32> {
        let total = self.slowstart_secs?;
        let mut since = self
            .starting_since
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let elapsed = since.as_ref()?.elapsed().as_secs();
        if elapsed >= total {
            *since = None;
            return None;
        }
        Some(((16 * elapsed + total) / total) as u32)
    }

    /// The weight balancing gives the server: [`Server::weight`], ramped
    /// during `slowstart` as HAProxy's effective weight (`show stat`'s
    /// `weight`).
    pub fn effective_weight(&self) -> u32 {
        let weight = self.weight();
        match self.slowstart_step() {
            Some(step) => (weight * step).div_ceil(16),
            None => weight,
        }
    }

    /// `show stat`'s `throttle` during `slowstart`: the percentage of its
    /// weight the server has (HAProxy's `server_throttle_rate`).
    pub fn throttle(&self) -> Option<u32> {
        let weight = self.weight();
        let step = self.slowstart_step()?;
        Some(if weight == 0 {
            100
        } else {
            (100 * weight * step + 15) / (16 * weight)
        })
    }

    /// For the runtime API's `set weight`; balancing reads it on the next pick.
    pub fn set_weight(&self, weight: u32) {
        self.weight.store(weight.min(256), Ordering::Relaxed);
    }

    /// Where the server listens now (`0.0.0.0:PORT` without an address).
    pub fn addr(&self) -> SocketAddr {
        **self.addr.load()
    }

    /// `set server … addr`: new connections and checks go to `addr`.
    pub fn set_addr(&self, addr: SocketAddr) {
        self.addr.store(Arc::new(addr));
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    pub fn set_up(&self, up: bool) {
        if self.up.swap(up, Ordering::Relaxed) != up {
            if up {
                // Back up: the time it was down counts as downtime.
                let down_for = self.since_last_change().as_millis() as u64;
                self.downtime_ms.fetch_add(down_for, Ordering::Relaxed);
                self.start_slowstart();
            } else {
                self.downs.fetch_add(1, Ordering::Relaxed);
            }
            self.touch();
        }
        if up {
            self.stopping.store(false, Ordering::Relaxed);
        }
    }

    /// `set server … health stopping`: up, but balancing leaves it alone.
    pub fn set_stopping(&self) {
        self.set_up(true);
        self.stopping.store(true, Ordering::Relaxed);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    pub fn admin_state(&self) -> AdminState {
        match self.admin.load(Ordering::Relaxed) {
            0 => AdminState::Ready,
            1 => AdminState::Drain,
            _ => AdminState::Maint,
        }
    }

    /// Sets the operator's state; entering maintenance empties the health
    /// counter, as HAProxy does (checks pause until it ends).
    pub fn set_admin_state(&self, state: AdminState) {
        if self.admin.swap(state as u8, Ordering::Relaxed) != state as u8 {
            self.touch();
        }
        if state == AdminState::Maint {
            self.set_check_health(0);
        }
    }

    /// `set server … health up|stopping|down` and the stats page's
    /// `hrunn`/`hnolb`/`hdown`: the health counter full (`rise + fall - 1`)
    /// or empty, as HAProxy's forced states set it.
    pub fn force_health_counter(&self, up: bool) {
        let full = self.options.rise.unwrap_or(2) + self.options.fall.unwrap_or(3) - 1;
        self.set_check_health(if up { full as u32 } else { 0 });
    }

    /// In maintenance: set by an operator, or started without an address.
    pub fn in_maintenance(&self) -> bool {
        self.resolution_maint || self.admin_state() == AdminState::Maint
    }

    pub fn checks_enabled(&self) -> bool {
        self.checks_enabled.load(Ordering::Relaxed)
    }

    /// `disable health` / `enable health`. Pausing the checks keeps the
    /// server's state (HAProxy 2.6 leaves a DOWN server DOWN).
    pub fn set_checks_enabled(&self, enabled: bool) {
        self.checks_enabled.store(enabled, Ordering::Relaxed);
    }

    /// Total time spent down (`downtime`), the current period included.
    pub fn downtime(&self) -> Duration {
        let mut ms = self.downtime_ms.load(Ordering::Relaxed);
        if !self.is_up() {
            ms += self.since_last_change().as_millis() as u64;
        }
        Duration::from_millis(ms)
    }

    /// How long since the server's state last changed.
    pub fn since_last_change(&self) -> Duration {
        self.last_change
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
    }

    fn touch(&self) {
        *self.last_change.lock().unwrap_or_else(|e| e.into_inner()) = std::time::Instant::now();
    }

    /// `maxconn` now; 0 for none.
    pub fn maxconn(&self) -> u32 {
        self.maxconn.load(Ordering::Relaxed)
    }

    /// `set maxconn server`: more slots at once; fewer as requests in
    /// progress finish (their slots are taken back instead of freed).
    pub fn set_maxconn(&self, maxconn: u32) {
        let maxconn = maxconn.min(UNLIMITED);
        let wanted = if maxconn == 0 { UNLIMITED } else { maxconn };
        let mut capacity = self.capacity.lock().unwrap_or_else(|e| e.into_inner());
        if wanted > *capacity {
            self.slots.add_permits((wanted - *capacity) as usize);
        } else if wanted < *capacity {
            let excess = (*capacity - wanted) as usize;
            let taken_back = self.slots.forget_permits(excess);
            let owed = (excess - taken_back) as u32;
            if owed > 0 {
                let slots = self.slots.clone();
                tokio::spawn(async move {
                    if let Ok(permits) = slots.acquire_many_owned(owed).await {
                        permits.forget();
                    }
                });
            }
        }
        *capacity = wanted;
        self.maxconn.store(maxconn, Ordering::Relaxed);
    }

    /// Whether balancing may choose this server.
    pub fn usable(&self) -> bool {
        self.is_up()
            && !self.resolution_maint
            && self.admin_state() == AdminState::Ready
            && !self.is_stopping()
            && self.weight() > 0
    }

    /// Requests being served now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The most requests it had at once.
    /// Requests waiting for a slot (`qcur`) and the most at once (`qmax`).
    pub fn queue(&self) -> (u32, u32) {
        (
            self.queued.load(Ordering::Relaxed),
            self.max_queued.load(Ordering::Relaxed),
        )
    }

    pub fn max_in_flight(&self) -> u32 {
        self.max_in_flight.load(Ordering::Relaxed)
    }

    pub fn check_status(&self) -> Option<&'static str> {
        *self.check_status.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_check_status(&self, code: &'static str) {
        *self.check_status.lock().unwrap_or_else(|e| e.into_inner()) = Some(code);
    }

    pub fn check_health(&self) -> u32 {
        self.check_health.load(Ordering::Relaxed)
    }

    pub fn set_check_health(&self, value: u32) {
        self.check_health.store(value, Ordering::Relaxed);
    }

    /// The checks start over as at startup: UP, falling at the first
    /// failure (HAProxy, on leaving maintenance).
    pub fn restart_checks(&self) {
        if self.options.check != Some(true) {
            // No checks: the counter stays empty, as HAProxy leaves it.
            return;
        }
        let rise = self.options.rise.unwrap_or(2) as u32;
        let fall = self.options.fall.unwrap_or(3) as u32;
        self.set_check_health(super::health::Health::starting(rise, fall).value());
    }

    pub fn record_failure(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    /// A slot on the server, waiting at most `queue` when it is at `maxconn`
    /// (its place counted in `line`: the server's own queue, or its
    /// backend's, for `%sq`/`%bq`).
    pub async fn acquire(
        &self,
        queue: Option<Duration>,
        line: &WaitQueue,
    ) -> Result<ServerPermit, QueueTimeout> {
        let (slot, queue_position) = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => (slot, 0),
            // No free slot: the request queues (`qcur`, `qmax`).
            Err(_) => {
                let now = self.queued.fetch_add(1, Ordering::Relaxed) + 1;
                self.max_queued.fetch_max(now, Ordering::Relaxed);
                let _leaves = QueueExit(&self.queued);
                let ticket = line.enter();
                let wait = self.slots.clone().acquire_owned();
                let slot = match queue {
                    Some(limit) => tokio::time::timeout(limit, wait)
                        .await
                        .map_err(|_| QueueTimeout)?,
                    None => wait.await,
                };
                (slot.map_err(|_| QueueTimeout)?, ticket.served())
            }
        };
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_in_flight.fetch_max(now, Ordering::Relaxed);
        self.picks.fetch_add(1, Ordering::Relaxed);
        Ok(ServerPermit {
            _slot: Some(slot),
            in_flight: self.in_flight.clone(),
            queue_position,
        })
    }
}

/// Takes a request off its server's queue count however it leaves the
/// queue (a slot, the queue timeout, or the client going away).
struct QueueExit<'a>(&'a AtomicU32);

impl Drop for QueueExit<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Held while a request is on a server; frees the slot when dropped.
pub struct ServerPermit {
    _slot: Option<OwnedSemaphorePermit>,
    in_flight: Arc<AtomicU32>,
    /// Where the request stood in the queue it waited in (0: it did not
    /// wait), for `%sq`/`%bq`.
    pub queue_position: u32,
}

impl Drop for ServerPermit {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

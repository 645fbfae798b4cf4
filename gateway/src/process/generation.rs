//! The running gateway as a sequence of generations, one per loaded
//! configuration. A reload (SIGHUP, SIGUSR2) loads and checks the files
//! again; an invalid configuration is logged and changes nothing. A valid
//! one is built beside the old (servers keep their live state, frontends
//! their counters), then every listening address switches to it in one
//! step: addresses kept keep their socket, so no client is refused; new
//! ones are bound, removed ones closed. The old generation's connections
//! finish the request in progress and close, after which it is gone.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::net::unix_socket::UnixBind;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::front::accept::{accept_loop, Current, Service, Slot};
use crate::front::listener::HttpBind;
use crate::front::retirement::{retirement, Phase, Retire, Retirement};
use crate::net::inherit::handover::Exported;
use crate::process::config_check::Checked;
use crate::process::runtime::{self, Runtime};
use crate::runtime_api::ApiState;

/// Where the configuration comes from, to read it again on reload.
#[derive(Debug, Clone)]
pub enum Source {
    Files(Vec<PathBuf>),
    /// The demo's built-in text.
    Text {
        name: &'static str,
        text: &'static str,
    },
}

impl Source {
    /// Loads and checks the configuration; the rendered diagnostics when
    /// it is not valid or not servable.
    pub fn load(&self) -> Result<Checked, String> {
        let loaded = match self {
            Source::Files(files) => {
                crate::process::config_files::load(files).map_err(|e| format!("{e:#}"))?
            }
            Source::Text { name, text } => crate::process::config_files::load_text(name, text),
        };
        let (checked, text) = crate::process::config_check::check(loaded, true);
        let checked = checked.ok_or(text)?;
        let refused = crate::process::support::not_yet_served(&checked.loaded.config);
        if !refused.is_empty() {
            return Err(refused
                .iter()
                .map(|d| d.render(&checked.loaded.sources))
                .collect());
        }
        Ok(checked)
    }
}

/// One configuration's running state.
struct Generation {
    runtime: Runtime,
    services: Vec<(SocketAddr, Service)>,
    /// The HTTP services on unix sockets.
    unix_services: Vec<(UnixBind, Service)>,
    retire: Retire,
    retirement: Retirement,
    checks: Vec<JoinHandle<()>>,
}

impl Generation {
    fn build(
        checked: &Checked,
        rules: Arc<switchyard_rules::RuleSet>,
        previous: Option<&Runtime>,
    ) -> anyhow::Result<Generation> {
        let config = &checked.loaded.config;
        let runtime = runtime::build(config, rules.clone(), previous)?;
        let mut services = Vec::new();
        for (addr, frontend) in &runtime.listeners {
            let bind = HttpBind {
                tls: runtime.tls.get(addr).cloned(),
                h2_only: runtime.h2_only.contains(addr),
            };
            let service = match runtime.http_l4.iter().find(|(a, _)| a == addr) {
                Some((_, l4)) => Service::HttpL4(frontend.clone(), l4.clone(), bind),
                None => Service::Http(frontend.clone(), bind),
            };
            services.push((*addr, service));
        }
        let unix_services = runtime
            .unix_listeners
            .iter()
            .map(|(bind, frontend)| {
                (
                    bind.clone(),
                    Service::Http(frontend.clone(), HttpBind::default()),
                )
            })
            .collect();
        for spec in &runtime.tcp_listeners {
            services.push((
                spec.addr,
                Service::Tcp {
                    frontend: spec.frontend.clone(),
                    accept_proxy: spec.accept_proxy,
                },
            ));
        }
        let (retire, retirement) = retirement();
        let mut checks = Vec::new();
        for backend in &runtime.backends {
            checks.extend(backend.spawn_checks(&config.global, &rules));
        }
        Ok(Generation {
            runtime,
            services,
            unix_services,
            retire,
            retirement,
            checks,
        })
    }

    /// Stops this generation's checks and asks its connections to finish;
    /// forgets it once they have.
    fn retire(self) {
        for task in &self.checks {
            task.abort();
        }
        self.retire.now(Phase::Reloaded);
        tokio::spawn(async move {
            self.retire.drained().await;
            drop(self.runtime);
        });
    }
}

/// Listening sockets bound before the process went to the background or
/// dropped its privileges, to be used by the first generation.
#[derive(Default)]
pub struct Prebound {
    pub tcp: HashMap<SocketAddr, std::net::TcpListener>,
}

/// One listening address of the gateway.
struct Listening {
    /// The service of the generation in force there.
    slot: Slot,
    /// The accept loop.
    task: JoinHandle<()>,
    /// The socket, to set its options again when a reload changes them.
    socket: Arc<TcpListener>,
}

/// A listening unix socket: the service in force there and its accept loop.
struct UnixListening {
    slot: Slot,
    task: JoinHandle<()>,
}

/// The gateway: its listening addresses and the generation in force.
pub struct Gateway {
    source: Source,
    current: Generation,
    listeners: HashMap<SocketAddr, Listening>,
    unix_listeners: HashMap<UnixBind, UnixListening>,
    maxconn: Arc<Semaphore>,
    api: Arc<ArcSwap<ApiState>>,
    api_tasks: Vec<JoinHandle<()>>,
    /// The listeners `_getsocks` hands over to a new process.
    exported: Arc<Exported>,
    started: Instant,
    threads: usize,
}

impl Gateway {
    /// Builds the first generation and starts serving it.
    pub fn start(
        source: Source,
        checked: Checked,
        mut prebound: Prebound,
        maxconn: usize,
        threads: usize,
    ) -> anyhow::Result<Gateway> {
        let rules = Arc::new(checked.rules.clone());
        let interfaces = crate::process::runtime::bind_interfaces(&checked.loaded.config)?;
        let current = Generation::build(&checked, rules.clone(), None)?;
        let started = Instant::now();
        let api = Arc::new(ArcSwap::from_pointee(ApiState {
            backends: current.runtime.backends.clone(),
            views: current.runtime.views.clone(),
            rules,
            started,
            threads,
        }));
        let exported = Arc::new(Exported::default());
        let api_tasks = crate::runtime_api::listen(
            &checked.loaded.config.global,
            api.clone(),
            exported.clone(),
        )?;
        let mut gateway = Gateway {
            source,
            current,
            listeners: HashMap::new(),
            unix_listeners: HashMap::new(),
            maxconn: Arc::new(Semaphore::new(maxconn)),
            api,
            api_tasks,
            exported,
            started,
            threads,
        };
        // Unix sockets first: once a TCP port answers, every listener is
        // there (tests and scripts wait for a port, not for a file).
        for (bind, service) in gateway.current.unix_services.clone() {
            let listener = bind.listen()?;
            gateway.open_unix(bind, listener, service);
        }
        let services = gateway.current.services.clone();
        for (addr, service) in services {
            let std_listener = match prebound.tcp.remove(&addr) {
                Some(std_listener) => std_listener,
                None => crate::front::listener::open_frontend(
                    addr,
                    interfaces.get(&addr).map(String::as_str),
                )?,
            };
            let listener = TcpListener::from_std(std_listener)?;
            gateway.open(addr, listener, service);
        }
        Ok(gateway)
    }

    fn open_unix(&mut self, bind: UnixBind, listener: tokio::net::UnixListener, service: Service) {
        let slot: Slot = Arc::new(ArcSwap::from_pointee(Current {
            service,
            retirement: self.current.retirement.clone(),
        }));
        let task = tokio::spawn(crate::front::accept::unix_accept_loop(
            listener,
            slot.clone(),
            self.maxconn.clone(),
        ));
        self.unix_listeners
            .insert(bind, UnixListening { slot, task });
    }

    fn open(&mut self, addr: SocketAddr, listener: TcpListener, service: Service) {
        let slot: Slot = Arc::new(ArcSwap::from_pointee(Current {
            service,
            retirement: self.current.retirement.clone(),
        }));
        let listener = Arc::new(listener);
        self.set_smart_accept(addr, &listener);
        self.exported.add(&listener);
        let task = tokio::spawn(accept_loop(
            listener.clone(),
            slot.clone(),
            self.maxconn.clone(),
        ));
        self.listeners.insert(
            addr,
            Listening {
                slot,
                task,
                socket: listener,
            },
        );
    }

    /// `option tcp-smart-accept` on the socket of `addr`, as the generation
    /// in force has it.
    fn set_smart_accept(&self, addr: SocketAddr, socket: &TcpListener) {
        let smart = self.current.runtime.smart_accept.contains(&addr);
        if let Err(e) = crate::front::listener::set_smart_accept(socket, smart) {
            tracing::warn!(%addr, error = %e, "cannot set tcp-smart-accept");
        }
    }

    pub fn listener_count(&self) -> usize {
        self.listeners.len()
    }

    pub fn backend_count(&self) -> usize {
        self.current.runtime.backends.len()
    }

    /// Loads the configuration again and switches to it; on any error the
    /// running generation stays and the error is returned for the log.
    pub fn reload(&mut self) -> Result<(), String> {
        let checked = self.source.load()?;
        let rules = Arc::new(checked.rules.clone());
        let next = Generation::build(&checked, rules.clone(), Some(&self.current.runtime))
            .map_err(|e| format!("{e:#}"))?;
        let interfaces = crate::process::runtime::bind_interfaces(&checked.loaded.config)
            .map_err(|e| format!("{e:#}"))?;
        // Bind the new addresses first: if one fails, nothing has changed.
        let mut fresh = Vec::new();
        for (addr, _) in &next.services {
            if !self.listeners.contains_key(addr) {
                let listener = crate::front::listener::open_frontend(
                    *addr,
                    interfaces.get(addr).map(String::as_str),
                )
                .and_then(TcpListener::from_std)
                .with_context(|| format!("cannot bind {addr}"))
                .map_err(|e| format!("{e:#}"))?;
                fresh.push((*addr, listener));
            }
        }
        let mut fresh_unix = Vec::new();
        for (bind, service) in &next.unix_services {
            if !self.unix_listeners.contains_key(bind) {
                let listener = bind.listen().map_err(|e| format!("{e:#}"))?;
                fresh_unix.push((bind.clone(), listener, service.clone()));
            }
        }
        let previous = std::mem::replace(&mut self.current, next);
        let services = self.current.services.clone();
        for (addr, service) in &services {
            if let Some(listening) = self.listeners.get(addr) {
                self.set_smart_accept(*addr, &listening.socket);
                listening.slot.store(Arc::new(Current {
                    service: service.clone(),
                    retirement: self.current.retirement.clone(),
                }));
            }
        }
        for (addr, listener) in fresh {
            let service = services
                .iter()
                .find(|(a, _)| *a == addr)
                .map(|(_, s)| s.clone())
                .expect("bound for this generation's own address");
            self.open(addr, listener, service);
        }
        let unix_services = self.current.unix_services.clone();
        for (bind, service) in &unix_services {
            if let Some(listening) = self.unix_listeners.get(bind) {
                listening.slot.store(Arc::new(Current {
                    service: service.clone(),
                    retirement: self.current.retirement.clone(),
                }));
            }
        }
        for (bind, listener, service) in fresh_unix {
            self.open_unix(bind, listener, service);
        }
        self.unix_listeners.retain(|bind, listening| {
            let keep = unix_services.iter().any(|(b, _)| b == bind);
            if !keep {
                listening.task.abort();
            }
            keep
        });
        let kept: Vec<SocketAddr> = services.iter().map(|(a, _)| *a).collect();
        self.listeners.retain(|addr, listening| {
            let keep = kept.contains(addr);
            if !keep {
                listening.task.abort();
            }
            keep
        });
        self.api.store(Arc::new(ApiState {
            backends: self.current.runtime.backends.clone(),
            views: self.current.runtime.views.clone(),
            rules,
            started: self.started,
            threads: self.threads,
        }));
        previous.retire();
        Ok(())
    }

    /// SIGUSR1: no new connections; the ones open finish their request in
    /// progress (TCP sessions their exchange), then the process may exit.
    /// `hard_stop_after` bounds the wait.
    pub async fn soft_stop(mut self, hard_stop_after: Option<Duration>) {
        let unix_tasks = self.unix_listeners.drain().map(|(_, l)| l.task);
        let accepting: Vec<JoinHandle<()>> = self
            .listeners
            .drain()
            .map(|(_, listening)| listening.task)
            .chain(unix_tasks)
            .inspect(|task| task.abort())
            .collect();
        // Stopped for sure before the count of open connections is
        // watched: on a multi-threaded runtime an accept loop may be past
        // its `accept` when the abort comes, and the connection it is
        // handing over must count, or the process could exit with it
        // unanswered.
        for task in accepting {
            let _ = task.await;
        }
        for task in &self.api_tasks {
            task.abort();
        }
        for task in &self.current.checks {
            task.abort();
        }
        self.current.retire.now(Phase::Stopping);
        let drained = self.current.retire.drained();
        match hard_stop_after {
            Some(limit) => {
                if tokio::time::timeout(limit, drained).await.is_err() {
                    tracing::warn!(
                        "hard-stop-after: {} connection(s) still open, stopping anyway",
                        self.current.retire.open_connections()
                    );
                }
            }
            None => drained.await,
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        for (_, listening) in self.listeners.drain() {
            listening.task.abort();
        }
        for (_, listening) in self.unix_listeners.drain() {
            listening.task.abort();
        }
        for task in self.api_tasks.iter().chain(&self.current.checks) {
            task.abort();
        }
    }
}

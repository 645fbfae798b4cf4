//! The server side of the gateway: a backend's servers and their state
//! ([`server`]), choosing one ([`balance`]), cookie persistence
//! ([`persist`], with [`cacheability`] for `nocache`) and health checks
//! ([`check`]).

pub mod balance;
pub mod cacheability;
pub mod check;
pub mod cookie_date;
pub mod events;
pub mod h2_peer_settings;
pub mod health;
pub mod init_addr;
pub mod observe;
pub mod persist;
pub mod pool;
pub mod queue;
pub mod send_state;
pub mod server;
pub mod server_body;
pub mod server_conn;
pub mod track;

use std::sync::Arc;

use switchyard_grammar::ast::global::Global;
use switchyard_grammar::ast::proxy::{Proxy, Switch};
use tokio::task::JoinHandle;

pub use balance::PickContext;
pub use server::{BuildError, Server, ServerPermit};

use balance::Balancer;
use check::schedule::CheckSchedule;
use check::CheckPlan;
use persist::Persistence;

/// The servers one pick chooses among.
type Candidates<'a> = smallvec::SmallVec<[&'a Arc<Server>; 16]>;

pub struct Backend {
    pub name: String,
    pub servers: Vec<Arc<Server>>,
    balancer: Box<dyn Balancer>,
    pub persistence: Option<Persistence>,
    pub allbackups: bool,
    /// `option persist`: a cookie naming a DOWN server still goes there.
    pub persist_to_down: bool,
    /// Where server state changes and check results are logged.
    pub events: events::EventLog,
    /// Positions in the queue of requests the balancer placed (`%bq`).
    pub queue_positions: queue::WaitQueue,
    pub(crate) config: Proxy,
}

impl Backend {
    pub fn build(proxy: &Proxy) -> Result<Backend, BuildError> {
        let servers = proxy
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| Server::build(proxy, s, i).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let hash_type = proxy
            .hash_type
            .as_ref()
            .map(|h| h.value)
            .unwrap_or_default();
        Ok(Backend {
            name: proxy.name.clone(),
            servers,
            balancer: balance::build(proxy.balance.as_ref().map(|b| &b.value), hash_type),
            persistence: proxy.cookie.clone().map(Persistence::new),
            allbackups: proxy.option(Switch::AllBackups),
            persist_to_down: proxy.option(Switch::Persist),
            events: events::EventLog::default(),
            queue_positions: queue::WaitQueue::default(),
            config: proxy.clone(),
        })
    }

    /// Logs its server events to `proxy`'s `log` targets (with
    /// `option log-health-checks`, every change of a check's result too).
    pub fn logging_events(
        mut self,
        proxy: &Proxy,
        global: &Global,
    ) -> Result<Backend, crate::log::sink::SinkError> {
        let sinks = crate::log::sink::LogSink::open_for_proxy(proxy, global)?;
        self.events = events::EventLog::new(sinks, proxy.option(Switch::LogHealthChecks));
        Ok(self)
    }

    pub fn server(&self, index: usize) -> Option<Arc<Server>> {
        self.servers.get(index).cloned()
    }

    /// The server a persistence cookie value names, when it may be used:
    /// an up server, a down one with `option persist`, any with
    /// `force-persist` (`forced`), even one in maintenance.
    pub fn persisted(&self, cookie: &str, forced: bool) -> Option<Arc<Server>> {
        let server = self
            .servers
            .iter()
            .find(|s| s.cookie.as_deref() == Some(cookie))?;
        // Not even `force-persist` reaches a server without an address.
        let reachable = !server.resolution_maint
            && (forced || (!server.in_maintenance() && (server.is_up() || self.persist_to_down)));
        reachable.then(|| server.clone())
    }

    /// Balances among usable servers not in `avoid`: active ones, else
    /// backups (all of them with `option allbackups`, else the first).
    pub fn pick(&self, ctx: &PickContext<'_>, avoid: &[usize]) -> Option<Arc<Server>> {
        let usable = |s: &&Arc<Server>| s.usable() && !avoid.contains(&s.index);
        // On the stack for the usual handful of servers.
        let mut candidates: Candidates = self
            .servers
            .iter()
            .filter(|s| !s.backup)
            .filter(usable)
            .collect();
        if candidates.is_empty() {
            candidates = self
                .servers
                .iter()
                .filter(|s| s.backup)
                .filter(usable)
                .collect();
            if !self.allbackups {
                candidates.truncate(1);
            }
        }
        if candidates.is_empty() {
            return None;
        }
        let chosen = self
            .balancer
            .pick(&candidates, ctx)
            .min(candidates.len() - 1);
        Some(candidates[chosen].clone())
    }

    /// Static algorithms place servers once: HAProxy only lets their weights
    /// go to 0% or back to 100%.
    fn is_static(&self) -> bool {
        static_algorithm(&self.config)
    }

    /// Applies `N` or `N%` (of the configured weight) to `server`, as the
    /// runtime API's `set weight` and an agent's `75%` ask, with HAProxy's
    /// messages for what it refuses.
    pub fn change_weight(&self, server: &Server, text: Option<&String>) -> Result<(), String> {
        let weight =
            switchyard::wire::api_syntax::WeightArg::parse(text)?.resolve(server.initial_weight);
        if self.is_static() && weight != 0 && weight != server.initial_weight {
            return Err(
                "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'."
                    .into(),
            );
        }
        server.set_weight(weight);
        Ok(())
    }

    /// Requests the backend holds now: on a server or waiting for one
    /// (HAProxy's `beconn`, `%bc`).
    pub fn requests(&self) -> u64 {
        self.servers.iter().fold(0, |sum, s| {
            sum + u64::from(s.in_flight()) + u64::from(s.queue().0)
        })
    }

    /// (active, backup) servers that can take traffic.
    pub fn usable_counts(&self) -> (usize, usize) {
        let active = self
            .servers
            .iter()
            .filter(|s| !s.backup && s.usable())
            .count();
        let backup = self
            .servers
            .iter()
            .filter(|s| s.backup && s.usable())
            .count();
        (active, backup)
    }

    /// Starts one check task per server with `check`, spread over the
    /// first interval (or `max-spread-checks`), varied by `spread-checks`.
    pub fn spawn_checks(
        self: &Arc<Self>,
        global: &Global,
        rules: &Arc<switchyard_rules::RuleSet>,
    ) -> Vec<JoinHandle<()>> {
        let mut tasks = self.spawn_health_checks(global, rules);
        tasks.extend(self.spawn_agent_checks(global));
        tasks
    }

    /// One agent task per server with `agent-check`, spread as health checks are.
    fn spawn_agent_checks(self: &Arc<Self>, global: &Global) -> Vec<JoinHandle<()>> {
        let plans: Vec<_> = self
            .servers
            .iter()
            // A server without an address has nothing to ask.
            .filter(|s| !s.resolution_maint)
            .filter_map(|s| Some((s, check::agent::AgentPlan::for_server(&self.config, s)?)))
            .collect();
        let count = plans.len().max(1) as u32;
        plans
            .into_iter()
            .enumerate()
            .map(|(i, (server, plan))| {
                let schedule = CheckSchedule::new(plan.inter, i as u32, count, global);
                tokio::spawn(check::agent::run(
                    self.clone(),
                    server.clone(),
                    plan,
                    schedule,
                ))
            })
            .collect()
    }

    fn spawn_health_checks(
        self: &Arc<Self>,
        global: &Global,
        rules: &Arc<switchyard_rules::RuleSet>,
    ) -> Vec<JoinHandle<()>> {
        let checked: Vec<&Arc<Server>> = self
            .servers
            .iter()
            .filter(|s| s.options.check == Some(true) && !s.resolution_maint)
            .collect();
        let count = checked.len().max(1) as u32;
        checked
            .into_iter()
            .enumerate()
            .map(|(i, server)| {
                let mut plan = CheckPlan::for_server(&self.config, server, rules);
                if plan.send_state.is_some() {
                    plan.send_state = Some(node_name(global));
                }
                let schedule = CheckSchedule::new(plan.inter, i as u32, count, global);
                tokio::spawn(check::run(self.clone(), server.clone(), plan, schedule))
            })
            .collect()
    }
}

/// Whether `proxy` balances with a static algorithm (`static-rr`, a
/// map-based hash), which places servers once: their weights only go to
/// 0% or back to 100%, and `slowstart` does not ramp them.
pub(crate) fn static_algorithm(proxy: &Proxy) -> bool {
    use switchyard_grammar::ast::proxy::{BalanceAlgorithm, HashMethod};
    let consistent = proxy
        .hash_type
        .as_ref()
        .is_some_and(|h| h.value.method == HashMethod::Consistent);
    match proxy.balance.as_ref().map(|b| &b.value) {
        Some(BalanceAlgorithm::StaticRr) => true,
        Some(
            BalanceAlgorithm::Source
            | BalanceAlgorithm::Uri { .. }
            | BalanceAlgorithm::UrlParam { .. }
            | BalanceAlgorithm::Hdr { .. },
        ) => !consistent,
        _ => false,
    }
}

/// HAProxy's `node`: the global setting, else the host's name.
fn node_name(global: &Global) -> String {
    global.node.clone().unwrap_or_else(|| {
        nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default()
    })
}

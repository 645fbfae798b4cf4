//! `track [BACKEND/]SERVER`: a server whose state follows another's. The
//! tracked server keeps the list of its trackers; each UP or DOWN it goes
//! is passed down the chain by `events.rs`, logged "via BACKEND/SERVER" as
//! HAProxy logs it (`srv_append_status`). The configuration was checked by
//! `switchyard_grammar::validate::track` (the target exists, is checked,
//! no loop).

use std::sync::{Arc, Mutex, Weak};

use super::{Backend, Server};

/// A server following this one, and the backend it belongs to (weak: the
/// backends of a configuration point at each other).
struct Tracker {
    backend: Weak<Backend>,
    server: Arc<Server>,
}

/// The servers that track one server.
#[derive(Default)]
pub struct Trackers(Mutex<Vec<Tracker>>);

impl Trackers {
    fn add(&self, backend: &Arc<Backend>, server: &Arc<Server>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Tracker {
                backend: Arc::downgrade(backend),
                server: server.clone(),
            });
    }

    /// The tracking servers still served, with their backends.
    pub fn each(&self) -> Vec<(Arc<Backend>, Arc<Server>)> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|t| Some((t.backend.upgrade()?, t.server.clone())))
            .collect()
    }
}

/// `BACKEND/SERVER`, the tracked server `server` of `backend` names, as
/// `show stat`'s `tracked` column and the messages write it.
pub fn tracked_name(backend: &str, server: &Server) -> Option<String> {
    let target = &server.options.track.as_ref()?.text;
    Some(match target.contains('/') {
        true => target.clone(),
        false => format!("{backend}/{target}"),
    })
}

/// Registers every tracking server with the server it tracks, across all
/// of a configuration's `backends`.
pub fn link(backends: &[Arc<Backend>]) {
    for backend in backends {
        for server in &backend.servers {
            let Some(name) = tracked_name(&backend.name, server) else {
                continue;
            };
            let Some((b, s)) = name.split_once('/') else {
                continue;
            };
            let tracked = backends
                .iter()
                .find(|candidate| candidate.name == b)
                .and_then(|candidate| candidate.servers.iter().find(|t| t.name == s));
            if let Some(tracked) = tracked {
                tracked.trackers.add(backend, server);
            }
        }
    }
}

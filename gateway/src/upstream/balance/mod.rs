//! Choosing a server: one [`Balancer`] per `balance` algorithm, each in its
//! own file with its defining property tested beside it.

mod first;
mod hash;
mod leastconn;
mod random;
mod roundrobin;
mod static_rr;

use std::net::IpAddr;
use std::sync::Arc;

use http::HeaderMap;
use switchyard_grammar::ast::proxy::{BalanceAlgorithm, HashType};

use super::server::Server;

pub use hash::{HashBalancer, HashKey};

/// What hashing algorithms may look at; no hyper types.
pub struct PickContext<'a> {
    pub client: IpAddr,
    /// Path and query as received.
    pub target: &'a str,
    pub headers: &'a HeaderMap,
}

impl<'a> PickContext<'a> {
    pub fn from_request(parts: &'a http::request::Parts, client: IpAddr) -> Self {
        PickContext {
            client,
            target: parts
                .uri
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or("/"),
            headers: &parts.headers,
        }
    }
}

/// One balancing algorithm.
pub trait Balancer: Send + Sync {
    /// Picks among `candidates` (usable servers, never empty), returning an
    /// index into it.
    fn pick(&self, candidates: &[&Arc<Server>], ctx: &PickContext<'_>) -> usize;
}

/// A server HAProxy's round robins pass over (lb_fwrr.c, lb_map.c): one
/// with a `maxconn` that is reached, or with requests already waiting for
/// it. Its turn is used up; the request goes to the next server in the
/// order, and waits only when every server is full.
pub(crate) fn is_full(server: &Server) -> bool {
    let maxconn = server.maxconn();
    maxconn > 0 && (server.in_flight() >= maxconn || server.queue().0 > 0)
}

/// The balancer for a backend's `balance` and `hash-type` lines
/// (roundrobin when none).
pub fn build(algorithm: Option<&BalanceAlgorithm>, hash_type: HashType) -> Box<dyn Balancer> {
    match algorithm.unwrap_or(&BalanceAlgorithm::RoundRobin) {
        BalanceAlgorithm::RoundRobin => Box::new(roundrobin::RoundRobin::default()),
        BalanceAlgorithm::StaticRr => Box::new(static_rr::StaticRr::default()),
        BalanceAlgorithm::LeastConn => Box::new(leastconn::LeastConn::default()),
        BalanceAlgorithm::First => Box::new(first::First),
        BalanceAlgorithm::Random { draws } => Box::new(random::Random::new(*draws)),
        BalanceAlgorithm::Source => Box::new(HashBalancer::new(HashKey::Source, hash_type)),
        BalanceAlgorithm::Uri {
            whole,
            len,
            depth,
            path_only,
        } => Box::new(HashBalancer::new(
            HashKey::Uri {
                whole: *whole,
                len: *len,
                depth: *depth,
                path_only: *path_only,
            },
            hash_type,
        )),
        BalanceAlgorithm::UrlParam { name } => Box::new(HashBalancer::new(
            HashKey::UrlParam(name.clone()),
            hash_type,
        )),
        BalanceAlgorithm::Hdr {
            name,
            use_domain_only,
        } => Box::new(HashBalancer::new(
            HashKey::Header {
                name: name.to_ascii_lowercase(),
                domain_only: *use_domain_only,
            },
            hash_type,
        )),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use switchyard_grammar::ast::proxy::Proxy;
    use switchyard_grammar::Environment;

    use crate::upstream::server::Server;

    use switchyard_grammar::NoFiles;

    /// A request from 127.0.0.1 for `/` with no header.
    pub fn ctx() -> super::PickContext<'static> {
        static HEADERS: std::sync::OnceLock<http::HeaderMap> = std::sync::OnceLock::new();
        super::PickContext {
            client: "127.0.0.1".parse().expect("literal"),
            target: "/",
            headers: HEADERS.get_or_init(http::HeaderMap::new),
        }
    }

    /// Servers from `server` lines such as `a 127.0.0.1:1 weight 3`.
    pub fn servers(lines: &[&str]) -> Vec<Arc<Server>> {
        let mut text = String::from("backend b\n");
        for l in lines {
            text.push_str(&format!("    server {l}\n"));
        }
        let loaded =
            switchyard_grammar::load(&[("t.cfg".into(), text)], Environment::new(), &NoFiles);
        let proxy: &Proxy = &loaded.config.proxies[0];
        proxy
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| Arc::new(Server::build(proxy, s, i).unwrap()))
            .collect()
    }
}

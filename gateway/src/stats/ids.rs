//! Proxy ids (the CSV's `iid`, `show servers state`'s `be_id`, the admin
//! form's `b=#ID`), numbered as HAProxy numbers them: the `GLOBAL` proxy
//! that a `stats socket` creates takes id 1, then every `frontend`,
//! `backend` and `listen` (disabled ones included), in configuration
//! order, takes the first id not given by an `id` keyword from a counter
//! that every proxy advances, forced or not (HAProxy's `next_pxid`).

use std::collections::HashSet;

use switchyard_grammar::Config;

/// The id of each of `config.proxies`, in the same order.
pub fn proxy_ids(config: &Config) -> Vec<u32> {
    let first = if config.global.stats_sockets.is_empty() {
        1
    } else {
        2
    };
    numbered(config.proxies.iter().map(|p| p.id), first)
}

/// The id of each of the backend's servers, in the same order.
pub fn server_ids(backend: &crate::upstream::Backend) -> Vec<u32> {
    numbered(backend.servers.iter().map(|s| s.options.id), 1)
}

/// Ids for a list whose members may force theirs (`id N`): the others take
/// the first id no member forced from a counter that every member advances,
/// as HAProxy numbers proxies (`next_pxid`) and a backend's servers
/// (`next_id`).
pub fn numbered(forced: impl Iterator<Item = Option<u64>> + Clone, first: u32) -> Vec<u32> {
    let taken: HashSet<u32> = forced
        .clone()
        .filter_map(|id| id.and_then(|id| u32::try_from(id).ok()))
        .collect();
    let mut next = first;
    forced
        .map(|id| {
            let id = match id.and_then(|id| u32::try_from(id).ok()) {
                Some(id) => id,
                None => {
                    while taken.contains(&next) {
                        next += 1;
                    }
                    next
                }
            };
            next += 1;
            id
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<u32> {
        let loaded = switchyard_grammar::load(
            &[("t.cfg".into(), text.into())],
            switchyard_grammar::Environment::new(),
            &switchyard_grammar::NoFiles,
        );
        assert!(!loaded.diagnostics.has_errors(), "{:?}", loaded.diagnostics);
        proxy_ids(&loaded.config)
    }

    #[test]
    fn the_stats_socket_takes_id_one() {
        let body = "defaults\n mode http\nfrontend fe1\n bind :8080\n default_backend b1\nbackend b1\n server s 127.0.0.1:1\nbackend b2\n server s 127.0.0.1:1\n";
        assert_eq!(ids(body), vec![1, 2, 3]);
        let with_socket = format!("global\n stats socket /tmp/x.sock\n{body}");
        assert_eq!(ids(&with_socket), vec![2, 3, 4]);
    }

    #[test]
    fn forced_ids_are_skipped_by_automatic_ones() {
        let body = "defaults\n mode http\nfrontend fe1\n bind :8080\n default_backend b1\nbackend b1\n id 2\n server s 127.0.0.1:1\nbackend b2\n server s 127.0.0.1:1\n";
        assert_eq!(ids(body), vec![1, 2, 3]);
        let body = "defaults\n mode http\nfrontend fe1\n id 1\n bind :8080\n default_backend b1\nbackend b1\n server s 127.0.0.1:1\nbackend b2\n id 2\n server s 127.0.0.1:1\n";
        assert_eq!(ids(body), vec![1, 3, 2]);
    }

    /// HAProxy 2.6.12 numbered this configuration 2, 7, 5, 4, 8, 9
    /// (`fixtures/haproxy/proxy-ids.txt`).
    #[test]
    fn every_proxy_advances_the_counter() {
        let body = "global\n stats socket /tmp/x.sock\ndefaults\n mode http\nfrontend fe1\n bind :8080\n default_backend b1\nbackend b1\n id 7\n server s1 127.0.0.1:1\nbackend b2\n server s1 127.0.0.1:1\nlisten l3\n bind :8081\n id 4\n server s1 127.0.0.1:1\nbackend b4\n disabled\n server s1 127.0.0.1:1\nbackend b5\n server s1 127.0.0.1:1\n";
        assert_eq!(ids(body), vec![2, 7, 5, 4, 8, 9]);
    }

    /// Servers `up, down, nc, forced (id 7), nc2` were numbered 1, 2, 3, 7,
    /// 5 by HAProxy 2.6.12 (`fixtures/haproxy/servers-state.txt`).
    #[test]
    fn servers_are_numbered_the_same_way() {
        let forced = [None, None, None, Some(7), None];
        assert_eq!(numbered(forced.into_iter(), 1), vec![1, 2, 3, 7, 5]);
    }
}

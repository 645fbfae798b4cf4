//! Hash-based balancing: `source`, `uri`, `url_param`, `hdr(NAME)`, with
//! `hash-type map-based` (hash modulo the total weight: stable while the
//! server set is stable) or `consistent` (a ring: a server going away only
//! moves its own keys). A request without the key (no such parameter or
//! header) falls back to round robin, as in HAProxy.

use std::sync::Arc;

use switchyard_grammar::ast::proxy::{HashFunction, HashMethod, HashType};

use super::roundrobin::RoundRobin;
use super::{Balancer, PickContext};
use crate::upstream::server::Server;

#[derive(Debug, Clone)]
pub enum HashKey {
    Source,
    Uri {
        whole: bool,
        len: Option<u64>,
        depth: Option<u64>,
        path_only: bool,
    },
    UrlParam(String),
    Header {
        name: String,
        domain_only: bool,
    },
}

pub struct HashBalancer {
    key: HashKey,
    hash_type: HashType,
    fallback: RoundRobin,
}

impl HashBalancer {
    pub fn new(key: HashKey, hash_type: HashType) -> Self {
        HashBalancer {
            key,
            hash_type,
            fallback: RoundRobin::default(),
        }
    }

    fn key_bytes(&self, ctx: &PickContext<'_>) -> Option<Vec<u8>> {
        match &self.key {
            HashKey::Source => Some(match switchyard_rules::fetch::canonical(ctx.client) {
                std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
                std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
            }),
            HashKey::Uri {
                whole,
                len,
                depth,
                path_only,
            } => {
                let mut uri = ctx.target;
                if !whole || *path_only {
                    uri = uri.split('?').next().unwrap_or(uri);
                }
                if let Some(depth) = depth {
                    let mut slashes = 0;
                    if let Some(cut) = uri.char_indices().find(|(_, c)| {
                        if *c == '/' {
                            slashes += 1;
                        }
                        slashes > *depth
                    }) {
                        uri = &uri[..cut.0];
                    }
                }
                let mut bytes = uri.as_bytes().to_vec();
                if let Some(len) = len {
                    bytes.truncate(*len as usize);
                }
                Some(bytes)
            }
            HashKey::UrlParam(name) => {
                let query = ctx.target.split_once('?')?.1;
                query.split('&').find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    (k == name).then(|| v.as_bytes().to_vec())
                })
            }
            HashKey::Header { name, domain_only } => {
                let value = ctx.headers.get(name.as_str())?.to_str().ok()?.trim();
                if value.is_empty() {
                    return None;
                }
                if *domain_only {
                    // The second-to-last label of the host: "www.shop.example.com" → "example".
                    let host = value.split(':').next().unwrap_or(value);
                    let labels: Vec<&str> = host.split('.').collect();
                    let label = if labels.len() >= 2 {
                        labels[labels.len() - 2]
                    } else {
                        host
                    };
                    return Some(label.as_bytes().to_vec());
                }
                Some(value.as_bytes().to_vec())
            }
        }
    }

    fn hash(&self, bytes: &[u8]) -> u32 {
        let mut h = match self.hash_type.function {
            HashFunction::Sdbm => bytes.iter().fold(0u32, |h, &b| {
                u32::from(b)
                    .wrapping_add(h << 6)
                    .wrapping_add(h << 16)
                    .wrapping_sub(h)
            }),
            HashFunction::Djb2 => bytes.iter().fold(5381u32, |h, &b| {
                h.wrapping_mul(33).wrapping_add(u32::from(b))
            }),
            HashFunction::Wt6 => bytes.iter().fold(0u32, |h, &b| {
                (h.rotate_left(6) ^ u32::from(b)).wrapping_mul(0x9E37_79B1)
            }),
            HashFunction::Crc32 => crc32(bytes),
        };
        if self.hash_type.avalanche || self.hash_type.method == HashMethod::Consistent {
            h = avalanche(h);
        }
        h
    }
}

/// Thomas Wang's integer mix, so nearby keys land far apart.
fn avalanche(mut a: u32) -> u32 {
    a = (a ^ 61) ^ (a >> 16);
    a = a.wrapping_add(a << 3);
    a ^= a >> 4;
    a = a.wrapping_mul(0x27d4_eb2d);
    a ^ (a >> 15)
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

impl Balancer for HashBalancer {
    fn pick(&self, candidates: &[&Arc<Server>], ctx: &PickContext<'_>) -> usize {
        let Some(key) = self.key_bytes(ctx) else {
            return self.fallback.pick(candidates, ctx);
        };
        let h = self.hash(&key);
        match self.hash_type.method {
            HashMethod::MapBased => {
                let total: u64 = candidates
                    .iter()
                    .map(|s| u64::from(s.effective_weight()))
                    .sum();
                let mut point = u64::from(h) % total.max(1);
                for (i, s) in candidates.iter().enumerate() {
                    if point < u64::from(s.effective_weight()) {
                        return i;
                    }
                    point -= u64::from(s.effective_weight());
                }
                0
            }
            HashMethod::Consistent => {
                // Each server owns weight×16 points on the ring, placed by its
                // name; the key goes to the first point at or after its hash.
                let mut best: Option<(u32, usize)> = None;
                let mut lowest: Option<(u32, usize)> = None;
                for (i, s) in candidates.iter().enumerate() {
                    for replica in 0..(s.effective_weight().max(1) * 16) {
                        let point =
                            avalanche(self.hash(format!("{}#{replica}", s.name).as_bytes()));
                        if point >= h && best.is_none_or(|(p, _)| point < p) {
                            best = Some((point, i));
                        }
                        if lowest.is_none_or(|(p, _)| point < p) {
                            lowest = Some((point, i));
                        }
                    }
                }
                best.or(lowest).map(|(_, i)| i).unwrap_or(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::balance::testing::servers;

    fn pick(b: &HashBalancer, s: &[Arc<Server>], client: &str, target: &str) -> usize {
        let headers = http::HeaderMap::new();
        let ctx = PickContext {
            client: client.parse().unwrap(),
            target,
            headers: &headers,
        };
        let candidates: Vec<&Arc<Server>> = s.iter().collect();
        b.pick(&candidates, &ctx)
    }

    #[test]
    fn same_key_same_server() {
        let s = servers(&["a 127.0.0.1:1", "b 127.0.0.1:2", "c 127.0.0.1:3"]);
        let b = HashBalancer::new(HashKey::Source, HashType::default());
        let first = pick(&b, &s, "192.0.2.7", "/");
        assert!((0..20).all(|_| pick(&b, &s, "192.0.2.7", "/") == first));
        let spread: std::collections::HashSet<usize> = (0..50)
            .map(|i| pick(&b, &s, &format!("192.0.2.{i}"), "/"))
            .collect();
        assert_eq!(spread.len(), 3, "different clients reach every server");
    }

    #[test]
    fn uri_options_and_missing_keys() {
        let s = servers(&["a 127.0.0.1:1", "b 127.0.0.1:2", "c 127.0.0.1:3"]);
        let b = HashBalancer::new(
            HashKey::Uri {
                whole: false,
                len: None,
                depth: Some(1),
                path_only: false,
            },
            HashType::default(),
        );
        assert_eq!(
            pick(&b, &s, "127.0.0.1", "/img/a.png?x=1"),
            pick(&b, &s, "127.0.0.1", "/img/b.png")
        );
        let p = HashBalancer::new(HashKey::UrlParam("user".into()), HashType::default());
        assert_eq!(
            pick(&p, &s, "127.0.0.1", "/?user=bob"),
            pick(&p, &s, "127.0.0.9", "/x?a=1&user=bob")
        );
        // No parameter: round robin over the servers.
        let rr: std::collections::HashSet<usize> =
            (0..3).map(|_| pick(&p, &s, "127.0.0.1", "/")).collect();
        assert_eq!(rr.len(), 3);
    }

    #[test]
    fn consistent_hashing_moves_only_the_lost_servers_keys() {
        let all = servers(&["a 127.0.0.1:1", "b 127.0.0.1:2", "c 127.0.0.1:3"]);
        let ht = HashType {
            method: HashMethod::Consistent,
            ..HashType::default()
        };
        let b = HashBalancer::new(HashKey::UrlParam("k".into()), ht);
        let before: Vec<String> = (0..200)
            .map(|i| {
                all[pick(&b, &all, "127.0.0.1", &format!("/?k={i}"))]
                    .name
                    .clone()
            })
            .collect();
        let without_c: Vec<Arc<Server>> = all.iter().filter(|s| s.name != "c").cloned().collect();
        let after: Vec<String> = (0..200)
            .map(|i| {
                without_c[pick(&b, &without_c, "127.0.0.1", &format!("/?k={i}"))]
                    .name
                    .clone()
            })
            .collect();
        for (x, y) in before.iter().zip(&after) {
            if x != "c" {
                assert_eq!(x, y, "keys of surviving servers stay put");
            }
        }
    }
}

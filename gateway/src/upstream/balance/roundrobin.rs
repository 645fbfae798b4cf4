//! `balance roundrobin` and `static-rr`: smooth weighted round robin — a
//! server of weight 3 next to one of weight 1 is chosen 3 times in 4, its
//! turns spread out rather than in a burst. `roundrobin` reads weights at
//! each pick (runtime changes apply at once); `static-rr` keeps the
//! configured weights.

use std::sync::{Arc, Mutex};

use super::{Balancer, PickContext};
use crate::upstream::server::Server;

pub struct RoundRobin {
    /// Each server's running score, by server index.
    current: Mutex<Vec<i64>>,
    dynamic_weights: bool,
}

impl RoundRobin {
    pub fn dynamic() -> Self {
        RoundRobin {
            current: Mutex::new(Vec::new()),
            dynamic_weights: true,
        }
    }

    pub fn fixed() -> Self {
        RoundRobin {
            current: Mutex::new(Vec::new()),
            dynamic_weights: false,
        }
    }
}

impl Balancer for RoundRobin {
    fn pick(&self, candidates: &[&Arc<Server>], _ctx: &PickContext<'_>) -> usize {
        let weight = |s: &Server| {
            i64::from(if self.dynamic_weights {
                s.weight()
            } else {
                s.initial_weight.max(1)
            })
        };
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let needed = candidates.iter().map(|s| s.index + 1).max().unwrap_or(0);
        if current.len() < needed {
            current.resize(needed, 0);
        }
        let total: i64 = candidates.iter().map(|s| weight(s)).sum();
        let mut best = 0;
        for (i, s) in candidates.iter().enumerate() {
            current[s.index] += weight(s);
            if current[s.index] > current[candidates[best].index] {
                best = i;
            }
        }
        current[candidates[best].index] -= total;
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::balance::testing::servers;

    fn sequence(rr: &RoundRobin, servers: &[Arc<Server>], n: usize) -> String {
        let headers = http::HeaderMap::new();
        let ctx = PickContext {
            client: "127.0.0.1".parse().unwrap(),
            target: "/",
            headers: &headers,
        };
        let candidates: Vec<&Arc<Server>> = servers.iter().collect();
        (0..n)
            .map(|_| servers[rr.pick(&candidates, &ctx)].name.clone())
            .collect::<Vec<_>>()
            .join("")
    }

    #[test]
    fn weights_are_honoured_and_spread() {
        let s = servers(&["a 127.0.0.1:1 weight 3", "b 127.0.0.1:2 weight 1"]);
        let seq = sequence(&RoundRobin::dynamic(), &s, 8);
        assert_eq!(seq.matches('a').count(), 6);
        assert!(!seq.contains("aaaa"), "smooth: {seq}");
    }

    #[test]
    fn weight_changes_apply_at_once_for_roundrobin_only() {
        let s = servers(&["a 127.0.0.1:1", "b 127.0.0.1:2"]);
        let rr = RoundRobin::dynamic();
        s[1].set_weight(0);
        // A weight-0 server is never a candidate in practice; here it stays
        // listed to show the score only counts weights.
        assert_eq!(sequence(&rr, &s, 4), "aaaa");
        let fixed = RoundRobin::fixed();
        assert_eq!(sequence(&fixed, &s, 4).matches('b').count(), 2);
    }
}

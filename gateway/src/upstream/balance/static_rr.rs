//! `balance static-rr`: HAProxy's map-based round robin (lb_map.c). A table
//! of (total weight × 16) slots is filled once from the configured weights,
//! the first declared server winning ties, then walked in a circle — the
//! same order as HAProxy 2.6 (weights 1,2,3 give `acbcbc`). Weights changed
//! at runtime do not apply, as documented for HAProxy's static-rr; the
//! table is rebuilt when the usable servers change.

use std::sync::{Arc, Mutex};

use super::{Balancer, PickContext};
use crate::upstream::server::Server;

#[derive(Default)]
struct Map {
    /// The server indices the table was built for.
    signature: Vec<usize>,
    /// Candidate positions, one per slot.
    table: Vec<usize>,
    next: usize,
}

#[derive(Default)]
pub struct StaticRr {
    map: Mutex<Map>,
}

fn build(weights: &[u64]) -> Vec<usize> {
    let total: u64 = weights.iter().sum();
    let mut score = vec![0i64; weights.len()];
    let mut table = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best: Option<(usize, i64)> = None;
        for (i, w) in weights.iter().enumerate() {
            score[i] += *w as i64;
            let v = (score[i] + total as i64) / total as i64;
            if best.is_none_or(|(_, max)| v > max) {
                best = Some((i, v));
            }
        }
        let (i, _) = best.unwrap_or((0, 0));
        table.push(i);
        score[i] -= total as i64;
    }
    table
}

impl Balancer for StaticRr {
    fn pick(&self, candidates: &[&Arc<Server>], _ctx: &PickContext<'_>) -> usize {
        let signature: Vec<usize> = candidates.iter().map(|s| s.index).collect();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.signature != signature {
            let weights: Vec<u64> = candidates
                .iter()
                .map(|s| u64::from(s.initial_weight.max(1)) * 16)
                .collect();
            *map = Map {
                signature,
                table: build(&weights),
                next: 0,
            };
        }
        // HAProxy's `map_get_server_rr`: the walk passes over full
        // servers; when all are, the next slot's server, and the walk
        // stays where it was.
        let len = map.table.len();
        let start = map.next % len;
        let free = (0..len)
            .map(|step| (start + step) % len)
            .find(|&at| !super::is_full(candidates[map.table[at].min(candidates.len() - 1)]));
        let at = free.unwrap_or(start);
        if free.is_some() {
            map.next = (at + 1) % len;
        }
        map.table[at].min(candidates.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::balance::testing::servers;

    #[tokio::test]
    async fn a_full_server_is_passed_over() {
        let s = servers(&["a 127.0.0.1:1 maxconn 1", "b 127.0.0.1:2"]);
        let ctx = crate::upstream::balance::testing::ctx();
        let candidates: Vec<&Arc<Server>> = s.iter().collect();
        let rr = StaticRr::default();
        let name = || s[rr.pick(&candidates, &ctx)].name.clone();
        assert_eq!(name() + &name(), "ab");
        let held = s[0].acquire(None, &s[0].queue_positions).await.unwrap();
        assert_eq!(name() + &name(), "bb");
        drop(held);
        assert_eq!(name() + &name(), "ab");
    }

    #[test]
    fn same_order_as_haproxy_and_weights_are_static() {
        let s = servers(&[
            "a 127.0.0.1:1 weight 1",
            "b 127.0.0.1:2 weight 2",
            "c 127.0.0.1:3 weight 3",
        ]);
        let ctx = crate::upstream::balance::testing::ctx();
        let candidates: Vec<&Arc<Server>> = s.iter().collect();
        let rr = StaticRr::default();
        let seq: String = (0..12)
            .map(|_| s[rr.pick(&candidates, &ctx)].name.clone())
            .collect();
        assert_eq!(seq, "acbcbcacbcbc", "observed with HAProxy 2.6.12");
        s[0].set_weight(100);
        let seq: String = (0..6)
            .map(|_| s[rr.pick(&candidates, &ctx)].name.clone())
            .collect();
        assert_eq!(seq, "acbcbc", "runtime weights do not change static-rr");
    }
}

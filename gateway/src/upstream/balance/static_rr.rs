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
        let chosen = map.table[map.next % map.table.len()];
        map.next = (map.next + 1) % map.table.len();
        chosen.min(candidates.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::balance::testing::servers;

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

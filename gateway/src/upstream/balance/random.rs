//! `balance random[(N)]`: draw N servers at random (by weight) and keep the
//! least loaded — HAProxy's "power of two choices" by default.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{Balancer, PickContext};
use crate::upstream::server::Server;

pub struct Random {
    draws: u64,
    state: AtomicU64,
}

impl Random {
    pub fn new(draws: u64) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Random {
            draws: draws.max(1),
            state: AtomicU64::new(seed | 1),
        }
    }

    /// xorshift64*: plenty for spreading load.
    fn next(&self) -> u64 {
        let mut x = self.state.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state.store(x, Ordering::Relaxed);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn weighted(&self, candidates: &[&Arc<Server>]) -> usize {
        let total: u64 = candidates.iter().map(|s| u64::from(s.weight())).sum();
        let mut point = self.next() % total.max(1);
        for (i, s) in candidates.iter().enumerate() {
            let w = u64::from(s.weight());
            if point < w {
                return i;
            }
            point -= w;
        }
        0
    }
}

impl Balancer for Random {
    fn pick(&self, candidates: &[&Arc<Server>], _ctx: &PickContext<'_>) -> usize {
        (0..self.draws)
            .map(|_| self.weighted(candidates))
            .min_by_key(|&i| candidates[i].in_flight())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::balance::testing::servers;

    #[test]
    fn every_server_gets_a_share_by_weight() {
        let s = servers(&["a 127.0.0.1:1 weight 1", "b 127.0.0.1:2 weight 3"]);
        let ctx = crate::upstream::balance::testing::ctx();
        let candidates: Vec<&Arc<Server>> = s.iter().collect();
        let r = Random::new(1);
        let b = (0..4000).filter(|_| r.pick(&candidates, &ctx) == 1).count();
        assert!((2600..3400).contains(&b), "b got {b} of 4000");
    }
}

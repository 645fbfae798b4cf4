//! `balance random[(N)]`: draw N servers at random (by weight) and keep the
//! least loaded — HAProxy's "power of two choices" by default.

use std::sync::Arc;

use super::{Balancer, PickContext};
use crate::upstream::server::Server;

pub struct Random {
    draws: u64,
}

impl Random {
    pub fn new(draws: u64) -> Self {
        Random {
            draws: draws.max(1),
        }
    }

    fn weighted(&self, candidates: &[&Arc<Server>]) -> usize {
        let total: u64 = candidates
            .iter()
            .map(|s| u64::from(s.effective_weight()))
            .sum();
        // `fastrand`'s generator is per thread: draws on several threads
        // neither contend nor lose each other's state.
        let mut point = fastrand::u64(0..total.max(1));
        for (i, s) in candidates.iter().enumerate() {
            let w = u64::from(s.effective_weight());
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

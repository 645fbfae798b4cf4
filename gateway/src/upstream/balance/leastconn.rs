//! `balance leastconn`: the server with the fewest requests in flight for
//! its weight; ties go round robin so equal servers share the load.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::{Balancer, PickContext};
use crate::upstream::server::Server;

#[derive(Default)]
pub struct LeastConn {
    turn: AtomicUsize,
}

impl Balancer for LeastConn {
    fn pick(&self, candidates: &[&Arc<Server>], _ctx: &PickContext<'_>) -> usize {
        let load =
            |s: &Server| u64::from(s.in_flight()) * 256 / u64::from(s.effective_weight().max(1));
        let start = self.turn.fetch_add(1, Ordering::Relaxed) % candidates.len();
        (0..candidates.len())
            .map(|k| (start + k) % candidates.len())
            .min_by_key(|&i| load(candidates[i]))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::balance::testing::servers;

    #[tokio::test]
    async fn prefers_the_least_loaded() {
        let s = servers(&["a 127.0.0.1:1", "b 127.0.0.1:2"]);
        let _busy = s[0].acquire(None, &s[0].queue_positions).await.unwrap();
        let ctx = crate::upstream::balance::testing::ctx();
        let lc = LeastConn::default();
        let candidates: Vec<&Arc<Server>> = s.iter().collect();
        for _ in 0..4 {
            assert_eq!(lc.pick(&candidates, &ctx), 1);
        }
    }
}

//! `balance first`: the first server (in declaration order) with a free
//! connection slot takes the traffic, so the others can be shut down.

use std::sync::Arc;

use super::{Balancer, PickContext};
use crate::upstream::server::Server;

pub struct First;

impl Balancer for First {
    fn pick(&self, candidates: &[&Arc<Server>], _ctx: &PickContext<'_>) -> usize {
        candidates
            .iter()
            .position(|s| {
                s.options
                    .maxconn
                    .is_none_or(|max| u64::from(s.in_flight()) < max)
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::balance::testing::servers;

    #[tokio::test]
    async fn fills_servers_in_order() {
        let s = servers(&["a 127.0.0.1:1 maxconn 1", "b 127.0.0.1:2 maxconn 1"]);
        let ctx = crate::upstream::balance::testing::ctx();
        let candidates: Vec<&Arc<Server>> = s.iter().collect();
        assert_eq!(First.pick(&candidates, &ctx), 0);
        let _held = s[0].acquire(None, &s[0].queue_positions).await.unwrap();
        assert_eq!(First.pick(&candidates, &ctx), 1);
    }
}

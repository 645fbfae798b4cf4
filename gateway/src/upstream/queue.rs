//! Where a request stood in the queue it waited in for a server slot
//! (`maxconn`), as HAProxy logs it in `%sq` and `%bq`.
//!
//! The waiting itself is the server's semaphore (first come, first
//! served), and the server counts who waits (`qcur`); this keeps the
//! positions. HAProxy has a queue per server, for requests that must go to
//! that server (persistence, a retry on the same one), and one per backend,
//! for requests any server could take: a request the balancer placed
//! counts in its backend's queue, one a cookie placed in its server's.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct WaitQueue {
    /// Requests that left the queue with a slot, ever.
    served: AtomicU64,
}

impl WaitQueue {
    /// A request starts waiting.
    pub fn enter(&self) -> Ticket<'_> {
        Ticket {
            queue: self,
            served_before: self.served.load(Ordering::Relaxed),
        }
    }
}

/// One request's place in a [`WaitQueue`].
pub struct Ticket<'a> {
    queue: &'a WaitQueue,
    served_before: u64,
}

impl Ticket<'_> {
    /// The request got its slot: its position, as HAProxy logs it: 1 for
    /// the first in line, plus one for each request served from the queue
    /// while it waited (HAProxy 2.6.12 logs `0/1` then `0/2` for two
    /// requests queued behind a busy server).
    pub fn served(self) -> u32 {
        let before = self.queue.served.fetch_add(1, Ordering::Relaxed);
        (before + 1 - self.served_before).min(u64::from(u32::MAX)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_the_requests_served_ahead() {
        let queue = WaitQueue::default();
        let (z, w) = (queue.enter(), queue.enter());
        assert_eq!(z.served(), 1);
        let v = queue.enter();
        assert_eq!(w.served(), 2);
        // v came after z was served: only w was ahead.
        assert_eq!(v.served(), 2);
    }

    #[test]
    fn an_abandoned_wait_is_no_one_ahead() {
        let queue = WaitQueue::default();
        let _abandoned = queue.enter();
        assert_eq!(queue.enter().served(), 1);
    }
}

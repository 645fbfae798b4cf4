//! HAProxy's health counter for a checked server, so that transitions and
//! check intervals happen on the same checks as in HAProxy 2.6 (`check.c`:
//! `set_server_check_status`, `srv_getinter`).
//!
//! The counter runs from 0 to `rise + fall - 1`; the server is UP from
//! `rise` on. A server starts at `rise`: UP, but "will fall down at first
//! failure" (HAProxy's `server.c`), so a server that never answered is
//! taken out after one failed check, not `fall`. Once a check has passed,
//! the counter is full and it takes `fall` consecutive failures to go DOWN;
//! a failure while below `rise` drops it to 0, a success while at or above
//! `rise` fills it again. Confirmed against haproxy 2.6.12 by
//! `scripts/haproxy-check-diff`.

use std::time::Duration;

/// A transition a check result caused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The server just went UP.
    Up,
    /// The server just went DOWN.
    Down,
}

/// The health counter of one server's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    value: u32,
    rise: u32,
    fall: u32,
}

impl Health {
    /// The state a checked server starts in: UP, at `rise`.
    pub fn starting(rise: u32, fall: u32) -> Health {
        let (rise, fall) = (rise.max(1), fall.max(1));
        Health {
            value: rise,
            rise,
            fall,
        }
    }

    /// Resumes a counter kept elsewhere (the server's, across a reload).
    pub fn resume(rise: u32, fall: u32, value: u32) -> Health {
        let mut health = Health::starting(rise, fall);
        health.value = value.min(health.full());
        health
    }

    /// The counter's value, as `show servers state` reports it.
    pub fn value(&self) -> u32 {
        self.value
    }

    pub fn rise(&self) -> u32 {
        self.rise
    }

    pub fn fall(&self) -> u32 {
        self.fall
    }

    pub fn full(&self) -> u32 {
        self.rise + self.fall - 1
    }

    pub fn is_up(&self) -> bool {
        self.value >= self.rise
    }

    /// Follows a state set from outside the checks (`set server … health`,
    /// `disable health`): UP fills the counter, DOWN empties it, as HAProxy's
    /// runtime commands do.
    pub fn align(&mut self, up: bool) {
        if up && !self.is_up() {
            self.value = self.full();
        } else if !up && self.is_up() {
            self.value = 0;
        }
    }

    /// A check passed.
    pub fn passed(&mut self) -> Option<Transition> {
        let was_up = self.is_up();
        if self.value < self.full() {
            self.value += 1;
            if self.value >= self.rise {
                self.value = self.full();
            }
        }
        (!was_up && self.is_up()).then_some(Transition::Up)
    }

    /// A check failed.
    pub fn failed(&mut self) -> Option<Transition> {
        let was_up = self.is_up();
        if self.value > 0 {
            self.value -= 1;
            if self.value < self.rise {
                self.value = 0;
            }
        }
        (was_up && !self.is_up()).then_some(Transition::Down)
    }

    /// How long until the next check: `inter` while fully healthy,
    /// `downinter` while fully down, `fastinter` in between (which includes
    /// a server that has not passed a check since it started). Each falls
    /// back to `inter` when not set, which the caller has already done.
    pub fn interval(&self, inter: Duration, fastinter: Duration, downinter: Duration) -> Duration {
        if self.value == self.full() {
            inter
        } else if self.value == 0 {
            downinter
        } else {
            fastinter
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTER: Duration = Duration::from_millis(1000);
    const FAST: Duration = Duration::from_millis(100);
    const DOWN: Duration = Duration::from_millis(5000);

    fn interval(h: &Health) -> Duration {
        h.interval(INTER, FAST, DOWN)
    }

    #[test]
    fn a_starting_server_falls_at_the_first_failure() {
        let mut h = Health::starting(2, 3);
        assert!(h.is_up());
        assert_eq!(interval(&h), FAST, "not yet confirmed: fastinter");
        assert_eq!(h.failed(), Some(Transition::Down));
        assert_eq!(h.value(), 0);
        assert_eq!(interval(&h), DOWN);
    }

    #[test]
    fn once_confirmed_it_takes_fall_failures_and_a_success_restores_it() {
        let mut h = Health::starting(2, 3);
        assert_eq!(h.passed(), None, "already up");
        assert_eq!(h.value(), 4);
        assert_eq!(interval(&h), INTER);
        assert_eq!(h.failed(), None);
        assert_eq!(h.failed(), None);
        assert_eq!(interval(&h), FAST, "going down: fastinter");
        assert_eq!(h.passed(), None);
        assert_eq!(h.value(), 4, "one success fills the counter again");
        assert_eq!(h.failed(), None);
        assert_eq!(h.failed(), None);
        assert_eq!(h.failed(), Some(Transition::Down));
    }

    #[test]
    fn rise_successes_bring_it_up_and_a_failure_on_the_way_starts_over() {
        let mut h = Health::starting(3, 2);
        h.failed();
        assert_eq!(h.passed(), None);
        assert_eq!(interval(&h), FAST, "coming up: fastinter");
        assert_eq!(h.passed(), None);
        assert_eq!(h.failed(), None, "still down");
        assert_eq!(h.value(), 0);
        assert_eq!(h.passed(), None);
        assert_eq!(h.passed(), None);
        assert_eq!(h.passed(), Some(Transition::Up));
        assert_eq!(h.value(), 4);
    }

    #[test]
    fn rise_and_fall_of_one_switch_at_every_change() {
        let mut h = Health::starting(1, 1);
        assert_eq!(interval(&h), INTER);
        assert_eq!(h.failed(), Some(Transition::Down));
        assert_eq!(h.failed(), None);
        assert_eq!(h.passed(), Some(Transition::Up));
    }

    #[test]
    fn a_resumed_counter_keeps_its_place() {
        let h = Health::resume(2, 3, 4);
        assert_eq!(h.value(), 4);
        assert_eq!(Health::resume(2, 3, 99).value(), 4, "clamped to full");
    }

    #[test]
    fn runtime_state_changes_fill_or_empty_the_counter() {
        let mut h = Health::starting(2, 3);
        h.align(false);
        assert_eq!(h.value(), 0);
        h.align(true);
        assert_eq!(h.value(), 4);
        h.align(true);
        assert_eq!(h.value(), 4);
    }
}

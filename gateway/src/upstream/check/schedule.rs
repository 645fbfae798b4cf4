//! When a server's checks run. As HAProxy does, the first checks of a
//! backend's servers are spread over the check interval (or over
//! `max-spread-checks`, when that is shorter) so that they do not all start
//! at once; and with `spread-checks N` every following interval is drawn
//! anew within N % either side of its value, so that servers checked
//! together drift apart instead of staying in step.

use std::time::Duration;

use switchyard_grammar::ast::global::Global;

/// The longest first delay, whatever the interval: a server with a long
/// `inter` is still checked within a minute of start.
const MAX_FIRST_DELAY: Duration = Duration::from_secs(60);

/// One check task's timing: when it starts, and how its intervals vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckSchedule {
    /// The wait before the first check.
    pub first: Duration,
    /// `spread-checks`: each interval is varied by up to this percentage,
    /// either way (0 to 50).
    pub spread_percent: u32,
}

impl CheckSchedule {
    /// The schedule of the `index`th of `count` checks of a backend whose
    /// interval is `inter`.
    pub fn new(inter: Duration, index: u32, count: u32, global: &Global) -> CheckSchedule {
        let window = match global.max_spread_checks {
            Some(max) => inter.min(max),
            None => inter,
        };
        CheckSchedule {
            first: (window * index / count.max(1)).min(MAX_FIRST_DELAY),
            spread_percent: global.spread_checks.unwrap_or(0) as u32,
        }
    }

    /// The wait before the next check, `interval` as configured: with
    /// `spread-checks`, a random draw within the allowed variation.
    pub fn next(&self, interval: Duration) -> Duration {
        if self.spread_percent == 0 {
            return interval;
        }
        varied(interval, self.spread_percent, random_fraction())
    }
}

/// `interval` varied by `percent` %: `fraction` (in [0, 1]) picks the point
/// between `interval − percent %` and `interval + percent %`, as HAProxy's
/// `inter + rv − 2·rv·random` does.
fn varied(interval: Duration, percent: u32, fraction: f64) -> Duration {
    let range = interval * percent / 100;
    (interval + range).saturating_sub(range.mul_f64(2.0 * fraction.clamp(0.0, 1.0)))
}

/// A uniform draw in [0, 1] from the system's generator.
fn random_fraction() -> f64 {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 4];
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        return 0.5;
    }
    u32::from_ne_bytes(bytes) as f64 / u32::MAX as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(spread: Option<u64>, max: Option<Duration>) -> Global {
        Global {
            spread_checks: spread,
            max_spread_checks: max,
            ..Global::default()
        }
    }

    #[test]
    fn first_checks_are_spread_over_the_interval() {
        let g = global(None, None);
        let inter = Duration::from_secs(4);
        let firsts: Vec<_> = (0..4)
            .map(|i| CheckSchedule::new(inter, i, 4, &g).first)
            .collect();
        assert_eq!(
            firsts,
            [0, 1, 2, 3].map(Duration::from_secs).to_vec(),
            "one second apart over the 4 s interval"
        );
    }

    #[test]
    fn max_spread_checks_shortens_the_window() {
        let g = global(None, Some(Duration::from_millis(400)));
        let inter = Duration::from_secs(4);
        let firsts: Vec<_> = (0..4)
            .map(|i| CheckSchedule::new(inter, i, 4, &g).first)
            .collect();
        assert_eq!(
            firsts,
            [0, 100, 200, 300].map(Duration::from_millis).to_vec()
        );
        // A window longer than the interval changes nothing.
        let long = global(None, Some(Duration::from_secs(60)));
        assert_eq!(
            CheckSchedule::new(inter, 3, 4, &long).first,
            Duration::from_secs(3)
        );
    }

    #[test]
    fn spread_checks_varies_intervals_within_the_percentage() {
        let inter = Duration::from_secs(10);
        assert_eq!(varied(inter, 20, 0.0), Duration::from_secs(12));
        assert_eq!(varied(inter, 20, 1.0), Duration::from_secs(8));
        assert_eq!(varied(inter, 20, 0.5), Duration::from_secs(10));
        let schedule = CheckSchedule::new(inter, 0, 1, &global(Some(20), None));
        let draws: Vec<_> = (0..200).map(|_| schedule.next(inter)).collect();
        assert!(draws
            .iter()
            .all(|d| (Duration::from_secs(8)..=Duration::from_secs(12)).contains(d)));
        assert!(
            draws.iter().any(|d| *d != draws[0]),
            "200 draws are not all equal"
        );
    }

    #[test]
    fn without_spread_checks_intervals_are_as_configured() {
        let inter = Duration::from_secs(10);
        let schedule = CheckSchedule::new(inter, 0, 1, &global(None, None));
        assert_eq!(schedule.next(inter), inter);
    }
}

//! How long the agent's refresh sweep leaves an account alone after its background refresh
//! failed. A machine offline overnight would otherwise ask the provider, and log a warning, every
//! 30 seconds for every account; after a failure the sweep waits one sweep, then twice as long
//! after each further failure in a row, up to an hour; a success ends the wait. Only the sweep
//! waits: a program that asks for the token still gets a refresh attempt at once.
//!
//! Times are wall-clock seconds, not the monotonic clock: a laptop's suspend counts as time
//! waited, so after a night's sleep the next sweep tries at once.

use crate::model::AccountId;
use std::collections::HashMap;

/// The longest the sweep leaves a failing account alone.
const LONGEST: u64 = 3600;

#[derive(Default)]
pub struct SweepBackoff {
    /// Per account: failures in a row, and the wall-clock second before which the sweep skips it.
    failing: HashMap<AccountId, (u32, u64)>,
}

impl SweepBackoff {
    /// Whether the sweep should try `id` at `now`.
    pub fn due(&self, id: &AccountId, now: u64) -> bool {
        self.failing.get(id).is_none_or(|&(_, until)| now >= until)
    }

    /// Records a failed background refresh; returns how long the sweep now leaves `id` alone.
    pub fn failed(&mut self, id: &AccountId, now: u64, sweep_every: u64) -> u64 {
        let failures = self.failing.get(id).map_or(0, |&(n, _)| n) + 1;
        let pause = sweep_every
            .saturating_mul(1u64 << (failures - 1).min(20))
            .min(LONGEST);
        self.failing.insert(id.clone(), (failures, now + pause));
        pause
    }

    /// Records a success: the next sweep tries `id` as usual.
    pub fn succeeded(&mut self, id: &AccountId) {
        self.failing.remove(id);
    }

    /// Forgets accounts that are gone or no longer refreshed.
    pub fn keep_only(&mut self, ids: &[AccountId]) {
        self.failing.retain(|id, _| ids.contains(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_in_a_row_double_the_wait_up_to_an_hour_and_a_success_ends_it() {
        let (a, b) = (AccountId::new("demo-1"), AccountId::new("demo-2"));
        let mut backoff = SweepBackoff::default();
        assert!(backoff.due(&a, 1000));
        let pauses: Vec<u64> = (0..10).map(|_| backoff.failed(&a, 1000, 30)).collect();
        assert_eq!(pauses, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert!(!backoff.due(&a, 1000 + 3599));
        assert!(backoff.due(&a, 1000 + 3600), "an hour later it is tried again");
        assert!(backoff.due(&b, 1000), "another account is not held back");
        // A wall-clock jump (a suspend) counts as time waited.
        backoff.succeeded(&a);
        backoff.failed(&a, 2000, 30);
        assert!(backoff.due(&a, 2000 + 8 * 3600));
        backoff.succeeded(&a);
        assert!(backoff.due(&a, 2000));
        assert_eq!(
            backoff.failed(&a, 2000, 30),
            30,
            "a success starts the count again"
        );
        backoff.keep_only(&[b]);
        assert!(backoff.due(&a, 2000), "a disconnected account is forgotten");
    }
}

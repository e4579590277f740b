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

pub struct SweepBackoff {
    /// Seconds between two sweeps.
    every: u64,
    /// Per account: failures in a row, and the wall-clock second from which the sweep tries it.
    failing: HashMap<AccountId, (u32, u64)>,
}

impl SweepBackoff {
    pub fn new(every: u64) -> Self {
        SweepBackoff {
            every,
            failing: HashMap::new(),
        }
    }

    /// Whether the sweep should try `id` at `now`.
    pub fn due(&self, id: &AccountId, now: u64) -> bool {
        self.failing.get(id).is_none_or(|&(_, from)| now >= from)
    }

    /// Records that the refresh the sweep began at `began` failed; returns how long the sweep
    /// now leaves `id` alone. A sweep that comes up to half a period early still counts as on
    /// time, so that "wait one sweep" never turns into two when the clock's seconds fall badly.
    pub fn failed(&mut self, id: &AccountId, began: u64) -> u64 {
        let failures = self.failing.get(id).map_or(0, |&(n, _)| n) + 1;
        let pause = self
            .every
            .saturating_mul(1u64 << (failures - 1).min(20))
            .min(LONGEST);
        let from = (began + pause).saturating_sub(self.every / 2);
        self.failing.insert(id.clone(), (failures, from));
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
        let mut backoff = SweepBackoff::new(30);
        assert!(backoff.due(&a, 1000));
        let pauses: Vec<u64> = (0..10).map(|_| backoff.failed(&a, 1000)).collect();
        assert_eq!(pauses, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert!(!backoff.due(&a, 1000 + 1800), "not the sweep half an hour later");
        assert!(backoff.due(&a, 1000 + 3600), "the sweep an hour later");
        assert!(backoff.due(&a, 1000 + 3600 - 1), "nor one a second early");
        assert!(backoff.due(&b, 1000), "another account is not held back");
        // After one failure, the very next sweep tries again, even one that comes a little early.
        backoff.succeeded(&a);
        backoff.failed(&a, 2000);
        assert!(!backoff.due(&a, 2001));
        assert!(backoff.due(&a, 2029));
        // After two, the next sweep skips it and the one after tries.
        backoff.failed(&a, 2029);
        assert!(!backoff.due(&a, 2059));
        assert!(backoff.due(&a, 2089));
        // A wall-clock jump (a suspend) counts as time waited.
        assert!(backoff.due(&a, 2029 + 8 * 3600));
        backoff.succeeded(&a);
        assert!(backoff.due(&a, 2029));
        assert_eq!(backoff.failed(&a, 2029), 30, "a success starts the count again");
        backoff.keep_only(&[b]);
        assert!(backoff.due(&a, 2029), "a disconnected account is forgotten");
    }
}

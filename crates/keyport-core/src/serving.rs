//! Serving local connections that anyone on this machine may open (the loopback listener, the
//! agent's socket) without letting them starve the process: accept errors (a full descriptor
//! table) pause the loop instead of spinning it, and at most [`MAX_CONNECTIONS`] are handled at
//! once; more are closed at once. Each connection also has a read deadline, set by its server.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections handled at once. A browser opens a few; a sign-in or a token needs one.
pub const MAX_CONNECTIONS: usize = 64;
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

pub struct AcceptGuard {
    permits: Arc<Semaphore>,
    pause: Duration,
}

impl Default for AcceptGuard {
    fn default() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            pause: FIRST_PAUSE,
        }
    }
}

impl AcceptGuard {
    /// After a failed accept: waits, twice as long as last time in a row, up to a second.
    pub async fn pause_after(&mut self, error: &std::io::Error) {
        tracing::debug!(%error, pause = ?self.pause, "accept failed; pausing");
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(LONGEST_PAUSE);
    }

    /// After a successful accept: the permit to hold while serving it, or `None` at the cap
    /// (then the connection is dropped unanswered).
    pub fn admit(&mut self) -> Option<OwnedSemaphorePermit> {
        self.pause = FIRST_PAUSE;
        let permit = self.permits.clone().try_acquire_owned().ok();
        if permit.is_none() {
            tracing::debug!("too many connections at once; closing one");
        }
        permit
    }
}

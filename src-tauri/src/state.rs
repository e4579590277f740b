//! What the running app keeps between commands: sign-ins waiting for their deep link, and a way
//! to cancel each waiting sign-in.

use keyport_core::PendingFlows;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::oneshot;

#[derive(Default)]
pub struct AppState {
    pub deep_links: PendingFlows,
    /// One waiting sign-in per provider: pressing Connect again replaces (cancels) the first.
    cancels: Mutex<HashMap<String, oneshot::Sender<()>>>,
}

impl AppState {
    /// Registers a sign-in for `provider`; the receiver fires when it is cancelled.
    pub fn begin_connect(&self, provider: &str) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        if let Some(previous) = self.lock().insert(provider.to_string(), tx) {
            let _ = previous.send(());
        }
        rx
    }

    pub fn end_connect(&self, provider: &str) {
        let mut cancels = self.lock();
        // Only forget our own entry, not a newer sign-in that replaced it.
        if cancels.get(provider).is_some_and(|tx| tx.is_closed()) {
            cancels.remove(provider);
        }
    }

    pub fn cancel_connect(&self, provider: &str) {
        if let Some(tx) = self.lock().remove(provider) {
            let _ = tx.send(());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<()>>> {
        self.cancels.lock().unwrap_or_else(|e| e.into_inner())
    }
}

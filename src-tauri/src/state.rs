//! What the running app keeps between commands: sign-ins waiting for their deep link, a way
//! to cancel each waiting sign-in, and the pages of those whose browser did not open.

use keyport_core::PendingFlows;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::oneshot;

#[derive(Default)]
pub struct AppState {
    pub deep_links: PendingFlows,
    /// One waiting sign-in per provider: pressing Connect again replaces (cancels) the first.
    cancels: Mutex<HashMap<String, oneshot::Sender<()>>>,
    /// The sign-in pages (the one-time local address, and the provider's own) of waiting
    /// sign-ins whose browser could not be opened, for "Try the browser again".
    unopened: Mutex<HashMap<String, (String, String)>>,
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

    pub fn remember_unopened(&self, provider: &str, local: &str, full: &str) {
        let mut unopened = self.unopened.lock().unwrap_or_else(|e| e.into_inner());
        unopened.insert(provider.to_string(), (local.to_string(), full.to_string()));
    }

    /// The page of a waiting sign-in whose browser did not open; taken once, since the one-time
    /// address ends the sign-in if it is opened twice.
    pub fn take_unopened(&self, provider: &str) -> Option<(String, String)> {
        let mut unopened = self.unopened.lock().unwrap_or_else(|e| e.into_inner());
        unopened.remove(provider)
    }

    pub fn end_connect(&self, provider: &str) {
        let mut cancels = self.lock();
        // Only forget our own entry, not a newer sign-in that replaced it.
        if cancels.get(provider).is_some_and(|tx| tx.is_closed()) {
            cancels.remove(provider);
            self.take_unopened(provider);
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

//! Keeps the window current when something else changes the accounts (the CLI, another
//! instance, the agent's background refresh) or uses one (a token handed out without a question
//! still changes "Recently used by"), and tells the user when an account needs reconnecting.
//!
//! It polls the account file's metadata twice a second rather than using inotify: one `stat` is
//! cheap, works the same on every platform and file system, and sees atomic replacements (a
//! rename) without watching the directory.

use crate::bindings::events;
use keyport_core::{now, AccountStore, Home, Status};
use std::collections::HashSet;
use std::time::{Duration, SystemTime};
use tauri::{AppHandle, Emitter};
use tauri_plugin_notification::NotificationExt;

const POLL: Duration = Duration::from_millis(500);

/// A file's identity and version, as far as a `stat` tells.
fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some((m.modified().ok()?, m.len(), ino))
}

/// Accounts that need reconnecting now (by the file, or because their token ran out for good).
fn needing_reconnect(store: &AccountStore) -> HashSet<(keyport_core::AccountId, String)> {
    let now = now();
    store
        .load()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.status(now) == Status::NeedsReconnect)
        .map(|a| (a.id.clone(), a.label()))
        .collect()
}

pub fn start(app: AppHandle) {
    let Ok(home) = Home::from_env() else { return };
    std::thread::Builder::new()
        .name("keyport-watch".into())
        .spawn(move || {
            // The account file alone: the catalog plays no part in an account's status.
            let file = home.accounts_file();
            let audit = home.audit_file();
            let store = AccountStore::new(file.clone(), &home.locks_dir());
            let mut last = stamp(&file);
            let mut last_use = stamp(&audit);
            let mut flagged = needing_reconnect(&store);
            crate::background::set_attention(&app, flagged.len());
            let mut ticks = 0u32;
            loop {
                std::thread::sleep(POLL);
                ticks += 1;
                let current = stamp(&file);
                let current_use = stamp(&audit);
                let used = current_use != last_use;
                last_use = current_use;
                let changed = current != last;
                if used && !changed {
                    let _ = app.emit(events::ACCOUNTS_CHANGED, ());
                }
                // Expiry also moves an account to "needs reconnect", with no write to the file.
                if !changed && !ticks.is_multiple_of(60) {
                    continue;
                }
                last = current;
                if changed {
                    let _ = app.emit(events::ACCOUNTS_CHANGED, ());
                }
                let now_flagged = needing_reconnect(&store);
                for (_, label) in now_flagged.difference(&flagged) {
                    notify_reconnect(&app, label);
                }
                if now_flagged.len() != flagged.len() {
                    crate::background::set_attention(&app, now_flagged.len());
                }
                flagged = now_flagged;
            }
        })
        .expect("a thread can be started");
}

/// Notification servers read the body as markup: `<`, `>` and `&` in a nickname are written as
/// entities, so a provider's text cannot style or link anything.
fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn notify_reconnect(app: &AppHandle, label: &str) {
    tracing::info!(account = %keyport_core::escape_controls(label), "account needs reconnecting");
    notify(
        app,
        "Keyport: reconnect needed",
        &format!("{label} needs to be reconnected. Open Keyport and press Reconnect."),
    );
}

/// A desktop notification. The body is escaped: it may quote a provider (a nickname, a code).
pub fn notify(app: &AppHandle, title: &str, body: &str) {
    let body = escape_markup(&keyport_core::escape_controls(body));
    let title = keyport_core::escape_controls(title);
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!(error = %e, "could not show a notification");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn notification_bodies_carry_no_markup() {
        assert_eq!(
            super::escape_markup("demo:<a href=\"x\">ada</a> & co"),
            "demo:&lt;a href=\"x\"&gt;ada&lt;/a&gt; &amp; co"
        );
    }
}

//! The window's side of consent (`keyport_core::Consent`): the question "Allow <program> to use
//! <account>?" shown in the window (brought to the front from the tray), the answer sent back to
//! the waiting program, and the remembered answers listed and forgotten from the window. Device
//! sign-in codes that `keyport connect --device` sends are shown here too.

use crate::bindings::events;
use crate::ui_error::UiError;
use keyport_core::{Asker, ConsentBook, Decision, DeviceCode, Question, Reply};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::oneshot;

/// Questions waiting for the user, by id.
type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Reply>>>>;

/// Kept by the app: the book of answers and the questions on screen.
pub struct ConsentState {
    pub book: Option<Arc<ConsentBook>>,
    pending: Pending,
}

/// How long a program waits for an answer: `KEYPORT_CONSENT_TIMEOUT` seconds, else a minute.
pub fn timeout() -> Duration {
    std::env::var("KEYPORT_CONSENT_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(keyport_core::DEFAULT_CONSENT_TIMEOUT)
}

impl ConsentState {
    /// No book: Keyport's home could not be opened, and the agent does not run.
    pub fn unavailable() -> Self {
        Self {
            book: None,
            pending: Pending::default(),
        }
    }

    pub fn open(data_dir: &Path, has_accounts: impl FnOnce() -> bool) -> Self {
        let book = match ConsentBook::open(data_dir, has_accounts) {
            Ok(book) => Some(Arc::new(book)),
            Err(e) => {
                // Without the book the agent serves no one (see lib.rs): failing open would hand
                // tokens to programs the user was never asked about.
                tracing::warn!(error = %e, "the consent file cannot be read");
                None
            }
        };
        Self {
            book,
            pending: Pending::default(),
        }
    }

    /// The asker the agent puts its questions to.
    pub fn asker(&self, app: AppHandle) -> Arc<dyn Asker> {
        Arc::new(WindowAsker {
            app,
            pending: self.pending.clone(),
            timeout: timeout(),
        })
    }

    fn book(&self) -> Result<&Arc<ConsentBook>, UiError> {
        self.book
            .as_ref()
            .ok_or_else(|| UiError::other("Keyport could not read its consent file (consent.json)."))
    }
}

struct WindowAsker {
    app: AppHandle,
    pending: Pending,
    timeout: Duration,
}

impl Asker for WindowAsker {
    fn ask(&self, question: Question, reply: oneshot::Sender<Reply>) {
        let id = question.id;
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, reply);
        crate::background::show(&self.app);
        let _ = self.app.emit(events::CONSENT_ASKED, &question);
        // When the program stops waiting, the question leaves the window.
        let (app, pending, timeout) = (self.app.clone(), self.pending.clone(), self.timeout);
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(timeout).await;
            if pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id)
                .is_some()
            {
                let _ = app.emit(events::CONSENT_ENDED, id);
            }
        });
    }

    fn show_device_code(&self, code: DeviceCode) {
        crate::background::show(&self.app);
        crate::watch::notify(
            &self.app,
            &format!("Keyport: sign in to {}", code.provider_name),
            &format!(
                "Open {} and enter the code {}",
                code.verification_uri, code.user_code
            ),
        );
        let _ = self.app.emit(events::DEVICE_CODE, &code);
    }
}

/// A remembered answer, as the window lists it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DecisionView {
    #[serde(flatten)]
    pub decision: Decision,
    /// The executable's file name.
    pub program: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ConsentSettings {
    /// Whether programs the user has not answered for are asked about.
    pub ask: bool,
    pub decisions: Vec<DecisionView>,
}

#[tauri::command]
pub fn answer_consent(app: AppHandle, id: u64, reply: Reply) -> Result<(), UiError> {
    let state = app.state::<ConsentState>();
    let sender = state
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
    let _ = app.emit(events::CONSENT_ENDED, id);
    match sender.map(|tx| tx.send(reply)) {
        Some(Ok(())) => Ok(()),
        _ => Err(UiError::other("The program stopped waiting for an answer.")),
    }
}

#[tauri::command(async)]
pub fn consent_settings(app: AppHandle) -> Result<ConsentSettings, UiError> {
    let state = app.state::<ConsentState>();
    let book = state.book()?;
    let decisions = book
        .decisions()
        .into_iter()
        .map(|decision| DecisionView {
            program: keyport_core::consent_program_label(&decision.exe),
            decision,
        })
        .collect();
    Ok(ConsentSettings {
        ask: book.asks(),
        decisions,
    })
}

/// Forgets the answer kept for `exe` and the account (its id, as `Decision` carries it).
#[tauri::command]
pub fn forget_consent(
    app: AppHandle,
    exe: String,
    account: keyport_core::AccountId,
) -> Result<ConsentSettings, UiError> {
    app.state::<ConsentState>().book()?.forget(&exe, &account)?;
    consent_settings(app)
}

#[tauri::command]
pub fn set_consent_asking(app: AppHandle, ask: bool) -> Result<ConsentSettings, UiError> {
    app.state::<ConsentState>().book()?.set_asking(ask)?;
    consent_settings(app)
}

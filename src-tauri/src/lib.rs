//! The Keyport desktop app: a Tauri shell over `keyport-core`.
//!
//! The webview only ever receives account metadata ([`AccountSummary`]); tokens and client secrets
//! stay in the core and the keychain. Errors cross as `{kind, message}` so the UI can tell a
//! keychain problem from a provider problem.

use keyport_core::tokens::now;
use keyport_core::{AccountSummary, ErrorKind, Home, Keyport};
use serde::Serialize;

/// An error as the UI receives it.
#[derive(Debug, Serialize)]
pub struct UiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl From<keyport_core::Error> for UiError {
    fn from(e: keyport_core::Error) -> Self {
        UiError {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// Opened per call: the catalog and the account file are small, and another process (the CLI)
/// may have changed either since the last call.
fn keyport() -> Result<Keyport, UiError> {
    Ok(Keyport::open(Home::from_env()?)?)
}

/// The connected accounts, metadata only.
#[tauri::command]
fn list_accounts() -> Result<Vec<AccountSummary<'static>>, UiError> {
    let keyport = keyport()?;
    let now = now();
    Ok(keyport
        .accounts()?
        .iter()
        .map(|a| AccountSummary::new(a, keyport.catalog(), now).into_owned())
        .collect())
}

/// The UI calls this once its first frame with the accounts is on screen. With
/// `KEYPORT_REPORT_PAINT` set, it says so on stdout (the benchmark suite measures start-up by it).
#[tauri::command]
fn painted() {
    if std::env::var_os("KEYPORT_REPORT_PAINT").is_some() {
        println!("first-paint");
    }
}

/// Recent token uses, newest first: which program used which account.
#[tauri::command]
fn recent_uses() -> Result<Vec<keyport_core::audit::Use>, UiError> {
    Ok(keyport()?.audit().recent(200))
}

/// While the window is open, the app serves `keyport token` from memory and refreshes tokens
/// ahead of expiry (see `keyport_core::agent`).
fn start_agent() {
    let keyport = match keyport() {
        Ok(k) => std::sync::Arc::new(k),
        Err(e) => {
            tracing::warn!(error = %e.message, "the token agent is off");
            return;
        }
    };
    tauri::async_runtime::spawn(async move {
        if let Err(e) = keyport_core::agent::Agent::new(keyport).serve().await {
            tracing::warn!(error = %e, "the token agent stopped");
        }
    });
}

pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEYPORT_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    tauri::Builder::default()
        .setup(|_| {
            start_agent();
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![list_accounts, recent_uses, painted])
        .run(tauri::generate_context!())
        .expect("the Keyport window could not start");
}

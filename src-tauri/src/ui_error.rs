//! Errors as the webview receives them: `{kind, message}`, so the UI can tell a cancelled sign-in
//! from a provider refusal or a keychain problem, and show the core's sentence as it is.

use keyport_core::{describe, ErrorKind};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct UiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl UiError {
    pub fn cancelled() -> Self {
        UiError {
            kind: ErrorKind::Cancelled,
            message: "The sign-in was cancelled.".into(),
        }
    }

    pub fn other(message: impl Into<String>) -> Self {
        UiError {
            kind: ErrorKind::Other,
            message: message.into(),
        }
    }
}

impl From<keyport_core::Error> for UiError {
    fn from(e: keyport_core::Error) -> Self {
        // The core's errors never carry secrets (see keyport_core::error), so the full
        // description, causes included, is safe to show.
        UiError {
            kind: e.kind(),
            message: describe(&e).replace("\n  caused by: ", " — "),
        }
    }
}

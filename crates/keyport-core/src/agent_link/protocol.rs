//! The agent's protocol: one JSON line each way. Request `{"account": "...", "min_ttl": 300}`;
//! answer `{"answer": "token", "token": "...", "account": "...", "expires_at": 123, "metadata": {}}`
//! or `{"answer": "error", "kind": "needs_reconnect", "message": "..."}`.
//!
//! A `keyport connect --device` also tells a running app its code, so that the window can show it
//! when the terminal's stderr is hidden: `{"device_code": {...}}`, answered `{"answer": "shown"}`
//! (or an error where no window listens).

use crate::error::{describe, Error, ErrorKind};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    pub account: String,
    pub min_ttl: u64,
}

/// A device sign-in's code, for the app's window: all of it came from the provider, so the window
/// shows it as text only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeviceCode {
    pub provider: String,
    pub provider_name: String,
    pub user_code: String,
    pub verification_uri: String,
    /// Seconds the code stays valid.
    pub expires_in: u64,
    /// The program that started the sign-in (filled in by the agent, from the kernel's word).
    #[serde(default)]
    pub program: Option<String>,
}

/// Any line a client sends.
#[derive(Debug)]
pub(crate) enum Incoming {
    Token(Request),
    DeviceCode(DeviceCode),
}

impl Incoming {
    /// A token request is tried first and read directly: `#[serde(untagged)]` would buffer every
    /// line of the hot path into an intermediate tree before trying each form.
    pub(crate) fn parse(line: &str) -> Option<Incoming> {
        #[derive(Deserialize)]
        struct DeviceCodeLine {
            device_code: DeviceCode,
        }
        if let Ok(request) = serde_json::from_str::<Request>(line) {
            return Some(Incoming::Token(request));
        }
        let device = serde_json::from_str::<DeviceCodeLine>(line).ok()?;
        Some(Incoming::DeviceCode(device.device_code))
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    /// A device code was put in front of the user.
    Shown,
    Token {
        token: Secret,
        /// The account's id.
        account: String,
        /// Its nickname (the user of the SASL formats).
        #[serde(default)]
        nickname: String,
        expires_at: Option<u64>,
        /// The account's kept token-response fields (`keep_fields`), for `token --json`.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        metadata: BTreeMap<String, String>,
    },
    Error {
        kind: ErrorKind,
        message: String,
    },
}

impl From<&Error> for Answer {
    fn from(e: &Error) -> Self {
        Answer::Error {
            kind: e.kind(),
            message: describe(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_token_requests_or_device_codes() {
        let token = Incoming::parse(r#"{"account":"github","min_ttl":300}"#);
        assert!(
            matches!(token, Some(Incoming::Token(Request { ref account, min_ttl: 300 })) if account == "github")
        );
        let code = Incoming::parse(
            r#"{"device_code":{"provider":"p","provider_name":"P","user_code":"AB-CD","verification_uri":"https://x/device","expires_in":600}}"#,
        );
        assert!(
            matches!(code, Some(Incoming::DeviceCode(DeviceCode { ref user_code, .. })) if user_code == "AB-CD")
        );
        assert!(Incoming::parse(r#"{"account":"github"}"#).is_none());
        assert!(Incoming::parse("not json").is_none());
    }

    #[test]
    fn answers_never_debug_print_the_token() {
        let a = Answer::Token {
            token: Secret::new("AT-SECRET"),
            account: "x-1".into(),
            nickname: "ada".into(),
            expires_at: None,
            metadata: Default::default(),
        };
        assert!(!format!("{a:?}").contains("AT-SECRET"));
        let line = serde_json::to_string(&a).unwrap();
        assert!(
            line.contains("AT-SECRET") && line.contains("\"answer\":\"token\""),
            "{line}"
        );
        let e = Answer::from(&Error::NoSuchAccount("x".into()));
        let back: Answer = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert!(
            matches!(
                back,
                Answer::Error {
                    kind: ErrorKind::NotFound,
                    ..
                }
            ),
            "{back:?}"
        );
    }
}

//! The agent's protocol: one JSON line each way. Request `{"account": "...", "min_ttl": 300}`;
//! answer `{"answer": "token", "token": "...", "account": "...", "expires_at": 123, "metadata": {}}`
//! or `{"answer": "error", "kind": "needs_reconnect", "message": "..."}`.

use crate::error::{describe, Error, ErrorKind};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    pub account: String,
    pub min_ttl: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
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

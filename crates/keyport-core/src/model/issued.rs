//! A token as handed out to a program, with what its users need of the account besides it: the
//! same record whether the keychain, the local agent or a desktop's agent across SSH supplied it,
//! so that a machine reached over SSH needs no account file to use one.

use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which of the account's tokens a program asks for: the access token (what APIs take), or the
/// OpenID Connect ID token (what a Kubernetes cluster that signs people in with OpenID takes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenUse {
    #[default]
    Access,
    Id,
}

impl TokenUse {
    pub fn is_access(&self) -> bool {
        *self == TokenUse::Access
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Issued {
    pub token: Secret,
    /// Which token `token` is: said in the answer, so that a client never takes an access token
    /// from an agent that does not know the question for the ID token it asked for.
    #[serde(default, rename = "use", skip_serializing_if = "TokenUse::is_access")]
    pub token_use: TokenUse,
    /// The account's id.
    pub account: String,
    /// Its nickname (the user of the SASL formats).
    #[serde(default)]
    pub nickname: String,
    /// Unix seconds (the ID token's own `exp` for an ID token); `None` for a token that does not
    /// expire.
    pub expires_at: Option<u64>,
    /// The account's kept token-response fields (`keep_fields`), for `token --json`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The variable `keyport exec` puts it in unless told otherwise (the catalog's `env_var`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_var: Option<String>,
    /// The user name git sends with it (the catalog's `git_username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_username: Option<String>,
}

//! A token as handed out to a program, with what its users need of the account besides it: the
//! same record whether the keychain, the local agent or a desktop's agent across SSH supplied it,
//! so that a machine reached over SSH needs no account file to use one.

use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Issued {
    pub token: Secret,
    /// The account's id.
    pub account: String,
    /// Its nickname (the user of the SASL formats).
    #[serde(default)]
    pub nickname: String,
    /// Unix seconds; `None` for a token that does not expire.
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

//! An account as the interfaces show it, as plain data: a screen, `keyport list --json`, the
//! agent's answers to another machine and (generated from it) the window's `Account` type all
//! carry this one shape. `view/` makes it from the stored account and the catalog; it sits on
//! this floor so that the agent's protocol (`agent_link`) can carry it typed.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// An account as every interface shows it: a screen, `keyport list --json`, the agent's answers
/// to another machine (`list`, `connect`) and, generated from it, the window's `Account` type.
/// The stored account's fields that interfaces show (everything but its lifecycle, shown as the
/// status, its connection and its token bookkeeping), then what is judged from them and the
/// catalog. Metadata only, never a secret.
///
/// Borrowed from the account (or the account file's bytes) and the catalog where it can be;
/// [`AccountSummary::into_owned`] detaches it, and one read from the wire is owned.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "Account"))]
pub struct AccountSummary<'a> {
    pub id: Cow<'a, str>,
    pub provider: Cow<'a, str>,
    pub nickname: Cow<'a, str>,
    #[serde(with = "owned_texts")]
    #[cfg_attr(feature = "ts", ts(as = "Vec<String>"))]
    pub scopes: Vec<Text<'a>>,
    /// Unix seconds; `null` for a token that does not expire.
    pub expires_at: Option<u64>,
    /// Non-secret fields the provider sent with the tokens (`keep_fields`), e.g. `instance_url`.
    pub metadata: BTreeMap<String, String>,
    /// Whether a bare provider id means this account (`keyport default`).
    pub is_default: bool,
    /// Whether it may be used from machines reached over SSH (`keyport forwarding`).
    pub over_ssh: bool,
    pub created_at: u64,
    pub updated_at: u64,
    pub provider_name: Cow<'a, str>,
    pub status: Status,
    /// Why the account needs reconnecting, when it does.
    pub status_reason: Option<Cow<'a, str>>,
    /// Seconds until expiry (negative once expired).
    pub expires_in: Option<i64>,
    pub can_refresh: bool,
    pub can_revoke: bool,
    /// Whether the account is a remote MCP server's (its tokens are for one resource), which the
    /// window marks as such.
    pub mcp_server: bool,
}

/// Scopes read from the wire are owned, so that a summary read from a line outlives the line
/// ([`Text`] borrows from what it is read from); written as they are.
mod owned_texts {
    use super::Text;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::borrow::Cow;

    pub fn serialize<S: Serializer>(texts: &[Text<'_>], s: S) -> Result<S::Ok, S::Error> {
        texts.serialize(s)
    }

    pub fn deserialize<'de, 'a, D: Deserializer<'de>>(d: D) -> Result<Vec<Text<'a>>, D::Error> {
        let all = Vec::<String>::deserialize(d)?;
        Ok(all.into_iter().map(|s| Text(Cow::Owned(s))).collect())
    }
}

impl AccountSummary<'_> {
    pub fn into_owned(self) -> AccountSummary<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        AccountSummary {
            id: own(self.id),
            provider: own(self.provider),
            nickname: own(self.nickname),
            scopes: self.scopes.into_iter().map(|s| Text(own(s.0))).collect(),
            expires_at: self.expires_at,
            metadata: self.metadata,
            is_default: self.is_default,
            over_ssh: self.over_ssh,
            created_at: self.created_at,
            updated_at: self.updated_at,
            provider_name: own(self.provider_name),
            status: self.status,
            status_reason: self.status_reason.map(own),
            expires_in: self.expires_in,
            can_refresh: self.can_refresh,
            can_revoke: self.can_revoke,
            mcp_server: self.mcp_server,
        }
    }
}

/// What a user sees of an account's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Expiring,
    Expired,
    NeedsReconnect,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Expiring => "expiring",
            Status::Expired => "expired",
            Status::NeedsReconnect => "needs reconnect",
        }
    }
}

/// A string of the account file, borrowed unless JSON escapes had to be undone. serde borrows a `Cow`
/// field itself but makes every `Cow` inside a `Vec` an owned copy: four allocations per account
/// for its scopes, a sixth of `keyport list` with a thousand accounts.
#[derive(Debug, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl std::borrow::Borrow<str> for Text<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

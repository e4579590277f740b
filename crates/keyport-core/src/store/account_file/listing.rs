//! The account file read for listings: each account borrowed from the file's bytes where it can
//! be, and its connection reduced to whether it can revoke, so that `keyport list` stays close to
//! flat as accounts grow.

use super::{AccountStore, StoredFile};
use crate::error::Result;
use crate::store::accounts::{status, Account, Lifecycle, Status};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// An account as listings need it: borrowed from the file's bytes where it can be, and without
/// the connection (only whether it can revoke). `keyport list` reads these, so that its cost stays
/// close to flat as accounts grow. Serialized, it is the account part of an
/// [`crate::AccountSummary`].
#[derive(Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListedAccount<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub provider: Cow<'a, str>,
    #[serde(borrow)]
    pub nickname: Cow<'a, str>,
    #[serde(borrow)]
    #[cfg_attr(feature = "ts", ts(as = "Vec<String>"))]
    pub scopes: Vec<Text<'a>>,
    /// Unix seconds; `null` for a token that does not expire.
    pub expires_at: Option<u64>,
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub token_obtained_at: u64,
    #[serde(skip_serializing)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub has_refresh_token: bool,
    #[serde(skip_serializing)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub lifecycle: Lifecycle,
    /// The name of the account's entry in the file's connection table; empty for an account
    /// listed from memory.
    #[serde(borrow, skip_serializing)]
    #[cfg_attr(feature = "ts", ts(skip))]
    connection: Cow<'a, str>,
    /// Whether that connection has a revocation endpoint.
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    can_revoke: bool,
    /// Non-secret fields the provider sent with the tokens (`keep_fields`), e.g. `instance_url`.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Whether a bare provider id means this account (`keyport default`).
    #[serde(default)]
    pub is_default: bool,
    /// Whether it may be used from machines reached over SSH (`keyport forwarding`).
    #[serde(default)]
    pub over_ssh: bool,
    pub created_at: u64,
    pub updated_at: u64,
}

/// A string of the file, borrowed unless JSON escapes had to be undone. serde borrows a `Cow`
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

/// Whether a stored connection has a revocation endpoint, without reading the rest of it.
#[derive(Debug, Default, Deserialize)]
struct RevocationPresence {
    endpoints: RevocationUrl,
}

#[derive(Debug, Default, Deserialize)]
struct RevocationUrl {
    #[serde(default)]
    revocation_url: Option<serde::de::IgnoredAny>,
}

impl ListedAccount<'_> {
    pub fn status(&self, now: u64) -> Status {
        status(
            &self.lifecycle,
            self.expires_at,
            self.token_obtained_at,
            self.has_refresh_token,
            now,
        )
    }

    pub fn can_revoke(&self) -> bool {
        self.can_revoke
    }

    pub fn into_owned(self) -> ListedAccount<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        ListedAccount {
            id: own(self.id),
            provider: own(self.provider),
            nickname: own(self.nickname),
            scopes: self.scopes.into_iter().map(|s| Text(own(s.0))).collect(),
            expires_at: self.expires_at,
            token_obtained_at: self.token_obtained_at,
            has_refresh_token: self.has_refresh_token,
            lifecycle: self.lifecycle,
            connection: own(self.connection),
            can_revoke: self.can_revoke,
            metadata: self.metadata,
            is_default: self.is_default,
            over_ssh: self.over_ssh,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

impl<'a> From<&'a Account> for ListedAccount<'a> {
    fn from(a: &'a Account) -> Self {
        ListedAccount {
            id: Cow::Borrowed(&a.id),
            provider: Cow::Borrowed(&a.provider),
            nickname: Cow::Borrowed(&a.nickname),
            scopes: a.scopes.iter().map(|s| Text(Cow::Borrowed(s))).collect(),
            expires_at: a.expires_at,
            token_obtained_at: a.token_obtained_at,
            has_refresh_token: a.has_refresh_token,
            lifecycle: a.lifecycle.clone(),
            connection: Cow::Borrowed(""),
            can_revoke: a.connection.endpoints.revocation_url.is_some(),
            metadata: a.metadata.clone(),
            is_default: a.is_default,
            over_ssh: a.over_ssh,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

impl AccountStore {
    /// The accounts in `bytes` (from [`AccountStore::read_bytes`]) as listings need them.
    pub fn listing<'a>(&self, bytes: &'a [u8]) -> Result<Vec<ListedAccount<'a>>> {
        if bytes.is_empty() {
            return Ok(Vec::new());
        }
        let file: StoredFile<RevocationPresence, ListedAccount<'a>> = self.parse(bytes)?;
        let mut accounts = file.accounts;
        for a in &mut accounts {
            let connection = self.named(&file.connections, &a.id, &a.connection)?;
            a.can_revoke = connection.endpoints.revocation_url.is_some();
        }
        Ok(accounts)
    }
}

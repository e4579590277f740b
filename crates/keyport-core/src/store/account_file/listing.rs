//! The account file read for listings: each account borrowed from the file's bytes where it can
//! be, and its connection reduced to whether it can revoke, so that `keyport list` stays close to
//! flat as accounts grow.

use super::{AccountStore, StoredFile};
use crate::error::Result;
use crate::model::summary::Text;
use crate::store::accounts::{Account, Lifecycle};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// An account as listings need it: borrowed from the file's bytes where it can be, and without
/// the connection (only whether it can revoke). `keyport list` reads these, so that its cost stays
/// close to flat as accounts grow; what interfaces show of it is a [`crate::view::AccountSummary`].
///
/// A second shape of [`Account`] on purpose: the owned one makes serde allocate every string of
/// every account, a third of `keyport list`'s time with a thousand accounts. Its fields are the
/// stored account's, read from the same JSON; a test below pins that both read one file alike.
#[derive(Debug, Deserialize)]
pub struct ListedAccount<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub provider: Cow<'a, str>,
    #[serde(borrow)]
    pub nickname: Cow<'a, str>,
    #[serde(borrow)]
    pub scopes: Vec<Text<'a>>,
    pub expires_at: Option<u64>,
    #[serde(default)]
    pub token_obtained_at: u64,
    pub has_refresh_token: bool,
    pub lifecycle: Lifecycle,
    /// The name of the account's entry in the file's connection table; empty for an account
    /// listed from memory.
    #[serde(borrow)]
    connection: Cow<'a, str>,
    /// Whether that connection has a revocation endpoint.
    #[serde(skip)]
    can_revoke: bool,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub over_ssh: bool,
    pub created_at: u64,
    pub updated_at: u64,
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
    pub fn can_revoke(&self) -> bool {
        self.can_revoke
    }
}

impl<'a> From<&'a Account> for ListedAccount<'a> {
    fn from(a: &'a Account) -> Self {
        ListedAccount {
            id: Cow::Borrowed(a.id.as_str()),
            provider: Cow::Borrowed(a.provider.as_str()),
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

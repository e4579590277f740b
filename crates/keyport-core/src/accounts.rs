//! Connected accounts' non-secret metadata, kept in one small JSON file.
//!
//! Every change is a read-modify-write under an exclusive file lock, written to a temporary file in
//! the same directory and renamed over the old one, so readers see the old or the new file, never a
//! torn one, and concurrent writers never lose each other's updates. A damaged file is reported and
//! left untouched: nothing is ever silently reset.

use crate::endpoints::Endpoints;
use crate::error::{Error, Result};
use crate::lock::FileLock;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Seconds before expiry from which an account shows as "expiring".
pub const EXPIRING_WINDOW_SECS: u64 = 300;

/// What the stored grant can still do. Only a reconnect or disconnect leaves `NeedsReconnect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Lifecycle {
    Active,
    NeedsReconnect { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Stable handle: `<provider>-<n>`.
    pub id: String,
    pub provider: String,
    pub nickname: String,
    /// The provider's stable user id (`sub`, `id`), to recognize a reconnect of the same user.
    #[serde(default)]
    pub subject: Option<String>,
    pub scopes: Vec<String>,
    pub expires_at: Option<u64>,
    /// When the current access token was issued, to judge "expiring" against its lifetime.
    #[serde(default)]
    pub token_obtained_at: u64,
    pub has_refresh_token: bool,
    pub lifecycle: Lifecycle,
    pub endpoints: Endpoints,
    /// Token-response fields the catalog keeps (`keep_fields`), such as an API base URL.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    pub created_at: u64,
    pub updated_at: u64,
}

/// What a user sees of an account's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

impl Account {
    /// An account that can refresh is never "expiring" or "expired" for long: the next use
    /// refreshes it. The status still says where the access token stands. "Expiring" starts
    /// [`EXPIRING_WINDOW_SECS`] before expiry, or at half-life for tokens shorter than twice that.
    pub fn status(&self, now: u64) -> Status {
        status(
            &self.lifecycle,
            self.expires_at,
            self.token_obtained_at,
            self.has_refresh_token,
            now,
        )
    }

    /// `provider:nickname`, the reference a person would type.
    pub fn label(&self) -> String {
        format!("{}:{}", self.provider, self.nickname)
    }
}

fn status(
    lifecycle: &Lifecycle,
    expires_at: Option<u64>,
    token_obtained_at: u64,
    has_refresh_token: bool,
    now: u64,
) -> Status {
    if let Lifecycle::NeedsReconnect { .. } = lifecycle {
        return Status::NeedsReconnect;
    }
    let Some(expires_at) = expires_at else {
        return Status::Ok;
    };
    let window = EXPIRING_WINDOW_SECS.min(expires_at.saturating_sub(token_obtained_at) / 2);
    match expires_at {
        e if e <= now && !has_refresh_token => Status::NeedsReconnect,
        e if e <= now => Status::Expired,
        e if e - now <= window => Status::Expiring,
        _ => Status::Ok,
    }
}

/// An account as listings need it: borrowed from the file's bytes where it can be, and without
/// the endpoints (only whether there is a revocation endpoint). `keyport list` reads these, so
/// that its cost stays close to flat as accounts grow.
#[derive(Debug, Deserialize)]
pub struct ListedAccount<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub provider: Cow<'a, str>,
    #[serde(borrow)]
    pub nickname: Cow<'a, str>,
    pub scopes: Vec<Cow<'a, str>>,
    pub expires_at: Option<u64>,
    #[serde(default)]
    pub token_obtained_at: u64,
    pub has_refresh_token: bool,
    pub lifecycle: Lifecycle,
    #[serde(rename = "endpoints")]
    revocation: RevocationPresence,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub created_at: u64,
    pub updated_at: u64,
}

#[derive(Debug, Default, Deserialize)]
struct RevocationPresence {
    #[serde(default)]
    revocation_url: Option<serde::de::IgnoredAny>,
}

impl<'a> ListedAccount<'a> {
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
        self.revocation.revocation_url.is_some()
    }
}

impl<'a> From<&'a Account> for ListedAccount<'a> {
    fn from(a: &'a Account) -> Self {
        ListedAccount {
            id: Cow::Borrowed(&a.id),
            provider: Cow::Borrowed(&a.provider),
            nickname: Cow::Borrowed(&a.nickname),
            scopes: a.scopes.iter().map(|s| Cow::Borrowed(s.as_str())).collect(),
            expires_at: a.expires_at,
            token_obtained_at: a.token_obtained_at,
            has_refresh_token: a.has_refresh_token,
            lifecycle: a.lifecycle.clone(),
            revocation: RevocationPresence {
                revocation_url: a.endpoints.revocation_url.as_ref().map(|_| serde::de::IgnoredAny),
            },
            metadata: a.metadata.clone(),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// The account file's envelope, read as whole accounts or as listings.
#[derive(Debug, Deserialize)]
struct VersionedFile<T> {
    version: u32,
    accounts: T,
}

#[derive(Debug, Default, Serialize)]
struct AccountsFile {
    version: u32,
    accounts: Vec<Account>,
}

const FILE_VERSION: u32 = 1;

#[derive(Debug, Clone)]
pub struct AccountStore {
    path: PathBuf,
    lock_path: PathBuf,
}

impl AccountStore {
    pub fn new(path: PathBuf, locks_dir: &Path) -> Self {
        Self {
            path,
            lock_path: locks_dir.join("accounts.lock"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All accounts, as last written. Needs no lock: the file is replaced atomically.
    pub fn load(&self) -> Result<Vec<Account>> {
        let bytes = self.read_bytes()?;
        self.parse(&bytes)
    }

    /// The account file's bytes (empty when there is none yet), for [`AccountStore::listing`].
    pub fn read_bytes(&self) -> Result<Vec<u8>> {
        match std::fs::read(&self.path) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io("read", &self.path, e)),
        }
    }

    /// The accounts in `bytes` (from [`AccountStore::read_bytes`]) as listings need them.
    pub fn listing<'a>(&self, bytes: &'a [u8]) -> Result<Vec<ListedAccount<'a>>> {
        self.parse(bytes)
    }

    fn parse<'a, T: Deserialize<'a> + Default>(&self, bytes: &'a [u8]) -> Result<T> {
        if bytes.is_empty() {
            return Ok(T::default());
        }
        let corrupt = |message: String| Error::CorruptData {
            path: self.path.clone(),
            message,
        };
        let file: VersionedFile<T> = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        if file.version != FILE_VERSION {
            return Err(corrupt(format!(
                "version {} is not {FILE_VERSION}; was it written by a newer Keyport?",
                file.version
            )));
        }
        Ok(file.accounts)
    }

    /// Applies `change` to the accounts under the file lock and writes the result atomically.
    /// Nothing is written when `change` fails.
    pub fn update<T>(&self, change: impl FnOnce(&mut Vec<Account>) -> Result<T>) -> Result<T> {
        let _lock = FileLock::exclusive(&self.lock_path)?;
        let mut accounts = self.load()?;
        let out = change(&mut accounts)?;
        self.write(&accounts)?;
        Ok(out)
    }

    fn write(&self, accounts: &[Account]) -> Result<()> {
        let file = AccountsFile {
            version: FILE_VERSION,
            accounts: accounts.to_vec(),
        };
        crate::atomic_file::replace(
            &self.path,
            &serde_json::to_vec(&file).expect("accounts serialize"),
        )
    }
}

/// Finds the one account `reference` names: an id, `provider:nickname`, a provider or a nickname.
pub fn resolve<'a>(accounts: &'a [Account], reference: &str) -> Result<&'a Account> {
    if let Some(a) = accounts.iter().find(|a| a.id == reference) {
        return Ok(a);
    }
    let matches: Vec<&Account> = match reference.split_once(':') {
        Some((provider, nickname)) => accounts
            .iter()
            .filter(|a| a.provider == provider && a.nickname == nickname)
            .collect(),
        None => accounts
            .iter()
            .filter(|a| a.provider == reference || a.nickname == reference)
            .collect(),
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::NoSuchAccount(reference.to_string())),
        many => Err(Error::AmbiguousAccount {
            reference: reference.to_string(),
            candidates: many.iter().map(|a| format!("{} ({})", a.id, a.label())).collect(),
        }),
    }
}

/// The next free `<provider>-<n>` id.
pub fn next_id(accounts: &[Account], provider: &str) -> String {
    (1..)
        .map(|n| format!("{provider}-{n}"))
        .find(|id| accounts.iter().all(|a| &a.id != id))
        .expect("an unbounded range always has a free id")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn account(id: &str, provider: &str, nickname: &str) -> Account {
        Account {
            id: id.into(),
            provider: provider.into(),
            nickname: nickname.into(),
            subject: None,
            scopes: vec![],
            expires_at: Some(10_000),
            token_obtained_at: 0,
            has_refresh_token: true,
            lifecycle: Lifecycle::Active,
            endpoints: Endpoints {
                authorization_url: "https://a.example/auth".into(),
                token_url: "https://a.example/token".into(),
                revocation_url: None,
                userinfo_url: None,
                refresh_url: None,
                device_authorization_url: None,
                issuer: None,
                iss_parameter_supported: false,
            },
            metadata: Default::default(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn references_resolve_or_explain() {
        let accts = vec![
            account("github-1", "github", "alice"),
            account("github-2", "github", "bob"),
            account("google-1", "google", "alice@example.com"),
        ];
        assert_eq!(resolve(&accts, "github-2").unwrap().id, "github-2");
        assert_eq!(resolve(&accts, "github:alice").unwrap().id, "github-1");
        assert_eq!(resolve(&accts, "google").unwrap().id, "google-1");
        assert_eq!(resolve(&accts, "bob").unwrap().id, "github-2");
        match resolve(&accts, "github") {
            Err(Error::AmbiguousAccount { candidates, .. }) => assert_eq!(candidates.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(matches!(resolve(&accts, "gitlab"), Err(Error::NoSuchAccount(_))));
    }

    #[test]
    fn ids_are_reused_only_when_free() {
        let accts = vec![
            account("github-1", "github", "a"),
            account("github-3", "github", "b"),
        ];
        assert_eq!(next_id(&accts, "github"), "github-2");
        assert_eq!(next_id(&accts, "gitlab"), "gitlab-1");
    }

    #[test]
    fn status_follows_expiry_and_lifecycle() {
        let mut a = account("x-1", "x", "n");
        a.expires_at = Some(1000);
        assert_eq!(a.status(0), Status::Ok);
        assert_eq!(a.status(800), Status::Expiring);
        a.token_obtained_at = 940; // a 60-second token is "expiring" only in its second half
        assert_eq!(a.status(960), Status::Ok);
        assert_eq!(a.status(975), Status::Expiring);
        assert_eq!(a.status(1000), Status::Expired);
        a.has_refresh_token = false;
        assert_eq!(a.status(1000), Status::NeedsReconnect);
        a.lifecycle = Lifecycle::NeedsReconnect {
            reason: "revoked".into(),
        };
        assert_eq!(a.status(0), Status::NeedsReconnect);
    }

    #[test]
    fn store_round_trips_and_refuses_damaged_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = AccountStore::new(dir.path().join("accounts.json"), &dir.path().join("locks"));
        assert!(store.load().unwrap().is_empty());
        store
            .update(|a| {
                a.push(account("x-1", "x", "n"));
                Ok(())
            })
            .unwrap();
        assert_eq!(store.load().unwrap()[0].id, "x-1");
        // A failed change writes nothing.
        let err = store.update(|a| {
            a.clear();
            Err::<(), _>(Error::Internal("no".into()))
        });
        assert!(err.is_err());
        assert_eq!(store.load().unwrap().len(), 1);
        let bytes = store.read_bytes().unwrap();
        let listed = store.listing(&bytes).unwrap();
        assert_eq!(listed[0].id, "x-1");
        assert!(
            matches!(listed[0].id, Cow::Borrowed(_)),
            "listing borrows from the file"
        );
        assert_eq!(listed[0].status(0), store.load().unwrap()[0].status(0));
        std::fs::write(store.path(), b"{not json").unwrap();
        let bytes = store.read_bytes().unwrap();
        assert!(matches!(store.listing(&bytes), Err(Error::CorruptData { .. })));
        assert!(matches!(store.load(), Err(Error::CorruptData { .. })));
        assert!(store.update(|_| Ok(())).is_err());
        assert_eq!(std::fs::read(store.path()).unwrap(), b"{not json");
    }
}

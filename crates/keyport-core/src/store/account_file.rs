//! The account file: connected accounts' non-secret metadata in one small JSON file.
//!
//! Every change is a read-modify-write under an exclusive file lock, written to a temporary file in
//! the same directory and renamed over the old one, so readers see the old or the new file, never a
//! torn one, and concurrent writers never lose each other's updates. A damaged file is reported and
//! left untouched: nothing is ever silently reset.

use crate::catalog::EndpointSet;
use crate::error::{Error, Result};
use crate::provider::connection::Connection;
use crate::store::accounts::{status, Account, Lifecycle, Status};
use crate::store::lock::FileLock;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use url::Url;

/// Format 2 stores each account's whole [`Connection`]; format 1 stored only its endpoints, and is
/// upgraded in place by [`AccountStore::upgrade`].
const FILE_VERSION: u32 = 2;

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
    pub scopes: Vec<Cow<'a, str>>,
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
    #[serde(rename = "connection", skip_serializing)]
    #[cfg_attr(feature = "ts", ts(skip))]
    revocation: RevocationPresence,
    /// Non-secret fields the provider sent with the tokens (`keep_fields`), e.g. `instance_url`.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Whether a bare provider id means this account (`keyport default`).
    #[serde(default)]
    pub is_default: bool,
    pub created_at: u64,
    pub updated_at: u64,
}

/// Whether the stored connection has a revocation endpoint, without reading the rest of it.
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
        self.revocation.endpoints.revocation_url.is_some()
    }

    pub fn into_owned(self) -> ListedAccount<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        ListedAccount {
            id: own(self.id),
            provider: own(self.provider),
            nickname: own(self.nickname),
            scopes: self.scopes.into_iter().map(own).collect(),
            expires_at: self.expires_at,
            token_obtained_at: self.token_obtained_at,
            has_refresh_token: self.has_refresh_token,
            lifecycle: self.lifecycle,
            revocation: self.revocation,
            metadata: self.metadata,
            is_default: self.is_default,
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
            scopes: a.scopes.iter().map(|s| Cow::Borrowed(s.as_str())).collect(),
            expires_at: a.expires_at,
            token_obtained_at: a.token_obtained_at,
            has_refresh_token: a.has_refresh_token,
            lifecycle: a.lifecycle.clone(),
            revocation: RevocationPresence {
                endpoints: RevocationUrl {
                    revocation_url: a
                        .connection
                        .endpoints
                        .revocation_url
                        .as_ref()
                        .map(|_| serde::de::IgnoredAny),
                },
            },
            metadata: a.metadata.clone(),
            is_default: a.is_default,
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

#[derive(Debug, Serialize)]
struct AccountsFile<'a> {
    version: u32,
    accounts: &'a [Account],
}

/// What a format-1 account stored instead of its connection: its endpoints, with the issuer
/// identifier and the RFC 9207 promise beside them.
pub struct LegacyEndpoints {
    pub endpoints: EndpointSet<Option<Url>>,
    pub callback_issuer: Option<String>,
    pub iss_parameter_supported: bool,
}

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

    fn corrupt(&self, message: String) -> Error {
        Error::CorruptData {
            path: self.path.clone(),
            message,
        }
    }

    fn parse<'a, T: Deserialize<'a> + Default>(&self, bytes: &'a [u8]) -> Result<T> {
        if bytes.is_empty() {
            return Ok(T::default());
        }
        // Validated as UTF-8 once, as a whole: `from_slice` would check every string it borrows
        // again, which was an eighth of `list --json` with a thousand accounts.
        let text = std::str::from_utf8(bytes).map_err(|e| self.corrupt(e.to_string()))?;
        let file: VersionedFile<T> = serde_json::from_str(text).map_err(|e| self.corrupt(e.to_string()))?;
        if file.version != FILE_VERSION {
            return Err(self.corrupt(format!(
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
            accounts,
        };
        crate::store::atomic_file::replace(
            &self.path,
            &serde_json::to_vec(&file).expect("accounts serialize"),
        )
    }

    /// Rewrites a format-1 file as format 2, once: `connect` gives each account (by provider id)
    /// the connection its stored endpoints and today's catalog make. Costs one small read when
    /// the file is already current (the version is the first field written).
    pub fn upgrade(&self, connect: impl Fn(&str, LegacyEndpoints) -> Connection) -> Result<()> {
        if !self.has_version(1)? {
            return Ok(());
        }
        let _lock = FileLock::exclusive(&self.lock_path)?;
        let bytes = self.read_bytes()?;
        let file: VersionedFile<Vec<serde_json::Value>> =
            serde_json::from_slice(&bytes).map_err(|e| self.corrupt(e.to_string()))?;
        if file.version != 1 {
            return Ok(()); // another process upgraded it meanwhile
        }
        let mut accounts = Vec::with_capacity(file.accounts.len());
        for mut value in file.accounts {
            let legacy = value
                .as_object_mut()
                .and_then(|a| a.remove("endpoints"))
                .ok_or_else(|| self.corrupt("an account of format 1 has no endpoints".into()))?;
            let legacy = legacy_endpoints(legacy).map_err(|m| self.corrupt(m))?;
            let provider = value["provider"].as_str().unwrap_or_default().to_string();
            value["connection"] = serde_json::to_value(connect(&provider, legacy)).expect("serializes");
            accounts.push(serde_json::from_value(value).map_err(|e| self.corrupt(e.to_string()))?);
        }
        tracing::info!(path = %self.path.display(), "upgraded the account file to format {FILE_VERSION}");
        self.write(&accounts)
    }

    /// Whether the file is of format 1 and [`AccountStore::upgrade`] has work to do.
    pub fn needs_upgrade(&self) -> Result<bool> {
        self.has_version(1)
    }

    fn has_version(&self, version: u32) -> Result<bool> {
        use std::io::Read;
        let mut head = [0u8; 16];
        let n = match std::fs::File::open(&self.path) {
            Ok(mut f) => f.read(&mut head).map_err(|e| Error::io("read", &self.path, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io("read", &self.path, e)),
        };
        Ok(head[..n].starts_with(format!("{{\"version\":{version},").as_bytes()))
    }
}

fn legacy_endpoints(mut value: serde_json::Value) -> std::result::Result<LegacyEndpoints, String> {
    let object = value
        .as_object_mut()
        .ok_or("stored endpoints are not an object")?;
    let iss_parameter_supported = object
        .remove("iss_parameter_supported")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let callback_issuer = object
        .remove("issuer")
        .and_then(|v| v.as_str().map(str::to_string));
    let endpoints = serde_json::from_value(value).map_err(|e| format!("stored endpoints: {e}"))?;
    Ok(LegacyEndpoints {
        endpoints,
        callback_issuer,
        iss_parameter_supported,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::accounts::tests::account;

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

    #[test]
    fn a_format_1_file_is_upgraded_once_and_keeps_every_account() {
        let dir = tempfile::tempdir().unwrap();
        let store = AccountStore::new(dir.path().join("accounts.json"), &dir.path().join("locks"));
        // As Keyport wrote it: `version` first.
        let account = serde_json::json!({
            "id": "demo-1", "provider": "demo", "nickname": "ada", "scopes": ["openid"],
            "expires_at": 100, "token_obtained_at": 40, "has_refresh_token": true,
            "lifecycle": {"state": "active"},
            "endpoints": {"authorization_url": "https://a.example/auth", "token_url": "https://a.example/token",
                          "revocation_url": "https://a.example/revoke", "userinfo_url": null,
                          "issuer": "https://a.example", "iss_parameter_supported": true},
            "created_at": 1, "updated_at": 2});
        std::fs::write(
            store.path(),
            format!("{{\"version\":1,\"accounts\":[{account}]}}"),
        )
        .unwrap();
        assert!(store.load().is_err(), "format 1 is not read as format 2");
        let upgrade = || {
            store.upgrade(|provider, legacy| {
                assert_eq!(provider, "demo");
                Connection {
                    endpoints: legacy.endpoints,
                    callback_issuer: legacy.callback_issuer,
                    iss_parameter_supported: legacy.iss_parameter_supported,
                    ..crate::provider::connection::tests::connection()
                }
            })
        };
        upgrade().unwrap();
        let accounts = store.load().unwrap();
        let a = &accounts[0];
        assert_eq!((a.id.as_str(), a.nickname.as_str()), ("demo-1", "ada"));
        let c = &a.connection;
        assert_eq!(c.token_url().as_str(), "https://a.example/token");
        assert_eq!(c.callback_issuer.as_deref(), Some("https://a.example"));
        assert!(c.iss_parameter_supported && c.endpoints.revocation_url.is_some());
        let after = std::fs::read(store.path()).unwrap();
        upgrade().unwrap();
        assert_eq!(
            std::fs::read(store.path()).unwrap(),
            after,
            "a current file is left alone"
        );
    }
}

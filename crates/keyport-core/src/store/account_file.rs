//! The account file: connected accounts' non-secret metadata in one small JSON file.
//!
//! Every change is a read-modify-write under an exclusive file lock, written to a temporary file in
//! the same directory and renamed over the old one, so readers see the old or the new file, never a
//! torn one, and concurrent writers never lose each other's updates. A damaged file is reported and
//! left untouched: nothing is ever silently reset.
//!
//! Format 3, as written:
//!
//! ```json
//! {"version":3,
//!  "connections":{"github":{"provider_name":"GitHub","endpoints":{…},"client_id":"…",…}},
//!  "accounts":[{"id":"github-1","provider":"github","nickname":"octocat","connection":"github",…}]}
//! ```
//!
//! Each distinct connection is stored once and named by its accounts: a provider's accounts
//! nearly always share one, and stored with every account it was most of the file, which every
//! `keyport list` had to read past. An account made with a different connection of the same
//! provider (a changed client id or endpoint) gets an entry of its own, `github~2`.

use crate::catalog::EndpointSet;
use crate::error::{Error, Result};
use crate::provider::connection::Connection;
use crate::store::accounts::{status, Account, Lifecycle, Status};
use crate::store::lock::FileLock;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

/// Format 3 stores each distinct [`Connection`] once, in a table; format 2 stored each account's
/// whole connection with it, format 1 only its endpoints. Both are upgraded in place by
/// [`AccountStore::upgrade`].
const FILE_VERSION: u32 = 3;

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
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// The account file, read as whole accounts (`C` a [`Connection`], `A` an account naming its
/// entry) or as listings (`C` only whether it can revoke, `A` a [`ListedAccount`]).
#[derive(Debug, Deserialize)]
struct StoredFile<C, A> {
    version: u32,
    connections: BTreeMap<String, C>,
    accounts: Vec<A>,
}

#[derive(Debug, Serialize)]
struct WrittenFile<'a> {
    version: u32,
    connections: BTreeMap<&'a str, &'a Connection>,
    accounts: Vec<Account<&'a str>>,
}

/// Any version's envelope, to say which version a file is when it does not read as the current one.
#[derive(Debug, Deserialize)]
struct Versioned<T> {
    version: u32,
    #[serde(default)]
    accounts: T,
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
        if bytes.is_empty() {
            return Ok(Vec::new());
        }
        let file: StoredFile<Connection, Account<String>> = self.parse(&bytes)?;
        let table: BTreeMap<String, Arc<Connection>> = file
            .connections
            .into_iter()
            .map(|(name, c)| (name, Arc::new(c)))
            .collect();
        file.accounts
            .into_iter()
            .map(|a| {
                let connection = self.named(&table, &a.id, &a.connection)?.clone();
                Ok(a.map_connection(|_| connection))
            })
            .collect()
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

    /// The table entry `name` that account `id` refers to.
    fn named<'t, C>(&self, table: &'t BTreeMap<String, C>, id: &str, name: &str) -> Result<&'t C> {
        table.get(name).ok_or_else(|| {
            self.corrupt(format!(
                "account {id:?} names connection {name:?}, which the file does not have"
            ))
        })
    }

    fn corrupt(&self, message: String) -> Error {
        Error::CorruptData {
            path: self.path.clone(),
            message,
        }
    }

    /// The file in `bytes`, of the current version (`version` read whatever its place).
    fn parse<'a, C, A>(&self, bytes: &'a [u8]) -> Result<StoredFile<C, A>>
    where
        StoredFile<C, A>: Deserialize<'a>,
    {
        // Validated as UTF-8 once, as a whole: `from_slice` would check every string it borrows
        // again, which was an eighth of `list --json` with a thousand accounts.
        let text = std::str::from_utf8(bytes).map_err(|e| self.corrupt(e.to_string()))?;
        let version = |v| {
            self.corrupt(format!(
                "version {v} is not {FILE_VERSION}; was it written by a newer Keyport?"
            ))
        };
        match serde_json::from_str::<StoredFile<C, A>>(text) {
            Ok(file) if file.version == FILE_VERSION => Ok(file),
            Ok(file) => Err(version(file.version)),
            // Another version's shape fails to read as this one: say so rather than where.
            Err(e) => match serde_json::from_str::<Versioned<serde::de::IgnoredAny>>(text) {
                Ok(v) if v.version != FILE_VERSION => Err(version(v.version)),
                _ => Err(self.corrupt(e.to_string())),
            },
        }
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
        let (table, names) = name_connections(accounts);
        let file = WrittenFile {
            version: FILE_VERSION,
            connections: table.iter().map(|(name, c)| (name.as_str(), *c)).collect(),
            accounts: accounts
                .iter()
                .zip(names)
                .map(|(a, i)| a.clone().map_connection(|_| table[i].0.as_str()))
                .collect(),
        };
        crate::store::atomic_file::replace(
            &self.path,
            &serde_json::to_vec(&file).expect("accounts serialize"),
        )
    }

    /// Rewrites a file of format 1 or 2 as the current format, once. `connect` gives a format-1
    /// account (by provider id) the connection its stored endpoints and today's catalog make.
    /// Costs one small read when the file is already current (the version is the first field
    /// written).
    pub fn upgrade(&self, connect: impl Fn(&str, LegacyEndpoints) -> Result<Connection>) -> Result<()> {
        if !self.needs_upgrade()? {
            return Ok(());
        }
        let _lock = FileLock::exclusive(&self.lock_path)?;
        let bytes = self.read_bytes()?;
        let file: Versioned<Vec<serde_json::Value>> =
            serde_json::from_slice(&bytes).map_err(|e| self.corrupt(e.to_string()))?;
        if !matches!(file.version, 1 | 2) {
            return Ok(()); // another process upgraded it meanwhile
        }
        let mut accounts = Vec::with_capacity(file.accounts.len());
        for mut value in file.accounts {
            if file.version == 1 {
                let legacy = value
                    .as_object_mut()
                    .and_then(|a| a.remove("endpoints"))
                    .ok_or_else(|| self.corrupt("an account of format 1 has no endpoints".into()))?;
                let legacy = legacy_endpoints(legacy).map_err(|m| self.corrupt(m))?;
                let provider = value["provider"].as_str().unwrap_or_default().to_string();
                value["connection"] = serde_json::to_value(connect(&provider, legacy)?).expect("serializes");
            }
            let account: Account<Connection> =
                serde_json::from_value(value).map_err(|e| self.corrupt(e.to_string()))?;
            accounts.push(account.map_connection(Arc::new));
        }
        tracing::info!(
            path = %self.path.display(),
            "upgraded the account file from format {} to {FILE_VERSION}",
            file.version
        );
        self.write(&accounts)
    }

    /// Whether the file is of an older format that [`AccountStore::upgrade`] rewrites.
    fn needs_upgrade(&self) -> Result<bool> {
        use std::io::Read;
        let mut head = [0u8; 32];
        let n = match std::fs::File::open(&self.path) {
            Ok(mut f) => f.read(&mut head).map_err(|e| Error::io("read", &self.path, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io("read", &self.path, e)),
        };
        Ok(matches!(leading_version(&head[..n]), Some(1 | 2)))
    }
}

/// The version a file starting with `head` declares first, as Keyport writes it (or a person
/// reformatting it would: spaces and line breaks allowed).
fn leading_version(head: &[u8]) -> Option<u32> {
    let head = String::from_utf8_lossy(head);
    let rest = head
        .trim_start()
        .strip_prefix('{')?
        .trim_start()
        .strip_prefix("\"version\"")?
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// The table of `accounts`' distinct connections, each named after the provider of the first
/// account that has it (`github`, then `github~2`, … for other connections of that provider),
/// and the index of each account's entry. Accounts read from the file share their entry's
/// allocation, so most are matched by address; the rest are compared whole.
fn name_connections(accounts: &[Account]) -> (Vec<(String, &Connection)>, Vec<usize>) {
    let mut table: Vec<(String, &Connection)> = Vec::new();
    let mut by_address: HashMap<*const Connection, usize> = HashMap::new();
    let names = accounts
        .iter()
        .map(|a| {
            let address = Arc::as_ptr(&a.connection);
            if let Some(&i) = by_address.get(&address) {
                return i;
            }
            let i = table
                .iter()
                .position(|(_, c)| **c == *a.connection)
                .unwrap_or_else(|| {
                    let name = (1..)
                        .map(|n| match n {
                            1 => a.provider.clone(),
                            n => format!("{}~{n}", a.provider),
                        })
                        .find(|name| table.iter().all(|(taken, _)| taken != name))
                        .expect("an unbounded range always has a free name");
                    table.push((name, &a.connection));
                    table.len() - 1
                });
            by_address.insert(address, i);
            i
        })
        .collect();
    (table, names)
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
                a.push(Account {
                    scopes: vec!["read".into(), "say \"hi\"".into()],
                    ..account("x-1", "x", "n")
                });
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
        let scopes: Vec<_> = listed[0]
            .scopes
            .iter()
            .map(|s| (&*s.0, matches!(s.0, Cow::Borrowed(_))))
            .collect();
        assert_eq!(
            scopes,
            [("read", true), ("say \"hi\"", false)],
            "scopes too, unless escaped"
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
        assert!(
            store.load().is_err(),
            "format 1 is not read as the current format"
        );
        let upgrade = || {
            store.upgrade(|provider, legacy| {
                assert_eq!(provider, "demo");
                Ok(Connection {
                    endpoints: legacy.endpoints,
                    callback_issuer: legacy.callback_issuer,
                    iss_parameter_supported: legacy.iss_parameter_supported,
                    ..crate::provider::connection::tests::connection()
                })
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

    fn store_in(dir: &Path) -> AccountStore {
        AccountStore::new(dir.join("accounts.json"), &dir.join("locks"))
    }

    fn with_client(id: &str, client_id: &str) -> Account {
        let mut a = account(id, "x", id);
        let c = Arc::make_mut(&mut a.connection);
        c.client_id = client_id.into();
        c.endpoints.revocation_url = Some(Url::parse("https://x.example/revoke").unwrap());
        a
    }

    #[test]
    fn accounts_share_their_connection_in_the_file_and_keep_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let mut no_revocation = with_client("x-3", "other");
        Arc::make_mut(&mut no_revocation.connection)
            .endpoints
            .revocation_url = None;
        store
            .update(|all| {
                // Equal connections in separate allocations, as sign-ins make them.
                all.extend([
                    with_client("x-1", "app"),
                    with_client("x-2", "app"),
                    no_revocation,
                ]);
                Ok(())
            })
            .unwrap();
        let file: serde_json::Value = serde_json::from_slice(&store.read_bytes().unwrap()).unwrap();
        let table = file["connections"].as_object().unwrap();
        assert_eq!(table.len(), 2, "{file}");
        let names: Vec<&str> = file["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["connection"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["x", "x", "x~2"]);
        assert_eq!(table["x~2"]["client_id"], "other");

        let loaded = store.load().unwrap();
        assert_eq!(loaded[0].connection.client_id, "app");
        assert!(
            Arc::ptr_eq(&loaded[0].connection, &loaded[1].connection),
            "read once, shared"
        );
        assert_eq!(loaded[2].connection.client_id, "other");
        let bytes = store.read_bytes().unwrap();
        let listed = store.listing(&bytes).unwrap();
        let revoke: Vec<bool> = listed.iter().map(ListedAccount::can_revoke).collect();
        assert_eq!(revoke, [true, true, false]);

        // Rewritten unchanged, the file is the same; an entry no account names is dropped.
        store.update(|_| Ok(())).unwrap();
        assert_eq!(store.read_bytes().unwrap(), bytes);
        store
            .update(|all| {
                all.truncate(2);
                Ok(())
            })
            .unwrap();
        let file: serde_json::Value = serde_json::from_slice(&store.read_bytes().unwrap()).unwrap();
        assert_eq!(file["connections"].as_object().unwrap().len(), 1);
    }

    #[test]
    fn a_missing_connection_or_another_version_is_reported_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        store
            .update(|all| {
                all.push(account("x-1", "x", "n"));
                Ok(())
            })
            .unwrap();
        let mut file: serde_json::Value = serde_json::from_slice(&store.read_bytes().unwrap()).unwrap();
        file["accounts"][0]["connection"] = "gone".into();
        let damaged = serde_json::to_vec(&file).unwrap();
        std::fs::write(store.path(), &damaged).unwrap();
        let message = |e: Error| match e {
            Error::CorruptData { message, .. } => message,
            other => panic!("{other:?}"),
        };
        let missing = message(store.load().unwrap_err());
        assert!(missing.contains(r#"connection "gone""#), "{missing}");
        assert!(message(store.listing(&damaged).unwrap_err()).contains("gone"));
        assert!(store.update(|_| Ok(())).is_err());
        assert_eq!(std::fs::read(store.path()).unwrap(), damaged);

        // A newer Keyport's file, whatever its shape: the version is what is wrong.
        let newer = br#"{"version":4,"accounts":{"x-1":{}},"servers":[]}"#;
        std::fs::write(store.path(), newer).unwrap();
        assert!(message(store.load().unwrap_err()).contains("version 4"));
        assert!(message(store.listing(newer).unwrap_err()).contains("version 4"));
        assert_eq!(std::fs::read(store.path()).unwrap(), newer);
    }

    #[test]
    fn the_leading_version_is_read_as_written_or_reformatted() {
        assert_eq!(leading_version(br#"{"version":2,"accounts":[{"id":"#), Some(2));
        assert_eq!(leading_version(b"{\n  \"version\" : 1,\n  \"acc"), Some(1));
        assert_eq!(leading_version(br#"{"version":3}"#), Some(3));
        assert_eq!(leading_version(br#"{"version":2"#), None, "cut short");
        assert_eq!(leading_version(br#"{"accounts":[],"version":2}"#), None);
        assert_eq!(leading_version(b""), None);
    }

    #[test]
    fn a_format_2_file_is_upgraded_to_one_shared_connection() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let accounts = [account("x-1", "x", "a"), account("x-2", "x", "b")];
        let inline: Vec<Account<Connection>> = accounts
            .iter()
            .map(|a| a.clone().map_connection(|c| (*c).clone()))
            .collect();
        // As Keyport wrote format 2: `version` first, each account with its whole connection.
        let v2 = serde_json::to_string(&serde_json::json!({"version": 2, "accounts": inline}))
            .unwrap()
            .replacen(r#"{"accounts":"#, r#"{"version":2,"accounts":"#, 1);
        std::fs::write(store.path(), v2.replacen(r#","version":2}"#, "}", 1)).unwrap();
        assert!(store.needs_upgrade().unwrap());
        store
            .upgrade(|_, _| unreachable!("format 2 needs no catalog"))
            .unwrap();
        assert!(!store.needs_upgrade().unwrap());
        assert_eq!(store.load().unwrap(), accounts);
        let file: serde_json::Value = serde_json::from_slice(&store.read_bytes().unwrap()).unwrap();
        assert_eq!(file["version"], 3);
        assert_eq!(file["connections"].as_object().unwrap().len(), 1);
    }
}

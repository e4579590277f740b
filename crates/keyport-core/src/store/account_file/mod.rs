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

//!
//! This file holds the current format; `listing` reads it for `keyport list`, `upgrade` rewrites
//! older formats.

mod listing;
mod upgrade;

pub use listing::ListedAccount;
pub use upgrade::LegacyEndpoints;

use crate::error::{Error, Result};
use crate::model::Connection;
use crate::store::accounts::Account;
use crate::store::lock::FileLock;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Format 3 stores each distinct [`Connection`] once, in a table; format 2 stored each account's
/// whole connection with it, format 1 only its endpoints. Both are upgraded in place by
/// [`AccountStore::upgrade`].
const FILE_VERSION: u32 = 3;

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
                let connection = self.named(&table, a.id.as_str(), &a.connection)?.clone();
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
        crate::files::atomic::replace(
            &self.path,
            &serde_json::to_vec(&file).expect("accounts serialize"),
        )
    }
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
                            1 => a.provider.to_string(),
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::accounts::tests::account;
    use std::borrow::Cow;
    use url::Url;

    pub(super) fn store_in(dir: &Path) -> AccountStore {
        AccountStore::new(dir.join("accounts.json"), &dir.join("locks"))
    }

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
        assert_eq!(store.load().unwrap()[0].id.as_str(), "x-1");
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
        std::fs::write(store.path(), b"{not json").unwrap();
        let bytes = store.read_bytes().unwrap();
        assert!(matches!(store.listing(&bytes), Err(Error::CorruptData { .. })));
        assert!(matches!(store.load(), Err(Error::CorruptData { .. })));
        assert!(store.update(|_| Ok(())).is_err());
        assert_eq!(std::fs::read(store.path()).unwrap(), b"{not json");
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
}

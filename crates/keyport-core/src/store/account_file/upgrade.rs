//! Upgrading an account file of an older format in place, once: format 2 stored each account's
//! whole connection with it, format 1 only its endpoints (its connection is remade from those and
//! today's catalog).

use super::{AccountStore, Versioned, FILE_VERSION};
use crate::error::{Error, Result};
use crate::model::{Connection, EndpointSet};
use crate::store::accounts::Account;
use crate::store::lock::FileLock;
use std::sync::Arc;
use url::Url;

/// What a format-1 account stored instead of its connection: its endpoints, with the issuer
/// identifier and the RFC 9207 promise beside them.
pub struct LegacyEndpoints {
    pub endpoints: EndpointSet<Option<Url>>,
    pub callback_issuer: Option<String>,
    pub iss_parameter_supported: bool,
}

impl AccountStore {
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
    use super::super::tests::store_in;
    use super::*;
    use crate::store::accounts::tests::account;

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
                    ..crate::model::connection::tests::connection()
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

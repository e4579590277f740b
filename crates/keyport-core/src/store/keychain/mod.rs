//! The OS keychain: the only place Keyport puts secrets. On Linux the Secret Service, spoken to
//! directly ([`secret_service`]: one Keyport client at a time, a cheaper encrypted session); on
//! macOS and Windows through the `keyring` crate (Keychain, Credential Manager).
//!
//! Each account has one item (its [`TokenSet`] as JSON) so that `keyport token` costs a single
//! keychain read. Items carry the home's service name (see [`crate::store::home::Home`]) and a user name
//! of `account:<id>`, `client-secret:<provider>` or `registered-client:<client id>@<registration URL>`, so `secret-tool lookup service <s> username <u>`
//! finds them. There is no plaintext fallback: when the keychain is unusable, we say so and stop.

#[cfg(target_os = "linux")]
mod secret_service;
#[cfg(target_os = "linux")]
mod session_crypto;

use crate::error::{Error, Result};
#[cfg(not(target_os = "linux"))]
use crate::error::{KeychainError, KeychainProblem};
use crate::model::tokens::TokenSet;
use crate::model::{AccountId, ProviderId};
use crate::secret::Secret;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Keychain {
    service: String,
    /// `locks/keychain.lock`: Keyport's processes take turns at the Secret Service (Linux).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    turn: PathBuf,
}

impl Keychain {
    pub fn new(service: impl Into<String>, locks_dir: &Path) -> Self {
        Self {
            service: service.into(),
            turn: locks_dir.join("keychain.lock"),
        }
    }

    pub fn account_user(account_id: &AccountId) -> String {
        format!("account:{account_id}")
    }

    fn client_secret_user(provider: &ProviderId) -> String {
        format!("client-secret:{provider}")
    }

    #[cfg(target_os = "linux")]
    fn get(&self, user: &str) -> Result<Option<String>> {
        match secret_service::get(&self.turn, &self.service, user)? {
            Some(bytes) => String::from_utf8(bytes.to_vec())
                .map(Some)
                .map_err(|_| Error::Internal(format!("the keychain item {user} is not text"))),
            None => Ok(None),
        }
    }

    /// What keychain managers show for the item of `user`.
    #[cfg(target_os = "linux")]
    fn label(&self, user: &str) -> String {
        format!("Keyport: {user} ({})", self.service)
    }

    #[cfg(target_os = "linux")]
    fn set(&self, user: &str, value: &str) -> Result<()> {
        Ok(secret_service::set(
            &self.turn,
            &self.service,
            user,
            &self.label(user),
            value.as_bytes(),
        )?)
    }

    #[cfg(target_os = "linux")]
    fn delete(&self, user: &str) -> Result<()> {
        Ok(secret_service::delete(&self.turn, &self.service, user)?)
    }

    #[cfg(not(target_os = "linux"))]
    fn entry(&self, user: &str) -> Result<keyring::Entry> {
        if let Err(e) = keyring::Entry::store_status() {
            return Err(classify(e).into());
        }
        keyring::Entry::new(&self.service, user).map_err(|e| classify(&e).into())
    }

    #[cfg(not(target_os = "linux"))]
    fn get(&self, user: &str) -> Result<Option<String>> {
        match self.entry(user)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(classify(&e).into()),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn set(&self, user: &str, value: &str) -> Result<()> {
        self.entry(user)?
            .set_password(value)
            .map_err(|e| classify(&e).into())
    }

    #[cfg(not(target_os = "linux"))]
    fn delete(&self, user: &str) -> Result<()> {
        match self.entry(user)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(classify(&e).into()),
        }
    }

    pub fn load_tokens(&self, account_id: &AccountId) -> Result<Option<TokenSet>> {
        let Some(json) = self.get(&Self::account_user(account_id))? else {
            return Ok(None);
        };
        serde_json::from_str(&json).map(Some).map_err(|e| {
            // serde_json's message names a position and the expected type, never the value.
            Error::Internal(format!(
                "the keychain item of account {account_id} is not in Keyport's format: {e}"
            ))
        })
    }

    pub fn store_tokens(&self, account_id: &AccountId, tokens: &TokenSet) -> Result<()> {
        let json = serde_json::to_string(tokens).expect("token sets serialize");
        self.set(&Self::account_user(account_id), &json)
    }

    pub fn delete_tokens(&self, account_id: &AccountId) -> Result<()> {
        self.delete(&Self::account_user(account_id))
    }

    pub fn client_secret(&self, provider: &ProviderId) -> Result<Option<Secret>> {
        Ok(self.get(&Self::client_secret_user(provider))?.map(Secret::new))
    }

    pub fn set_client_secret(&self, provider: &ProviderId, secret: &Secret) -> Result<()> {
        self.set(&Self::client_secret_user(provider), secret.expose())
    }

    /// An ID token given for provider `provider` from elsewhere (an identity provider Keyport has
    /// no account at), which identity assertions for it are exchanged for.
    pub fn identity_token(&self, provider: &ProviderId) -> Result<Option<Secret>> {
        Ok(self.get(&format!("idp-id-token:{provider}"))?.map(Secret::new))
    }

    pub fn set_identity_token(&self, provider: &ProviderId, token: &Secret) -> Result<()> {
        self.set(&format!("idp-id-token:{provider}"), token.expose())
    }

    /// The secret of a client Keyport registered itself as; `key` is
    /// [`crate::model::Registration::secret_key`]. Kept apart from the providers' secrets because
    /// one registration serves every MCP server behind its authorization server.
    pub fn registered_secret(&self, key: &str) -> Result<Option<Secret>> {
        Ok(self.get(&format!("registered-client:{key}"))?.map(Secret::new))
    }

    pub fn set_registered_secret(&self, key: &str, secret: &Secret) -> Result<()> {
        self.set(&format!("registered-client:{key}"), secret.expose())
    }

    pub fn delete_registered_secret(&self, key: &str) -> Result<()> {
        self.delete(&format!("registered-client:{key}"))
    }

    /// Fails with a clear [`KeychainError`] unless the keychain can store: it writes and deletes
    /// a probe item. A lookup alone is not enough: a locked Secret Service answers lookups of
    /// missing items, and refuses only the write that would have stored a new grant.
    pub fn check(&self) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            // One turn and one session for both (they were two of each, ~8 ms more).
            let user = "keyport-probe";
            Ok(secret_service::probe(
                &self.turn,
                &self.service,
                user,
                &self.label(user),
            )?)
        }
        #[cfg(not(target_os = "linux"))]
        {
            self.set("keyport-probe", "probe")?;
            self.delete("keyport-probe")
        }
    }
}

/// Turns the platform's error into one of the problems we can explain.
#[cfg(not(target_os = "linux"))]
fn classify(e: &keyring::Error) -> KeychainError {
    let detail = e.to_string();
    let lower = detail.to_lowercase();
    let problem = match e {
        keyring::Error::NoStorageAccess(_) => KeychainProblem::Locked,
        _ if lower.contains("org.freedesktop.secrets") || lower.contains("serviceunknown") => {
            KeychainProblem::NoService
        }
        _ if lower.contains("dbus_session_bus_address")
            || lower.contains("autolaunch")
            || lower.contains("session bus")
            || lower.contains("no such file or directory")
            || lower.contains("connection refused") =>
        {
            KeychainProblem::NoSessionBus
        }
        _ if lower.contains("locked") => KeychainProblem::Locked,
        _ => KeychainProblem::Failed,
    };
    KeychainError { problem, detail }
}

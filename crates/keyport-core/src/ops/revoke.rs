//! Ending accounts: revoke at the provider (the account stays, needing a reconnect), and
//! disconnect (revoke when possible, then forget).

use super::{crash_point, Keyport};
use crate::error::{Error, Result};
use crate::model::tokens::now;
use crate::store::accounts::{Account, Lifecycle};
use crate::store::lock::FileLock;

/// What happened at the provider when an account was disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RevocationOutcome {
    Revoked,
    /// The provider offers no revocation endpoint: the grant lives on there until it expires.
    NotSupported,
    /// `--local-only`, or no token was left to revoke.
    Skipped,
}

impl Keyport {
    /// Revokes the grant at the provider and keeps the account, marked "needs reconnect".
    pub async fn revoke(&self, reference: &str) -> Result<Account> {
        let account = self.find(reference)?;
        let _lock = FileLock::exclusive(&self.account_lock(&account.id))?;
        let Some(url) = &account.connection.endpoints.revocation_url else {
            return Err(Error::NoRevocation {
                account: account.id.to_string(),
                provider: account.connection.provider_name.clone(),
            });
        };
        if let Some(tokens) = self.keychain.load_tokens(&account.id)? {
            self.remote(&account.provider, &account.connection)?
                .revoke(url, &tokens)
                .await?;
        }
        crash_point("revoke:revoked");
        // One write marks it and drops what the revoked tokens were: the secret goes next.
        let account = self.accounts.update(|all| {
            let a = all
                .iter_mut()
                .find(|a| a.id == account.id)
                .ok_or_else(|| Error::NoSuchAccount(account.id.to_string()))?;
            a.lifecycle = Lifecycle::NeedsReconnect {
                reason: "its access was revoked".into(),
            };
            a.has_refresh_token = false;
            a.expires_at = None;
            a.updated_at = now();
            Ok(a.clone())
        })?;
        crash_point("revoke:marked");
        self.keychain.delete_tokens(&account.id)?;
        Ok(account)
    }

    /// Revokes at the provider when it can (unless `local_only`), then forgets the account.
    pub async fn disconnect(
        &self,
        reference: &str,
        local_only: bool,
    ) -> Result<(Account, RevocationOutcome)> {
        let account = self.find(reference)?;
        let _lock = FileLock::exclusive(&self.account_lock(&account.id))?;
        let mut outcome = RevocationOutcome::Skipped;
        if !local_only {
            let tokens = self.keychain.load_tokens(&account.id)?;
            match (&account.connection.endpoints.revocation_url, tokens) {
                (None, _) => outcome = RevocationOutcome::NotSupported,
                (Some(url), Some(tokens)) => {
                    self.remote(&account.provider, &account.connection)?
                        .revoke(url, &tokens)
                        .await?;
                    outcome = RevocationOutcome::Revoked;
                }
                (Some(_), None) => {}
            }
        }
        crash_point("disconnect:revoked");
        self.mark_needs_reconnect(&account, "it is being disconnected")?;
        crash_point("disconnect:marked");
        self.keychain.delete_tokens(&account.id)?;
        crash_point("disconnect:secret-deleted");
        self.accounts.update(|all| {
            all.retain(|a| a.id != account.id);
            Ok(())
        })?;
        self.drop_unused_secret_of(&account.connection);
        tracing::info!(account = %account.id, ?outcome, "disconnected");
        Ok((account, outcome))
    }
}

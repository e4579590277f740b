//! Handing out tokens and keeping them fresh: a valid access token for an account, refreshed
//! first when it would expire soon, once across processes (a per-account lock), with retries of
//! transient failures and a fall back to a still-valid token when the provider is unreachable.

use super::{crash_point, Keyport};
use crate::error::{Error, Result};
use crate::model::tokens::{now, TokenSet};
use crate::model::{AccountId, TokenUse};
use crate::secret::Secret;
use crate::store::accounts::{Account, Lifecycle};
use crate::store::lock::FileLock;
use std::time::Duration;

/// The default `--min-ttl`: how long a token handed out should stay valid, at least.
pub const DEFAULT_MIN_TTL_SECS: u64 = 300;
/// A refresh that failed transiently (connection refused, 5xx, 429) is tried this many times in
/// all, pausing `REFRESH_BACKOFF`, then three times that.
const REFRESH_ATTEMPTS: u32 = 3;
const REFRESH_BACKOFF: Duration = Duration::from_millis(300);

enum RefreshMode<'a> {
    /// For `token`: refresh unless another process already did; fall back to a still-valid token
    /// when the provider is unreachable.
    IfStale { seen: &'a Secret },
    /// For `refresh`: always refresh, report every failure.
    Force,
}

impl Keyport {
    /// Like [`Keyport::token`], with the whole token set and no audit record (the agent keeps
    /// its own, naming the process at the other end of its socket).
    pub async fn token_set(&self, reference: &str, min_ttl: u64) -> Result<(Account, TokenSet)> {
        self.token_set_instead_of(reference, min_ttl, None).await
    }

    /// Like [`Keyport::token_set`], for a caller whose server refused `rejected`: while that is
    /// still the stored token it is refreshed, whatever its expiry says (revoked, or cut short by
    /// the server); when another caller already replaced it, the replacement is the answer, so
    /// that many callers refused together cause one refresh.
    pub async fn token_set_instead_of(
        &self,
        reference: &str,
        min_ttl: u64,
        rejected: Option<&Secret>,
    ) -> Result<(Account, TokenSet)> {
        let account = self.find(reference)?;
        ensure_active(&account)?;
        let tokens = self.stored_tokens(&account)?;
        let refused = rejected.is_some_and(|r| *r == tokens.access_token);
        if !refused && !tokens.needs_refresh(min_ttl, now()) {
            return Ok((account, tokens));
        }
        let seen = tokens.access_token;
        self.refresh_account(&account.id, RefreshMode::IfStale { seen: &seen })
            .await
    }

    /// Like [`Keyport::token_set`], with an ID token good for `min_ttl` seconds too when
    /// `token_use` asks for one: refreshed first when the one kept would expire sooner (by its
    /// own `exp`, which need not be the access token's).
    pub async fn token_set_for(
        &self,
        reference: &str,
        min_ttl: u64,
        token_use: TokenUse,
    ) -> Result<(Account, TokenSet)> {
        let (account, tokens) = self.token_set(reference, min_ttl).await?;
        match token_use {
            TokenUse::Access => Ok((account, tokens)),
            TokenUse::Id => self.with_fresh_id_token(account, tokens, min_ttl).await,
        }
    }

    /// `tokens`, refreshed first when their ID token would expire within `min_ttl` seconds. A set
    /// without an ID token is returned as it is: handing it out says there is none.
    pub async fn with_fresh_id_token(
        &self,
        account: Account,
        tokens: TokenSet,
        min_ttl: u64,
    ) -> Result<(Account, TokenSet)> {
        if tokens.id_token.is_none() || !tokens.id_token_needs_refresh(min_ttl, now()) {
            return Ok((account, tokens));
        }
        let seen = tokens.access_token;
        let (account, tokens) = self
            .refresh_account(&account.id, RefreshMode::IfStale { seen: &seen })
            .await?;
        if tokens.id_token_expires_at().is_some_and(|at| at <= now()) {
            return Err(Error::NoIdToken {
                account: account.label(),
                reason: "the one kept has expired, and a refresh brought no new one; sign in again \
                         with `keyport connect`"
                    .into(),
            });
        }
        Ok((account, tokens))
    }

    /// Refreshes now, whatever the expiry.
    pub async fn refresh(&self, reference: &str) -> Result<Account> {
        let account = self.find(reference)?;
        ensure_active(&account)?;
        Ok(self.refresh_account(&account.id, RefreshMode::Force).await?.0)
    }

    fn stored_tokens(&self, account: &Account) -> Result<TokenSet> {
        self.keychain
            .load_tokens(&account.id)?
            .ok_or_else(|| needs_reconnect(account, "its tokens are missing from the keychain"))
    }

    async fn refresh_account(&self, id: &AccountId, mode: RefreshMode<'_>) -> Result<(Account, TokenSet)> {
        let _lock = FileLock::exclusive(&self.account_lock(id))?;
        // Re-read everything under the lock: another process may have refreshed, revoked or
        // removed the account while we waited.
        let account = self.find(id.as_str())?;
        ensure_active(&account)?;
        let current = self.stored_tokens(&account)?;
        let now = now();
        if let RefreshMode::IfStale { seen } = mode {
            if current.access_token != *seen && !current.is_expired(now) {
                tracing::debug!(account = %id, "another process refreshed meanwhile");
                return Ok((account, current));
            }
        }
        // A client with credentials of its own asks again as itself; one signed in through the
        // organization's identity provider presents a new identity assertion.
        let grant_kind = account.connection.quirks.grant;
        let as_client = grant_kind != crate::model::GrantKind::AuthorizationCode;
        let refresh_token = current.refresh_token.clone();
        if refresh_token.is_none() && !as_client {
            if current.is_expired(now) {
                let reason = "the access token expired and the provider issued no refresh token";
                return Err(self.mark_needs_reconnect(&account, reason)?);
            }
            return match mode {
                RefreshMode::IfStale { .. } => Ok((account, current)),
                RefreshMode::Force => Err(Error::Unsupported(format!(
                    "account {} cannot be refreshed: the provider issued no refresh token",
                    account.id
                ))),
            };
        }
        let remote = self.remote(&account.provider, &account.connection)?;
        tracing::info!(account = %id, "refreshing the access token");
        let mut attempt = 0;
        let result = loop {
            let renewed = match (&refresh_token, grant_kind) {
                (Some(refresh_token), crate::model::GrantKind::AuthorizationCode) => {
                    remote.refresh(refresh_token).await
                }
                (_, crate::model::GrantKind::IdentityAssertion) => {
                    // Boxed: the identity provider's account may need a refresh of its own first.
                    Box::pin(self.grant_by_assertion(
                        &account.provider,
                        &account.connection,
                        &remote,
                        &account.scopes,
                    ))
                    .await
                }
                _ => remote.client_credentials(&account.scopes).await,
            };
            match renewed {
                Err(Error::Provider(p)) if p.transient && attempt + 1 < REFRESH_ATTEMPTS => {
                    let pause = REFRESH_BACKOFF * 3u32.pow(attempt);
                    tracing::info!(account = %id, error = %p, ?pause, "transient refresh failure; trying again");
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                other => break other,
            }
        };
        match result {
            Ok(mut grant) => {
                // A refresh answer often leaves the ID token out: the one kept stays while it is
                // good, so that the account still has one to hand out.
                if grant.tokens.id_token.is_none() {
                    grant.tokens.id_token = (current.id_token.clone())
                        .filter(|t| crate::model::tokens::jwt_expiry(t).is_some_and(|at| at > now));
                }
                // The new refresh token must reach the keychain before anything else can fail:
                // the old one is spent.
                self.keychain.store_tokens(id, &grant.tokens)?;
                crash_point("refresh:secret-stored");
                let tokens = grant.tokens;
                let account = self.accounts.update(|all| {
                    let a = all
                        .iter_mut()
                        .find(|a| &a.id == id)
                        .ok_or_else(|| Error::NoSuchAccount(id.to_string()))?;
                    a.expires_at = tokens.expires_at;
                    a.token_obtained_at = tokens.obtained_at;
                    a.has_refresh_token = a.connection.renews(&tokens);
                    if let Some(scopes) = &grant.scopes {
                        a.scopes = scopes.clone();
                    }
                    a.metadata.extend(grant.kept.clone());
                    a.updated_at = now;
                    Ok(a.clone())
                })?;
                Ok((account, tokens))
            }
            Err(Error::Provider(p))
                if matches!(p.code.as_deref(), Some("invalid_grant" | "unauthorized_client")) =>
            {
                let reason = format!("the provider refused the refresh token: {}", p.reason);
                Err(self.mark_needs_reconnect(&account, &reason)?)
            }
            // A client Keyport registered that the server no longer knows (many keep registrations
            // in memory): only a sign-in as a new client helps, and the kept one must not be
            // offered again.
            Err(Error::Provider(p))
                if p.code.as_deref() == Some("invalid_client")
                    && self.registered_itself(&account)
                    && !matches!(mode, RefreshMode::IfStale { .. } if !current.is_expired(now)) =>
            {
                let url = (account.connection.endpoints.dynamic_registration_url.as_ref())
                    .expect("a client Keyport registered has a registration URL");
                self.forget_registration(url, &account.connection.client_id);
                let reason = "the server no longer knows the client Keyport registered there";
                Err(self.mark_needs_reconnect(&account, reason)?)
            }
            Err(e) => match mode {
                RefreshMode::IfStale { .. } if !current.is_expired(now) => {
                    tracing::warn!(account = %id, error = %e, "refresh failed; the current token is still valid");
                    Ok((account, current))
                }
                _ => Err(e),
            },
        }
    }

    /// Whether the account's client is one Keyport registered itself as (its provider has no
    /// client id of its own, and a registration endpoint), not one the user gave.
    fn registered_itself(&self, account: &Account) -> bool {
        account.connection.endpoints.dynamic_registration_url.is_some()
            && self
                .catalog()
                .and_then(|c| c.get(account.provider.as_str()))
                .is_ok_and(|p| p.registers_itself())
    }

    /// Records that only a reconnect can help, and returns the error that says so.
    pub(super) fn mark_needs_reconnect(&self, account: &Account, reason: &str) -> Result<Error> {
        self.accounts.update(|all| {
            if let Some(a) = all.iter_mut().find(|a| a.id == account.id) {
                a.lifecycle = Lifecycle::NeedsReconnect {
                    reason: reason.into(),
                };
                a.updated_at = now();
            }
            Ok(())
        })?;
        Ok(needs_reconnect(account, reason))
    }
}

impl Keyport {
    /// Whether a token can be handed out for `account` at all, without reading the keychain:
    /// not waiting for a reconnect, and not expired without a refresh token.
    pub(crate) fn usable(&self, account: &Account) -> Result<()> {
        ensure_active(account)?;
        if account.status(now()) == crate::store::accounts::Status::NeedsReconnect {
            return Err(needs_reconnect(
                account,
                "its token expired and the provider gave no refresh token",
            ));
        }
        Ok(())
    }
}

fn ensure_active(account: &Account) -> Result<()> {
    match account.lifecycle.reconnect_reason() {
        None => Ok(()),
        Some(reason) => Err(needs_reconnect(account, reason)),
    }
}

/// The error that says only a reconnect of `account` helps, and why.
fn needs_reconnect(account: &Account, reason: impl Into<String>) -> Error {
    Error::NeedsReconnect {
        account: account.id.to_string(),
        provider: account.provider.to_string(),
        reason: reason.into(),
    }
}

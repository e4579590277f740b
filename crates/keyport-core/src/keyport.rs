//! [`Keyport`]: the operations the CLI and the app offer, over the catalog, the account file, the
//! keychain and the provider. Adapters call these and only turn results into output.
//!
//! Ordering rules that keep the keychain and the account file consistent when a process dies at any
//! point: secrets are written before the metadata that points at them, and an account is marked
//! "needs reconnect" before its secret is deleted. Refresh, revoke and disconnect of one account are
//! serialized across processes by a per-account lock, because providers rotate refresh tokens: two
//! concurrent refreshes would spend the same refresh token twice, and many providers then revoke the
//! whole grant.

use crate::accounts::{self, Account, AccountStore, Lifecycle};
use crate::audit::AuditLog;
use crate::catalog::{Catalog, Provider, RedirectKind, RevocationStyle};
use crate::deep_link::{self, PendingFlows};
use crate::discovered::{self, NewProvider};
use crate::endpoints;
use crate::error::{Error, ProviderError, Result};
use crate::keychain::Keychain;
use crate::lock::FileLock;
use crate::loopback::CallbackListener;
use crate::oauth::{self, ClientCredentials};
use crate::paths::Home;
use crate::profile::{self, Profile};
use crate::secret::Secret;
use crate::tokens::{now, TokenSet};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// The default `--min-ttl`: how long a token handed out should stay valid, at least.
pub const DEFAULT_MIN_TTL_SECS: u64 = 300;
/// A refresh that failed transiently (connection refused, 5xx, 429) is tried this many times in
/// all, pausing `REFRESH_BACKOFF`, then three times that.
const REFRESH_ATTEMPTS: u32 = 3;
const REFRESH_BACKOFF: Duration = Duration::from_millis(300);
/// How long `connect` waits for the browser by default.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 120;

pub struct Keyport {
    home: Home,
    catalog: Catalog,
    accounts: AccountStore,
    keychain: Keychain,
    audit: AuditLog,
    /// Built on first use: most commands (`token` with a fresh token, `list`) never talk to a
    /// provider, and building a TLS client loads the root certificates.
    http: std::sync::OnceLock<reqwest::Client>,
}

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Scopes to request instead of the provider's defaults.
    pub scopes: Option<Vec<String>>,
    pub nickname: Option<String>,
    pub timeout: Duration,
    /// Values for the provider's `{variables}` (tenant, shop, …).
    pub variables: std::collections::BTreeMap<String, String>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            scopes: None,
            nickname: None,
            timeout: Duration::from_secs(DEFAULT_CONNECT_TIMEOUT_SECS),
            variables: Default::default(),
        }
    }
}

/// What happened at the provider when an account was disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationOutcome {
    Revoked,
    /// The provider offers no revocation endpoint: the grant lives on there until it expires.
    NotSupported,
    /// `--local-only`, or no token was left to revoke.
    Skipped,
}

/// What the user needs to approve a device sign-in: the code, and where to type it.
#[derive(Debug, Clone)]
pub struct DevicePrompt {
    pub user_code: String,
    pub verification_uri: Url,
    /// Opens the approval page with the code already filled in.
    pub verification_uri_complete: Option<Url>,
    pub expires_in: Duration,
}

/// The device grant's final answers, in words (RFC 8628 §3.5).
fn device_error(provider: &Provider, e: Error) -> Error {
    let Error::Provider(p) = &e else { return e };
    let reason = match p.code.as_deref() {
        Some("access_denied") => "the sign-in was refused in the browser",
        Some("expired_token") => "the code expired before the sign-in was approved; start again",
        _ => return e,
    };
    Error::Provider(ProviderError {
        code: p.code.clone(),
        ..ProviderError::new(&provider.display_name, "the device sign-in", reason)
    })
}

/// Where the provider's redirect comes back to.
enum Redirect<'a> {
    Loopback(CallbackListener),
    DeepLink(&'a PendingFlows),
}

enum RefreshMode<'a> {
    /// For `token`: refresh unless another process already did; fall back to a still-valid token
    /// when the provider is unreachable.
    IfStale { seen: &'a Secret },
    /// For `refresh`: always refresh, report every failure.
    Force,
}

impl Keyport {
    pub fn open(home: Home) -> Result<Self> {
        let catalog = Catalog::load(&home.providers_file())?;
        let accounts = AccountStore::new(home.accounts_file(), &home.locks_dir());
        let keychain = Keychain::new(home.keychain_service());
        let audit = AuditLog::new(home.data_dir(), &home.locks_dir());
        Ok(Self {
            home,
            catalog,
            accounts,
            keychain,
            audit,
            http: std::sync::OnceLock::new(),
        })
    }

    fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(crate::http::client)
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Who used which account's token, and when.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// All accounts' metadata. Never touches the keychain, so it stays cheap with many accounts.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        self.accounts.load()
    }

    /// The account file, for listings that read it without building whole accounts.
    pub fn account_store(&self) -> &AccountStore {
        &self.accounts
    }

    pub fn find(&self, reference: &str) -> Result<Account> {
        let all = self.accounts.load()?;
        accounts::resolve(&all, reference).cloned()
    }

    fn refresh_lock(&self, account_id: &str) -> PathBuf {
        self.home.locks_dir().join(format!("account-{account_id}.lock"))
    }

    /// The client id (required) and secret (keychain first, then the catalog) for `provider`.
    pub fn credentials(&self, provider: &Provider) -> Result<ClientCredentials> {
        let client_id = provider
            .client_id
            .clone()
            .ok_or_else(|| Error::ProviderNotSetUp(provider.id.clone(), self.home.providers_file()))?;
        let client_secret = match provider.token_request_auth_method {
            crate::catalog::TokenAuthMethod::None => None,
            _ => self
                .keychain
                .client_secret(&provider.id)?
                .or_else(|| provider.client_secret.clone()),
        };
        Ok(ClientCredentials {
            client_id,
            client_secret,
            auth_method: provider.token_request_auth_method,
        })
    }

    pub fn set_client_secret(&self, provider_id: &str, secret: &Secret) -> Result<()> {
        self.catalog.get(provider_id)?;
        self.keychain.set_client_secret(provider_id, secret)
    }

    /// Adds a provider from its OpenID Connect discovery document to the user's catalog, and
    /// returns it (reloaded, with the user's whole file).
    pub async fn add_provider_from_issuer(&mut self, issuer: &str, choice: NewProvider) -> Result<Provider> {
        let url = Url::parse(issuer.trim())
            .map_err(|e| Error::Usage(format!("\"{issuer}\" is not a URL ({e})")))?;
        crate::http::check_endpoint(&url).map_err(Error::Usage)?;
        let id = choice.id.clone().unwrap_or_else(|| discovered::id_for(&url));
        let doc = endpoints::discover(url.host_str().unwrap_or("the issuer"), &url, self.http()).await?;
        let name = choice
            .display_name
            .clone()
            .unwrap_or_else(|| url.host_str().unwrap_or(&id).to_string());
        let table = discovered::entry(&doc, &name, choice.client_id.as_deref());
        self.catalog = discovered::write(&self.home.providers_file(), &id, table)?;
        tracing::info!(provider = %id, issuer = %doc.issuer, "provider added from discovery");
        Ok(self.catalog.get(&id)?.clone())
    }

    /// Gives a provider its client id (in the user's providers.toml) and, optionally, its client
    /// secret (in the keychain), as the app's setup form does. The secret goes first: a client id
    /// without its secret would look set up and then fail at the token endpoint.
    pub fn set_up_provider(
        &mut self,
        provider_id: &str,
        client_id: &str,
        secret: Option<&Secret>,
    ) -> Result<()> {
        self.catalog.get(provider_id)?;
        if let Some(secret) = secret.filter(|s| !s.expose().trim().is_empty()) {
            self.keychain.check()?;
            self.keychain.set_client_secret(provider_id, secret)?;
        }
        self.catalog = Catalog::set_client_id(&self.home.providers_file(), provider_id, client_id)?;
        Ok(())
    }

    /// Runs the authorization-code flow with a loopback redirect. `present` receives the URL to
    /// open in the system browser (or to show the user). Connecting the same user again updates
    /// their account instead of adding a second one.
    pub async fn connect(
        &self,
        provider_id: &str,
        opts: ConnectOptions,
        present: impl FnOnce(&Url),
    ) -> Result<Account> {
        self.connect_via(provider_id, opts, None, None, present).await
    }

    /// Like [`Keyport::connect`]; providers with `redirect = "deep_link"` wait on `deep_links`,
    /// which only the desktop app has (it receives `keyport://` URLs from the system). Loopback
    /// sign-ins also accept the redirect address the user pastes into `pasted`.
    pub async fn connect_via(
        &self,
        provider_id: &str,
        opts: ConnectOptions,
        deep_links: Option<&PendingFlows>,
        pasted: Option<tokio::sync::mpsc::Receiver<String>>,
        present: impl FnOnce(&Url),
    ) -> Result<Account> {
        let provider = &self.catalog.get(provider_id)?.with_variables(&opts.variables)?;
        if provider.redirect == RedirectKind::DeepLink && deep_links.is_none() {
            return Err(Error::Usage(format!(
                "{} uses the keyport:// redirect, which only the desktop app receives; connect it from the app",
                provider.display_name
            )));
        }
        let (creds, endpoints, scopes) = self.prepare_sign_in(provider, &opts).await?;
        let redirect = match (provider.redirect, deep_links) {
            (RedirectKind::DeepLink, Some(flows)) => Redirect::DeepLink(flows),
            _ => Redirect::Loopback(CallbackListener::bind().await?),
        };
        let redirect_uri = match &redirect {
            Redirect::Loopback(listener) => listener.redirect_uri(),
            Redirect::DeepLink(_) => Url::parse(deep_link::REDIRECT_URI).expect("a valid URL"),
        };
        let pending = oauth::start(provider, &endpoints, &creds, redirect_uri, &scopes)?;
        let callback = match redirect {
            Redirect::Loopback(listener) => {
                tracing::info!(provider = %provider.id, port = listener.port(), "waiting for the authorization callback");
                present(&pending.url);
                listener
                    .wait_or_paste(
                        &provider.display_name,
                        pending.state.expose(),
                        opts.timeout,
                        pasted,
                    )
                    .await?
            }
            Redirect::DeepLink(flows) => {
                let waiter = flows.register(&pending.state);
                tracing::info!(provider = %provider.id, "waiting for the keyport:// callback");
                present(&pending.url);
                waiter.wait(&provider.display_name, opts.timeout).await?
            }
        };
        check_issuer(&endpoints, callback.iss.as_deref())?;
        let requested = pending.requested_scopes.clone();
        let grant =
            oauth::exchange(self.http(), provider, &endpoints, &creds, pending, callback.code).await?;
        self.store_connection(provider, endpoints, grant, requested, opts.nickname)
            .await
    }

    /// Connects with the device authorization grant (RFC 8628): `present` shows the user code and
    /// where to enter it, on this machine or any other; Keyport polls until the user approves.
    pub async fn connect_device(
        &self,
        provider_id: &str,
        opts: ConnectOptions,
        present: impl FnOnce(&DevicePrompt),
    ) -> Result<Account> {
        let provider = &self.catalog.get(provider_id)?.with_variables(&opts.variables)?;
        let (creds, endpoints, scopes) = self.prepare_sign_in(provider, &opts).await?;
        let device = oauth::start_device(self.http(), provider, &endpoints, &creds, &scopes).await?;
        tracing::info!(provider = %provider.id, "waiting for the device sign-in");
        present(&DevicePrompt {
            user_code: device.user_code.clone(),
            verification_uri: device.verification_uri.clone(),
            verification_uri_complete: device.verification_uri_complete.clone(),
            expires_in: device.expires_in,
        });
        let grant = oauth::finish_device(self.http(), provider, &endpoints, &creds, device, opts.timeout)
            .await
            .map_err(|e| device_error(provider, e))?;
        self.store_connection(provider, endpoints, grant, scopes, opts.nickname)
            .await
    }

    /// What every sign-in needs before the user is involved: the client's credentials, a keychain
    /// that can take the tokens, the endpoints, and the scopes to ask for.
    async fn prepare_sign_in(
        &self,
        provider: &Provider,
        opts: &ConnectOptions,
    ) -> Result<(ClientCredentials, endpoints::Endpoints, Vec<String>)> {
        let creds = self.credentials(provider)?;
        // Fail before the user signs in, not after, when the tokens would have nowhere to go.
        self.keychain.check()?;
        let endpoints = endpoints::resolve(provider, self.http()).await?;
        let scopes = opts.scopes.clone().unwrap_or_else(|| provider.scopes.clone());
        Ok((creds, endpoints, scopes))
    }

    /// Looks the user up and stores a new or reconnected account with its tokens.
    async fn store_connection(
        &self,
        provider: &Provider,
        endpoints: endpoints::Endpoints,
        grant: oauth::Grant,
        requested: Vec<String>,
        nickname: Option<String>,
    ) -> Result<Account> {
        let profile = self.profile(provider, &endpoints, &grant).await;
        let scopes = grant.scopes.unwrap_or(requested);
        let tokens = grant.tokens;
        // A new account is written in three steps, so that a crash at any point leaves the
        // keychain and the account file consistent: first a placeholder marked "needs reconnect"
        // (an account without its secret is allowed only in that state), then the secret, then
        // the account made active. A reconnect overwrites the secret of an existing account.
        let interrupted = "the sign-in was interrupted before its tokens were stored";
        let account = self.accounts.update(|all| {
            let now = now();
            let existing = all.iter().position(|a| {
                a.provider == provider.id
                    && match (&a.subject, &profile.subject) {
                        (Some(x), Some(y)) => x == y,
                        _ => Some(&a.nickname) == profile.nickname.as_ref(),
                    }
            });
            let id = existing
                .map(|i| all[i].id.clone())
                .unwrap_or_else(|| accounts::next_id(all, &provider.id));
            let nickname = nickname
                .clone()
                .or_else(|| existing.map(|i| all[i].nickname.clone()))
                .or_else(|| profile.nickname.clone())
                .unwrap_or_else(|| id.clone());
            let account = Account {
                id,
                provider: provider.id.clone(),
                nickname,
                subject: profile.subject.clone(),
                scopes,
                expires_at: tokens.expires_at,
                token_obtained_at: tokens.obtained_at,
                has_refresh_token: tokens.refresh_token.is_some(),
                lifecycle: Lifecycle::Active,
                endpoints: endpoints.clone(),
                metadata: grant.kept.clone(),
                created_at: existing.map(|i| all[i].created_at).unwrap_or(now),
                updated_at: now,
            };
            if existing.is_none() {
                all.push(Account {
                    lifecycle: Lifecycle::NeedsReconnect {
                        reason: interrupted.into(),
                    },
                    ..account.clone()
                });
            }
            Ok(account)
        })?;
        crash_point("connect:placeholder-written");
        if let Err(e) = self.keychain.store_tokens(&account.id, &tokens) {
            self.accounts.update(|all| {
                all.retain(|a| {
                    !(a.id == account.id
                        && a.lifecycle
                            == Lifecycle::NeedsReconnect {
                                reason: interrupted.into(),
                            })
                });
                Ok(())
            })?;
            return Err(e);
        }
        crash_point("connect:secret-stored");
        let account = self.accounts.update(|all| {
            match all.iter_mut().find(|a| a.id == account.id) {
                Some(a) => *a = account.clone(),
                None => all.push(account.clone()),
            }
            Ok(account)
        })?;
        tracing::info!(account = %account.id, "connected");
        Ok(account)
    }

    /// Who signed in: from the userinfo endpoint, else the user object in the token response,
    /// else the ID token.
    async fn profile(
        &self,
        provider: &Provider,
        endpoints: &endpoints::Endpoints,
        grant: &oauth::Grant,
    ) -> Profile {
        let tokens = &grant.tokens;
        let mut found = Profile::default();
        if let Some(url) = endpoints
            .userinfo_url
            .as_deref()
            .and_then(|u| endpoints::parse(u).ok())
        {
            let query = provider.userinfo_query.as_deref();
            match profile::fetch(
                self.http(),
                &provider.display_name,
                &url,
                &tokens.access_token,
                query,
            )
            .await
            {
                Ok(answer) => {
                    let user = profile::user_object(&answer, provider.user_path.as_deref());
                    found = profile::from_claims(user, &provider.nickname_fields);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not look up the user; using the token response instead")
                }
            }
        }
        let fallbacks = grant
            .user
            .clone()
            .into_iter()
            .chain(tokens.id_token.as_ref().and_then(profile::id_token_claims));
        for claims in fallbacks {
            if found.nickname.is_some() && found.subject.is_some() {
                break;
            }
            let more = profile::from_claims(&claims, &provider.nickname_fields);
            found.nickname = found.nickname.or(more.nickname);
            found.subject = found.subject.or(more.subject);
        }
        found
    }

    /// A valid access token for the account, refreshed first when it would expire within
    /// `min_ttl` seconds (capped at half the token's lifetime, see [`TokenSet::needs_refresh`]).
    pub async fn token(&self, reference: &str, min_ttl: u64) -> Result<(Account, Secret)> {
        let (account, tokens) = self.token_set(reference, min_ttl).await?;
        Ok((account, tokens.access_token))
    }

    /// Like [`Keyport::token`], with the whole token set (for the agent's cache).
    pub async fn token_set(&self, reference: &str, min_ttl: u64) -> Result<(Account, TokenSet)> {
        let account = self.find(reference)?;
        ensure_active(&account)?;
        let tokens = self.stored_tokens(&account)?;
        if !tokens.needs_refresh(min_ttl, now()) {
            return Ok((account, tokens));
        }
        let seen = tokens.access_token;
        self.refresh_account(&account.id, RefreshMode::IfStale { seen: &seen })
            .await
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
            .ok_or_else(|| Error::NeedsReconnect {
                account: account.id.clone(),
                provider: account.provider.clone(),
                reason: "its tokens are missing from the keychain".into(),
            })
    }

    async fn refresh_account(&self, id: &str, mode: RefreshMode<'_>) -> Result<(Account, TokenSet)> {
        let _lock = FileLock::exclusive(&self.refresh_lock(id))?;
        // Re-read everything under the lock: another process may have refreshed, revoked or
        // removed the account while we waited.
        let account = self.find(id)?;
        ensure_active(&account)?;
        let current = self.stored_tokens(&account)?;
        let now = now();
        if let RefreshMode::IfStale { seen } = mode {
            if current.access_token != *seen && !current.is_expired(now) {
                tracing::debug!(account = id, "another process refreshed meanwhile");
                return Ok((account, current));
            }
        }
        let Some(refresh_token) = current.refresh_token.clone() else {
            if current.is_expired(now) {
                let reason = "the access token expired and the provider issued no refresh token";
                return Err(self.mark_needs_reconnect(&account, reason)?);
            }
            return match mode {
                RefreshMode::IfStale { .. } => Ok((account, current)),
                RefreshMode::Force => Err(Error::Usage(format!(
                    "account {} cannot be refreshed: the provider issued no refresh token",
                    account.id
                ))),
            };
        };
        let provider = self.catalog.get(&account.provider)?;
        let creds = self.credentials(provider)?;
        tracing::info!(account = id, "refreshing the access token");
        let mut attempt = 0;
        let result = loop {
            let result =
                oauth::refresh(self.http(), provider, &account.endpoints, &creds, &refresh_token).await;
            match result {
                Err(Error::Provider(p)) if p.transient && attempt + 1 < REFRESH_ATTEMPTS => {
                    let pause = REFRESH_BACKOFF * 3u32.pow(attempt);
                    tracing::info!(account = id, error = %p, ?pause, "transient refresh failure; trying again");
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                other => break other,
            }
        };
        match result {
            Ok(grant) => {
                // The new refresh token must reach the keychain before anything else can fail:
                // the old one is spent.
                self.keychain.store_tokens(id, &grant.tokens)?;
                crash_point("refresh:secret-stored");
                let tokens = grant.tokens;
                let account = self.accounts.update(|all| {
                    let a = all
                        .iter_mut()
                        .find(|a| a.id == id)
                        .ok_or_else(|| Error::NoSuchAccount(id.into()))?;
                    a.expires_at = tokens.expires_at;
                    a.token_obtained_at = tokens.obtained_at;
                    a.has_refresh_token = tokens.refresh_token.is_some();
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
            Err(e) => match mode {
                RefreshMode::IfStale { .. } if !current.is_expired(now) => {
                    tracing::warn!(account = id, error = %e, "refresh failed; the current token is still valid");
                    Ok((account, current))
                }
                _ => Err(e),
            },
        }
    }

    /// Records that only a reconnect can help, and returns the error that says so.
    fn mark_needs_reconnect(&self, account: &Account, reason: &str) -> Result<Error> {
        self.accounts.update(|all| {
            if let Some(a) = all.iter_mut().find(|a| a.id == account.id) {
                a.lifecycle = Lifecycle::NeedsReconnect {
                    reason: reason.into(),
                };
                a.updated_at = now();
            }
            Ok(())
        })?;
        Ok(Error::NeedsReconnect {
            account: account.id.clone(),
            provider: account.provider.clone(),
            reason: reason.into(),
        })
    }

    /// Revokes the grant at the provider and keeps the account, marked "needs reconnect".
    pub async fn revoke(&self, reference: &str) -> Result<Account> {
        let account = self.find(reference)?;
        let _lock = FileLock::exclusive(&self.refresh_lock(&account.id))?;
        let provider = self.catalog.get(&account.provider)?;
        let Some(url) = account
            .endpoints
            .revocation_url
            .as_deref()
            .map(endpoints::parse)
            .transpose()?
        else {
            return Err(Error::Usage(format!(
                "{} offers no token revocation; revoke Keyport's access in your {} account settings, \
                 or `keyport disconnect --local-only {}` to forget the account here",
                provider.display_name, provider.display_name, account.id
            )));
        };
        if let Some(tokens) = self.keychain.load_tokens(&account.id)? {
            self.revoke_tokens(provider, &url, &tokens).await?;
        }
        crash_point("revoke:revoked");
        // One write marks it and drops what the revoked tokens were: the secret goes next.
        let account = self.accounts.update(|all| {
            let a = all
                .iter_mut()
                .find(|a| a.id == account.id)
                .ok_or_else(|| Error::NoSuchAccount(account.id.clone()))?;
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

    async fn revoke_tokens(&self, provider: &Provider, url: &Url, tokens: &TokenSet) -> Result<()> {
        if provider.revocation == RevocationStyle::Bearer {
            return oauth::revoke_bearer(self.http(), &provider.display_name, url, &tokens.access_token)
                .await;
        }
        let creds = self.credentials(provider)?;
        // The refresh token first: revoking it ends the grant, and with it (RFC 7009 §2.1) the
        // access tokens, at most providers.
        if let Some(rt) = &tokens.refresh_token {
            oauth::revoke(
                self.http(),
                &provider.display_name,
                url,
                &creds,
                rt,
                "refresh_token",
            )
            .await?;
        }
        if let Err(e) = oauth::revoke(
            self.http(),
            &provider.display_name,
            url,
            &creds,
            &tokens.access_token,
            "access_token",
        )
        .await
        {
            if tokens.refresh_token.is_none() {
                return Err(e);
            }
            tracing::debug!(error = %e, "access token revocation after the refresh token's failed");
        }
        Ok(())
    }

    /// Revokes at the provider when it can (unless `local_only`), then forgets the account.
    pub async fn disconnect(
        &self,
        reference: &str,
        local_only: bool,
    ) -> Result<(Account, RevocationOutcome)> {
        let account = self.find(reference)?;
        let _lock = FileLock::exclusive(&self.refresh_lock(&account.id))?;
        let mut outcome = RevocationOutcome::Skipped;
        if !local_only {
            let tokens = self.keychain.load_tokens(&account.id)?;
            match (&account.endpoints.revocation_url, tokens) {
                (None, _) => outcome = RevocationOutcome::NotSupported,
                (Some(url), Some(tokens)) => {
                    let provider = self.catalog.get(&account.provider)?;
                    self.revoke_tokens(provider, &endpoints::parse(url)?, &tokens)
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
        tracing::info!(account = %account.id, ?outcome, "disconnected");
        Ok((account, outcome))
    }

    pub fn rename(&self, reference: &str, nickname: &str) -> Result<Account> {
        let nickname = nickname.trim();
        if nickname.is_empty() || nickname.contains(':') {
            return Err(Error::Usage(
                "a nickname must be non-empty and must not contain ':'".into(),
            ));
        }
        let account = self.find(reference)?;
        self.accounts.update(|all| {
            if all
                .iter()
                .any(|a| a.id != account.id && a.provider == account.provider && a.nickname == nickname)
            {
                return Err(Error::Usage(format!(
                    "another {} account is already called \"{nickname}\"",
                    account.provider
                )));
            }
            let a = all
                .iter_mut()
                .find(|a| a.id == account.id)
                .ok_or_else(|| Error::NoSuchAccount(account.id.clone()))?;
            a.nickname = nickname.to_string();
            a.updated_at = now();
            Ok(a.clone())
        })
    }
}

/// A named point between two writes. Debug builds abort there when `KEYPORT_TEST_CRASH_AT` names
/// it, so the crash tests can check the state each partial write sequence leaves behind.
fn crash_point(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("KEYPORT_TEST_CRASH_AT").is_ok_and(|at| at == name) {
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

fn ensure_active(account: &Account) -> Result<()> {
    match &account.lifecycle {
        Lifecycle::Active => Ok(()),
        Lifecycle::NeedsReconnect { reason } => Err(Error::NeedsReconnect {
            account: account.id.clone(),
            provider: account.provider.clone(),
            reason: reason.clone(),
        }),
    }
}

/// RFC 9207: when the server identifies itself in the callback, it must be the one we asked.
fn check_issuer(endpoints: &endpoints::Endpoints, iss: Option<&str>) -> Result<()> {
    let Some(expected) = &endpoints.issuer else {
        return Ok(());
    };
    match iss {
        Some(iss) if iss == expected => Ok(()),
        Some(iss) => Err(Error::Authorization(format!(
            "the callback came from issuer {iss}, not {expected}; it was not used"
        ))),
        None if endpoints.iss_parameter_supported => Err(Error::Authorization(format!(
            "the callback lacks the issuer ({expected}) that the provider promised to send; it was not used"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(issuer: Option<&str>, promised: bool) -> endpoints::Endpoints {
        endpoints::Endpoints {
            authorization_url: "https://i.example/auth".into(),
            token_url: "https://i.example/token".into(),
            revocation_url: None,
            userinfo_url: None,
            refresh_url: None,
            device_authorization_url: None,
            issuer: issuer.map(str::to_string),
            iss_parameter_supported: promised,
        }
    }

    #[test]
    fn callback_issuer_must_match_rfc_9207() {
        let e = endpoints(Some("https://i.example"), true);
        assert!(check_issuer(&e, Some("https://i.example")).is_ok());
        let mixup = check_issuer(&e, Some("https://attacker.example")).unwrap_err();
        assert!(mixup.to_string().contains("attacker.example"), "{mixup}");
        assert!(
            check_issuer(&e, None).is_err(),
            "a promised iss may not be missing"
        );
        assert!(check_issuer(&endpoints(Some("https://i.example"), false), None).is_ok());
        assert!(check_issuer(&endpoints(None, false), Some("anything")).is_ok());
    }
}

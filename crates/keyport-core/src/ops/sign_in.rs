//! Signing in: through the browser (loopback or `keyport://` redirect, or an address pasted back),
//! or with a device code (RFC 8628); then the user is looked up and the account stored.

use super::registrations::{be_client, refused_client, registration_url};
use super::{crash_point, Keyport};
use crate::catalog::{Provider, RedirectKind};
use crate::error::{Error, Result};
use crate::model::tokens::now;
use crate::model::{Connection, GrantKind, Registration};
use crate::provider::device::device_error;
use crate::provider::grant::Grant;
use crate::provider::remote::Remote;
use crate::redirect::deep_link::{self, PendingFlows};
use crate::redirect::loopback::{CallbackListener, Serving, SignInAddress};
use crate::store::accounts::{self, Account, Lifecycle};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// How long `connect` waits for the browser by default.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 120;

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Scopes to request instead of the provider's defaults.
    pub scopes: Option<Vec<String>>,
    pub nickname: Option<String>,
    pub timeout: Duration,
    /// Values for the provider's `{variables}` (tenant, shop, …).
    pub variables: BTreeMap<String, String>,
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

/// How the provider's answer can reach this sign-in, besides what the provider's catalog entry
/// says: each adapter offers what it can receive.
pub enum RedirectMode<'a> {
    /// The loopback listener only.
    Loopback,
    /// The loopback listener, or the address the browser ended on, pasted by the user (lines from
    /// the receiver): for a browser on another machine.
    LoopbackOrPasted(tokio::sync::mpsc::Receiver<String>),
    /// `keyport://` links, which only the desktop app receives (from the system), for providers
    /// whose entry asks for them; the others still come back through the loopback listener.
    DeepLink(&'a PendingFlows),
}

/// What the user needs to approve a device sign-in: the code, and where to type it.
#[derive(Debug, Clone)]
pub struct DevicePrompt {
    pub user_code: String,
    pub verification_uri: Url,
    /// To open in a browser on this machine: a one-time local address that leads to the approval
    /// page with the code filled in (so that the code is on no command line, where another user
    /// could read it and approve first with her own account), or the page itself, without the code.
    pub open_here: Url,
    pub expires_in: Duration,
}

/// Everything a sign-in needs before the user is involved.
pub(super) struct Prepared<'a> {
    pub(super) provider: Provider,
    pub(super) connection: Arc<Connection>,
    pub(super) scopes: Vec<String>,
    /// What the authorization server's metadata says it grants (see `register_for`).
    pub(super) offered_scopes: Vec<String>,
    keyport: &'a Keyport,
    phases: Phases,
    /// The keychain check, running while the sign-in goes on (taken by whoever waits for it).
    probe: Option<KeychainProbe>,
}

/// Whether the keychain can take the tokens, found out on a blocking thread while the provider
/// is discovered, the listener bound and Keyport registered (writing and deleting the probe item
/// takes ~20 ms of D-Bus round trips); its answer is awaited before the browser opens, so that
/// nobody signs in for tokens that would have nowhere to go.
struct KeychainProbe(tokio::task::JoinHandle<Result<()>>);

impl KeychainProbe {
    fn start(keychain: &crate::store::keychain::Keychain) -> KeychainProbe {
        let keychain = keychain.clone();
        KeychainProbe(tokio::task::spawn_blocking(move || keychain.check()))
    }

    async fn outcome(self) -> Result<()> {
        self.0
            .await
            .map_err(|e| Error::Internal(format!("the keychain check stopped: {e}")))?
    }
}

impl Prepared<'_> {
    fn remote(&self) -> Result<Remote<'_>> {
        self.keyport.remote(&self.provider.id, &self.connection)
    }
}

/// How long each step of a sign-in took: logged at debug level when it ends (target
/// `keyport::sign_in_phases`), so that the benchmark can tell Keyport's own cost from the time
/// spent in the browser and at the provider.
struct Phases {
    steps: std::sync::Mutex<(Instant, Vec<(&'static str, Duration)>)>,
}

impl Phases {
    fn start() -> Phases {
        Phases {
            steps: std::sync::Mutex::new((Instant::now(), Vec::new())),
        }
    }

    /// Ends the step `name`, which began where the previous one ended.
    fn mark(&self, name: &'static str) {
        let mut steps = self.steps.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let took = now - steps.0;
        steps.0 = now;
        steps.1.push((name, took));
    }

    fn log(&self) {
        let steps = self.steps.lock().unwrap_or_else(|e| e.into_inner());
        let text: Vec<String> = steps
            .1
            .iter()
            .map(|(name, took)| format!("{}={:.3}", name.replace(' ', "_"), took.as_secs_f64() * 1000.0))
            .collect();
        tracing::debug!(target: "keyport::sign_in_phases", phases = %text.join(" "), "sign-in phases, in ms");
    }
}

impl Keyport {
    /// Runs the authorization-code flow with a loopback redirect. `present` receives the sign-in
    /// address: the one-time local one to open in the system browser, and the full one to show
    /// the person. Connecting the same user again updates their account instead of adding a
    /// second one.
    pub async fn connect(
        &self,
        provider_id: &str,
        opts: ConnectOptions,
        present: impl FnOnce(&SignInAddress),
    ) -> Result<Account> {
        self.connect_via(provider_id, opts, RedirectMode::Loopback, present)
            .await
    }

    /// Like [`Keyport::connect`], with the answer coming back as `mode` allows.
    pub async fn connect_via(
        &self,
        provider_id: &str,
        opts: ConnectOptions,
        mode: RedirectMode<'_>,
        present: impl FnOnce(&SignInAddress),
    ) -> Result<Account> {
        let phases = Phases::start();
        let provider = self.catalog()?.get(provider_id)?;
        if provider.quirks.grant != GrantKind::AuthorizationCode {
            return self.connect_without_browser(provider, opts, phases).await;
        }
        let (deep_links, pasted) = match (provider.redirect, mode) {
            (RedirectKind::DeepLink, RedirectMode::DeepLink(flows)) => (Some(flows), None),
            (RedirectKind::DeepLink, _) => {
                return Err(Error::Unsupported(format!(
                    "{} uses the keyport:// redirect, which only the desktop app receives",
                    provider.display_name
                )))
            }
            (RedirectKind::Loopback, RedirectMode::LoopbackOrPasted(lines)) => (None, Some(lines)),
            (RedirectKind::Loopback, _) => (None, None),
        };
        let mut prepared = self.prepare_sign_in(provider, &opts, phases).await?;
        let registers = prepared.provider.registers_itself();
        // Read once: the kept client if it serves this sign-in, else what a new registration
        // adds its scopes to.
        let earlier = registers
            .then(|| self.kept_at(registration_url(&prepared.provider)))
            .flatten();
        let kept = match &earlier {
            Some(earlier) => self.usable_registration(&prepared, earlier, deep_links.is_none())?,
            None => None,
        };
        // The browser is opened on the listener's one-time start page in both cases, so the
        // authorization request never appears on a command line. A kept loopback registration
        // comes back to the port it registered: when that port is taken, Keyport registers again.
        let (mut listener, kept) = match kept.as_ref().and_then(Registration::loopback_port) {
            Some(port) => match CallbackListener::bind_port(port).await {
                Ok(listener) => (listener, kept),
                Err(e) => {
                    tracing::info!(port, error = %e, "the registered redirect's port is taken: registering again");
                    (CallbackListener::bind().await?, None)
                }
            },
            None => (CallbackListener::bind().await?, kept),
        };
        prepared.phases.mark("listener");
        let redirect_uri = match deep_links {
            None => listener.redirect_uri(),
            Some(_) => Url::parse(deep_link::REDIRECT_URI).expect("a valid URL"),
        };
        if registers {
            match &kept {
                Some(registration) => {
                    tracing::info!(provider = %prepared.provider.id, "signing in as the client registered earlier");
                    be_client(&mut prepared, registration);
                }
                None => {
                    self.register_for(&mut prepared, &redirect_uri, earlier.as_ref())
                        .await?
                }
            }
            prepared.phases.mark("registration");
        }
        let signed_in = async {
            let probe = prepared
                .probe
                .take()
                .expect("the probe is started with the sign-in");
            let name = &prepared.provider.display_name;
            let remote = prepared.remote()?;
            let pending = remote.authorize(redirect_uri, &prepared.scopes);
            let address = listener.start_page(&pending.url);
            prepared.phases.mark("authorization request");
            probe.outcome().await?;
            prepared.phases.mark("keychain probe");
            let callback = match deep_links {
                None => {
                    tracing::info!(provider = %provider_id, port = listener.port(), "waiting for the authorization callback");
                    present(&address);
                    let serving = Serving::Callback {
                        state: pending.state.expose(),
                        pasted,
                    };
                    listener.serve(name, serving, opts.timeout).await?
                }
                Some(flows) => {
                    let waiter = flows.register(&pending.state);
                    tracing::info!(provider = %provider_id, "waiting for the keyport:// callback");
                    present(&address);
                    tokio::select! {
                        callback = waiter.wait(name, opts.timeout) => callback?,
                        ended = listener.serve(name, Serving::StartPageOnly, opts.timeout) => {
                            ended?;
                            return Err(Error::Internal("the start page's listener completed a sign-in".into()));
                        }
                    }
                }
            };
            prepared.phases.mark("browser");
            prepared
                .connection
                .check_callback_issuer(callback.iss.as_deref())?;
            let requested = pending.requested_scopes.clone();
            let grant = remote.exchange(pending, callback.code).await?;
            prepared.phases.mark("code exchange");
            Ok((grant, requested))
        }
        .await;
        let (grant, requested) = match signed_in {
            Ok(done) => done,
            Err(e) => {
                // The server may have forgotten the client (many keep registrations in memory):
                // its page then says so and the browser never comes back. The next sign-in
                // registers again rather than fail the same way.
                if let Some(registration) = kept.as_ref().filter(|_| refused_client(&e)) {
                    self.forget_registration(&registration.registration_url, &registration.client_id);
                }
                return Err(e);
            }
        };
        self.store_connection(&prepared, grant, requested, opts.nickname)
            .await
    }

    /// Connects without a browser: a client that signs in with its own credentials (the client
    /// credentials grant, its secret or private key from the keychain), or through the
    /// organization's identity provider (an identity assertion).
    async fn connect_without_browser(
        &self,
        provider: &Provider,
        opts: ConnectOptions,
        phases: Phases,
    ) -> Result<Account> {
        let mut prepared = self.prepare_sign_in(provider, &opts, phases).await?;
        if let Some(probe) = prepared.probe.take() {
            probe.outcome().await?;
        }
        prepared.phases.mark("keychain probe");
        // No refresh token comes (a new grant is had the same way), and no person is asked:
        // `openid` and `offline_access`, which discovery adds for people, mean nothing here, and
        // servers refuse them to such clients.
        prepared.scopes.retain(|s| s != "openid" && s != "offline_access");
        let remote = prepared.remote()?;
        let grant = match provider.quirks.grant {
            GrantKind::IdentityAssertion => {
                self.grant_by_assertion(
                    &prepared.provider.id,
                    &prepared.connection,
                    &remote,
                    &prepared.scopes,
                )
                .await?
            }
            _ => remote.client_credentials(&prepared.scopes).await?,
        };
        prepared.phases.mark("grant without a browser");
        let scopes = prepared.scopes.clone();
        self.store_connection(&prepared, grant, scopes, opts.nickname)
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
        let phases = Phases::start();
        let mut prepared = self
            .prepare_sign_in(self.catalog()?.get(provider_id)?, &opts, phases)
            .await?;
        // The code is shown to the person only once the tokens are known to have a place.
        if let Some(probe) = prepared.probe.take() {
            probe.outcome().await?;
        }
        prepared.phases.mark("keychain probe");
        let remote = prepared.remote()?;
        let device = remote.start_device(&prepared.scopes).await?;
        let name = &prepared.provider.display_name;
        let (listener, open_here) = match &device.verification_uri_complete {
            Some(complete) => {
                let mut listener = CallbackListener::bind().await?;
                let open_here = listener.start_page(complete).local;
                (Some(listener), open_here)
            }
            None => (None, device.verification_uri.clone()),
        };
        tracing::info!(provider = %provider_id, "waiting for the device sign-in");
        present(&DevicePrompt {
            user_code: device.user_code.clone(),
            verification_uri: device.verification_uri.clone(),
            open_here,
            expires_in: device.expires_in,
        });
        let finish = remote.finish_device(device, opts.timeout);
        let grant = match listener {
            None => finish.await,
            Some(listener) => tokio::select! {
                grant = finish => grant,
                ended = listener.serve(name, Serving::StartPageOnly, opts.timeout) => {
                    ended?;
                    return Err(Error::Internal("the start page's listener completed a sign-in".into()));
                }
            },
        }
        .map_err(device_error)?;
        prepared.phases.mark("device approval");
        let scopes = prepared.scopes.clone();
        self.store_connection(&prepared, grant, scopes, opts.nickname)
            .await
    }

    /// What every sign-in needs before the user is involved: the provider with the user's
    /// variables, a keychain that can take the tokens, the resolved connection, and the scopes.
    async fn prepare_sign_in(
        &self,
        provider: &Provider,
        opts: &ConnectOptions,
        phases: Phases,
    ) -> Result<Prepared<'_>> {
        let provider = provider.with_variables(&opts.variables)?;
        if !provider.is_set_up() {
            return Err(Error::ProviderNotSetUp(provider.id.to_string()));
        }
        phases.mark("catalog");
        // Fail before the user signs in, not after, when the tokens would have nowhere to go.
        let probe = KeychainProbe::start(&self.keychain);
        let http = self.http_within(provider.quirks.address_space);
        let (connection, offered_scopes) = crate::provider::resolve::resolve(&provider, http).await?;
        phases.mark("discovery");
        let scopes = opts.scopes.clone().unwrap_or_else(|| provider.scopes.clone());
        Ok(Prepared {
            provider,
            connection: Arc::new(connection),
            scopes,
            offered_scopes,
            keyport: self,
            phases,
            probe: Some(probe),
        })
    }

    /// Looks the user up and stores a new or reconnected account with its tokens.
    async fn store_connection(
        &self,
        prepared: &Prepared<'_>,
        grant: Grant,
        requested: Vec<String>,
        nickname: Option<String>,
    ) -> Result<Account> {
        let provider = &prepared.provider;
        let profile = prepared.remote()?.profile(&grant).await;
        prepared.phases.mark("user info");
        // An MCP server says nothing of its user: its account is named after the server, so that
        // it reads well and a reconnect finds it.
        // The first account of an MCP server is named after what the server says it is (its
        // `serverInfo`), and so is its catalog entry, so that a reconnect finds it by that name.
        let first_of_server = provider.quirks.resource.is_some()
            && nickname.is_none()
            && self.accounts()?.iter().all(|a| a.provider != provider.id);
        let mut display_name = provider.display_name.clone();
        if first_of_server {
            // Asked at the URL it was connected for: its resource may be a whole origin, whose
            // root may be another server.
            let quirks = &provider.quirks;
            let url = quirks.mcp_urls.first().or(quirks.resource.as_ref());
            let url = url.map(String::as_str).unwrap_or_default();
            let name = self.mcp_server_name(url, quirks.address_space, &grant.tokens.access_token);
            if let Some(name) = name.await {
                match crate::catalog::Catalog::set_display_name(
                    &self.home.providers_file(),
                    provider.id.as_str(),
                    &name,
                ) {
                    Ok(_) => display_name = name,
                    Err(e) => tracing::warn!(error = %e, "could not name the MCP server in providers.toml"),
                }
            }
        }
        // Whoever gave the name (the person, the provider, the server), a nickname is shown on
        // terminals and typed back: it holds no control character.
        let nickname = nickname
            .or_else(|| provider.quirks.resource.as_ref().map(|_| display_name.clone()))
            .map(|n| crate::text::strip_controls(&n));
        let scopes = grant.scopes.unwrap_or(requested);
        let tokens = grant.tokens;
        // A new account is written in three steps, so that a crash at any point leaves the
        // keychain and the account file consistent: first a placeholder marked `Connecting` (an
        // account without its secret is allowed only in that state, and reads as needing a
        // reconnect), then the secret, then the account made active. A reconnect overwrites the
        // secret of an existing account.
        let account = self.accounts.update(|all| {
            let now = now();
            let existing = all.iter().position(|a| {
                a.provider == provider.id
                    && match (&a.subject, &profile.subject) {
                        (Some(x), Some(y)) => x == y,
                        // Without a user id, the name: the provider's, else the one given (an MCP
                        // server that says nothing of its user is one account per server).
                        _ => Some(&a.nickname) == profile.nickname.as_ref().or(nickname.as_ref()),
                    }
            });
            let id = existing
                .map(|i| all[i].id.clone())
                .unwrap_or_else(|| accounts::next_id(all, &provider.id));
            let nickname = nickname
                .clone()
                .or_else(|| existing.map(|i| all[i].nickname.clone()))
                .or_else(|| profile.nickname.clone())
                .unwrap_or_else(|| id.to_string());
            let account = Account {
                id,
                provider: provider.id.clone(),
                nickname,
                subject: profile.subject.clone(),
                scopes,
                expires_at: tokens.expires_at,
                token_obtained_at: tokens.obtained_at,
                has_refresh_token: prepared.connection.renews(&tokens),
                lifecycle: Lifecycle::Active,
                connection: prepared.connection.clone(),
                metadata: grant.kept.clone(),
                is_default: existing.is_some_and(|i| all[i].is_default),
                over_ssh: existing.is_some_and(|i| all[i].over_ssh),
                created_at: existing.map(|i| all[i].created_at).unwrap_or(now),
                updated_at: now,
            };
            if existing.is_none() {
                all.push(Account {
                    lifecycle: Lifecycle::Connecting,
                    ..account.clone()
                });
            }
            Ok(account)
        })?;
        crash_point("connect:placeholder-written");
        if let Err(e) = self.keychain.store_tokens(&account.id, &tokens) {
            self.accounts.update(|all| {
                all.retain(|a| !(a.id == account.id && a.lifecycle == Lifecycle::Connecting));
                Ok(())
            })?;
            // The provider issued a grant we cannot keep: end it rather than leave it behind.
            if let Some(url) = &prepared.connection.endpoints.revocation_url {
                if let Err(revoke) = prepared.remote()?.revoke(url, &tokens).await {
                    tracing::warn!(error = %revoke, "could not revoke the grant that could not be stored");
                }
            }
            return Err(e);
        }
        crash_point("connect:secret-stored");
        let (account, before) = self.accounts.update(|all| {
            let before = match all.iter_mut().find(|a| a.id == account.id) {
                Some(a) => Some(std::mem::replace(a, account.clone()).connection),
                None => {
                    all.push(account.clone());
                    None
                }
            };
            Ok((account, before))
        })?;
        prepared.phases.mark("writes");
        // A reconnect may have moved the account to another client Keyport registered.
        if let Some(before) = before.filter(|b| b.client_id != account.connection.client_id) {
            self.drop_unused_secret_of(&before);
        }
        prepared.phases.log();
        tracing::info!(account = %account.id, "connected");
        Ok(account)
    }
}

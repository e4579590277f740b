//! [`Keyport`]: the operations the CLI and the app offer, over the catalog, the account file, the
//! keychain and the provider. Adapters call these and only turn results into output. One file per
//! operation; the methods of `Keyport` each file adds:
//!
//! | file | what | `Keyport::` |
//! | --- | --- | --- |
//! | `mod.rs` | opening a home, the lists | `open`, `home`, `catalog`, `accounts`, `with_summaries`, `summary`, `find`, `recent_uses` |
//! | `provider_setup.rs` | client ids and secrets, issuers | `set_up_provider`, `set_client_secret`, `add_provider_from_issuer` |
//! | `sign_in.rs` | signing in (browser, paste, device code), storing the account | `connect`, `connect_via`, `connect_device` |
//! | `registrations.rs` | the clients Keyport registers itself as (RFC 7591) | (for sign-in, refresh, disconnect) |
//! | `refresh.rs` | a token set, refreshed under the account's lock (the core's half of a token) | `token_set`, `token_set_for`, `token_set_instead_of`, `with_fresh_id_token`, `refresh` |
//! | `token_route.rs` | a token as a command asks for it: through the running agent, else the keychain | `token`, `token_for`, `set_token_route` |
//! | `revoke.rs` | revoke, disconnect | `revoke`, `disconnect` |
//! | `naming.rs` | nickname, default, use over SSH | `rename`, `set_default`, `set_over_ssh` |
//! | `choose.rs` | which account a command means | (`choose_reference`) |
//! | `git.rs` | git's credential helper protocol | `git_credential`, `git_account` |
//! | `exec.rs` | tokens for a command's environment | `exec_env` |
//! | `across_ssh.rs` | what a machine reached over SSH asks its desktop for besides tokens | `accounts_across_ssh`, `connect_across_ssh`, `uses_another_machines_accounts` |
//! | `mcp_setup.rs` | an MCP server connected by its URL, and its first sign-in | `mcp_provider`, `ready_mcp_account`, `sign_in_to_mcp_server` |
//! | `mcp_urls.rs` | which account serves an MCP server's URL | `account_for_resource` |
//! | `mcp_bridge/` | `keyport mcp`, the stdio bridge | `bridge_mcp` |
//! | `held_agent.rs` | the bridge's one agent connection, kept from before it hides its memory | |
//! | `enterprise.rs` | sign-in through an organization's identity provider | |
//!
//! A token is handed out by one function in each process, named for where it comes from: the
//! small `keyport`'s `fast::try_token_from_agent` (`keyport-cli`: the agent over the socket, no
//! core), the agent's `agent::Agent::token_set_from_memory`, and this one, `Keyport::token` (the
//! route a command takes), which ends in `Keyport::token_set` (the keychain, a refresh) when no
//! agent answers.
//!
//! Ordering rules that keep the keychain and the account file consistent when a process dies at any
//! point: secrets are written before the metadata that points at them, and an account is marked
//! "needs reconnect" before its secret is deleted. Refresh, revoke and disconnect of one account are
//! serialized across processes by a per-account lock, because providers rotate refresh tokens: two
//! concurrent refreshes would spend the same refresh token twice, and many providers then revoke the
//! whole grant.

mod across_ssh;
pub mod choose;
mod enterprise;
mod exec;
mod git;
mod held_agent;
mod mcp_bridge;
mod mcp_setup;
mod mcp_urls;
mod naming;
mod provider_setup;
mod refresh;
mod registrations;
mod revoke;
mod sign_in;
mod token_route;

pub use exec::EnvRequest;
pub use git::{GitCredential, GitRequest};
pub use mcp_bridge::{FirstSignIn, Present, SignInReason};
pub use mcp_setup::{GivenIdToken, OwnClient};
pub use provider_setup::NewProvider;
pub use refresh::DEFAULT_MIN_TTL_SECS;
pub use revoke::RevocationOutcome;
pub use sign_in::{ConnectOptions, DevicePrompt, RedirectMode, DEFAULT_CONNECT_TIMEOUT_SECS};
pub use token_route::{agent_address, TokenRoute};

use crate::catalog::Catalog;
use crate::error::Result;
use crate::model::Quirks;
use crate::model::{AccountId, Connection, ProviderId};
use crate::provider::remote::Remote;
use crate::store::account_file::{AccountStore, LegacyEndpoints, ListedAccount};
use crate::store::accounts::{self, Account};
use crate::store::audit::AuditLog;
use crate::store::home::Home;
use crate::store::keychain::Keychain;
use crate::store::registrations::Registrations;
use crate::store::unasked_sign_ins::UnaskedSignIns;
use crate::view::AccountSummary;
use std::path::PathBuf;

pub struct Keyport {
    home: Home,
    /// Read on first use: handing out or refreshing a token needs only the account's stored
    /// connection, and a damaged providers.toml must not stop that.
    catalog: std::sync::OnceLock<Catalog>,
    accounts: AccountStore,
    keychain: Keychain,
    audit: AuditLog,
    /// The clients Keyport registered itself as, one per authorization server.
    registrations: Registrations,
    /// The sign-ins `keyport mcp` opened on its own, per server, lately (a server may not have
    /// the browser opened without end).
    unasked_sign_ins: UnaskedSignIns,
    /// Built on first use: most commands (`token` with a fresh token, `list`) never talk to a
    /// provider, and building a TLS client loads the root certificates. One per address space a
    /// server's endpoints may be reached in (`provider/reach.rs`).
    http: crate::provider::reach::Clients,
    /// How tokens are handed out to programs (see `token_route`).
    route: TokenRoute,
    /// A process that stays and holds tokens: its connection to the agent (see `held_agent`).
    held: held_agent::HeldLink,
}

impl Keyport {
    pub fn open(home: Home) -> Result<Self> {
        home.check()?;
        let accounts = AccountStore::new(home.accounts_file(), &home.locks_dir());
        let catalog = std::sync::OnceLock::new();
        // Only a format-1 file needs the catalog (and so a readable providers.toml).
        accounts.upgrade(|provider, legacy| {
            Ok(legacy_connection(catalog_in(&catalog, &home)?, provider, legacy))
        })?;
        let keychain = Keychain::new(home.keychain_service(), &home.locks_dir());
        let audit = AuditLog::new(home.audit_file(), &home.locks_dir());
        let registrations = Registrations::new(home.data_dir(), &home.locks_dir());
        let unasked_sign_ins = UnaskedSignIns::new(home.data_dir(), &home.locks_dir());
        Ok(Self {
            home,
            catalog,
            accounts,
            keychain,
            audit,
            registrations,
            unasked_sign_ins,
            http: Default::default(),
            route: TokenRoute::Direct,
            held: Default::default(),
        })
    }

    fn http(&self) -> &reqwest::Client {
        self.http.within(crate::model::AddressSpace::Local)
    }

    /// The client for endpoints a server in `space` named: it reaches only addresses in that
    /// space or a more public one.
    fn http_within(&self, space: crate::model::AddressSpace) -> &reqwest::Client {
        self.http.within(space)
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The catalog: the built-in presets and the user's providers.toml, read on first use.
    pub fn catalog(&self) -> Result<&Catalog> {
        catalog_in(&self.catalog, &self.home)
    }

    pub(crate) fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Who used which account's token, and when (newest last).
    pub fn recent_uses(&self, limit: usize) -> Vec<crate::store::audit::Use> {
        self.audit.recent(limit)
    }

    /// All accounts' metadata. Never touches the keychain, so it stays cheap with many accounts.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        self.accounts.load()
    }

    /// What the interfaces list, read straight from the account file's bytes (borrowed, so the
    /// cost stays close to flat as accounts grow); `show` gets them all at once.
    pub fn with_summaries<T>(&self, now: u64, show: impl FnOnce(Vec<AccountSummary<'_>>) -> T) -> Result<T> {
        let catalog = self.catalog()?;
        let bytes = self.accounts.read_bytes()?;
        let listed: Vec<ListedAccount> = self.accounts.listing(&bytes)?;
        Ok(show(
            listed
                .into_iter()
                .map(|a| AccountSummary::listed(a, catalog, now))
                .collect(),
        ))
    }

    /// What the interfaces show of one account.
    pub fn summary<'a>(&'a self, account: &'a Account, now: u64) -> Result<AccountSummary<'a>> {
        Ok(AccountSummary::new(account, self.catalog()?, now))
    }

    pub fn find(&self, reference: &str) -> Result<Account> {
        let all = self.accounts.load()?;
        accounts::resolve(&all, reference).cloned()
    }

    fn account_lock(&self, account_id: &AccountId) -> PathBuf {
        self.home.locks_dir().join(format!("account-{account_id}.lock"))
    }

    /// The provider of `connection`, ready to talk to, with the client secret when the client
    /// has one: a registered client's, else the provider's in the keychain, then the one written
    /// in the catalog file (if the provider is still there with the same client id).
    fn remote<'a>(&'a self, provider_id: &ProviderId, connection: &'a Connection) -> Result<Remote<'a>> {
        if !connection.wants_client_secret() {
            let http = self.http_within(connection.quirks.address_space);
            return Ok(Remote::new(http, connection, None));
        }
        let mut secret = match crate::model::Registration::secret_key_of(connection) {
            Some(key) => self.keychain.registered_secret(&key)?,
            None => None,
        };
        if secret.is_none() {
            secret = self.keychain.client_secret(provider_id)?;
        }
        let secret = secret.or_else(|| {
            self.catalog()
                .ok()?
                .get(provider_id.as_str())
                .ok()
                .filter(|p| p.client_id.as_deref() == Some(connection.client_id.as_str()))
                .and_then(|p| p.client_secret.clone())
        });
        let http = self.http_within(connection.quirks.address_space);
        Ok(Remote::new(http, connection, secret))
    }
}

/// The catalog kept in `cell`, read from `home`'s providers.toml the first time it is asked for.
fn catalog_in<'c>(cell: &'c std::sync::OnceLock<Catalog>, home: &Home) -> Result<&'c Catalog> {
    if let Some(catalog) = cell.get() {
        return Ok(catalog);
    }
    let loaded = Catalog::load(&home.providers_file())?;
    Ok(cell.get_or_init(|| loaded))
}

/// A format-1 account's connection: its stored endpoints, and what today's catalog says of the
/// rest (as format 1 read it on every use). A provider no longer in the catalog keeps the
/// defaults: its grant still refreshes as plain OAuth 2.0.
fn legacy_connection(catalog: &Catalog, provider: &str, legacy: LegacyEndpoints) -> Connection {
    let entry = catalog.get(provider).ok();
    Connection {
        provider_name: entry.map_or_else(|| provider.to_string(), |p| p.display_name.clone()),
        endpoints: legacy.endpoints,
        callback_issuer: legacy.callback_issuer,
        iss_parameter_supported: legacy.iss_parameter_supported,
        quirks: entry.map_or_else(Quirks::default, |p| p.quirks.clone()),
        integration: entry.map(|p| p.integration.clone()).unwrap_or_default(),
        client_id: entry.and_then(|p| p.client_id.clone()).unwrap_or_default(),
        auth_method: entry.map(|p| p.token_request_auth_method).unwrap_or_default(),
    }
}

/// Adds to `scopes` those of `more` it lacks, in their order (a sign-in asking for a union).
fn add_scopes(scopes: &mut Vec<String>, more: &[String]) {
    for scope in more {
        if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
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

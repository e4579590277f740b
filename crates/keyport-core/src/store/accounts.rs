//! A connected account's non-secret metadata, its lifecycle and the status people see, and how a
//! reference (`github-1`, `github:octocat`, `octocat`) finds it. Kept in the account file
//! (`account_file`); its tokens are in the keychain.

use crate::error::{Error, Result};
pub use crate::model::summary::Status;
use crate::model::tokens::TokenSet;
use crate::model::{AccountId, Connection, Issued, ProviderId, TokenUse};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Seconds before expiry from which an account shows as "expiring".
pub const EXPIRING_WINDOW_SECS: u64 = 300;

/// What the stored grant can still do. Only a reconnect or disconnect leaves `NeedsReconnect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Lifecycle {
    /// A new account whose tokens are being stored: the first of the three writes of a sign-in.
    /// Seen afterwards only when that sign-in died half-way; it then needs a reconnect.
    Connecting,
    Active,
    NeedsReconnect {
        reason: String,
    },
}

/// Why an account left in [`Lifecycle::Connecting`] needs a reconnect.
pub const INTERRUPTED: &str = "the sign-in was interrupted before its tokens were stored";

impl Lifecycle {
    /// Why only a reconnect can help, when that is so.
    pub fn reconnect_reason(&self) -> Option<&str> {
        match self {
            Lifecycle::Active => None,
            Lifecycle::Connecting => Some(INTERRUPTED),
            Lifecycle::NeedsReconnect { reason } => Some(reason),
        }
    }
}

/// An account as Keyport uses it holds its connection (shared: accounts made by the same provider
/// and client usually have equal ones); as the account file stores it, `C` is the name of an entry
/// in the file's connection table (see `account_file`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account<C = Arc<Connection>> {
    /// Stable handle: `<provider>-<n>`.
    pub id: AccountId,
    pub provider: ProviderId,
    pub nickname: String,
    /// The provider's stable user id (`sub`, `id`), to recognize a reconnect of the same user.
    #[serde(default)]
    pub subject: Option<String>,
    pub scopes: Vec<String>,
    pub expires_at: Option<u64>,
    /// When the current access token was issued, to judge "expiring" against its lifetime.
    #[serde(default)]
    pub token_obtained_at: u64,
    pub has_refresh_token: bool,
    pub lifecycle: Lifecycle,
    /// The provider as resolved when the account was connected: how to refresh and revoke it.
    pub connection: C,
    /// Token-response fields the catalog keeps (`keep_fields`), such as an API base URL.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The account a bare provider id means when the provider has several (`keyport default`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_default: bool,
    /// Whether programs on machines reached over SSH may ask for its token (through a forwarded
    /// agent); off until the user allows it (`keyport forwarding`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub over_ssh: bool,
    pub created_at: u64,
    pub updated_at: u64,
}

impl<C> Account<C> {
    /// The same account with its connection replaced by `f` of it (how the account file turns
    /// names of table entries into connections and back).
    pub(crate) fn map_connection<D>(self, f: impl FnOnce(C) -> D) -> Account<D> {
        Account {
            id: self.id,
            provider: self.provider,
            nickname: self.nickname,
            subject: self.subject,
            scopes: self.scopes,
            expires_at: self.expires_at,
            token_obtained_at: self.token_obtained_at,
            has_refresh_token: self.has_refresh_token,
            lifecycle: self.lifecycle,
            connection: f(self.connection),
            metadata: self.metadata,
            is_default: self.is_default,
            over_ssh: self.over_ssh,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

impl Account {
    /// Where the account stands now (see [`Status::of`]).
    pub fn status(&self, now: u64) -> Status {
        Status::of(
            &self.lifecycle,
            self.expires_at,
            self.token_obtained_at,
            self.has_refresh_token,
            now,
        )
    }

    /// `provider:nickname`, the reference a person would type (control characters written out:
    /// it is shown on terminals and in notifications).
    pub fn label(&self) -> String {
        format!(
            "{}:{}",
            self.provider,
            crate::text::escape_controls(&self.nickname)
        )
    }

    /// The account in a sentence: its [`Account::label`], or "the MCP server <its name>" for a
    /// remote MCP server's, whose provider id is made of a host and port that read badly.
    pub fn spoken(&self) -> String {
        match &self.connection.quirks.resource {
            Some(_) => format!("the MCP server {}", crate::text::escape_controls(&self.nickname)),
            None => self.label(),
        }
    }

    /// The token of `tokens` that `token_use` names, handed out with what its users need of this
    /// account; the ID token with its own expiry.
    pub fn issue_from(&self, tokens: TokenSet, token_use: TokenUse) -> Result<Issued> {
        if token_use.is_access() {
            return Ok(self.issue(tokens.access_token));
        }
        let expires_at = tokens.id_token_expires_at();
        let id_token = tokens.id_token.ok_or_else(|| Error::NoIdToken {
            account: self.label(),
            reason: "its provider issued none (an OpenID Connect provider issues one to a sign-in \
                     with the `openid` scope)"
                .into(),
        })?;
        Ok(Issued {
            token_use,
            expires_at,
            ..self.issue(id_token)
        })
    }

    /// `token`, handed out with what its users need of this account.
    pub fn issue(&self, token: crate::secret::Secret) -> Issued {
        let integration = &self.connection.integration;
        Issued {
            token,
            token_use: TokenUse::Access,
            account: self.id.to_string(),
            nickname: self.nickname.clone(),
            expires_at: self.expires_at,
            metadata: self.metadata.clone(),
            env_var: integration.env_var.clone(),
            git_username: integration.git_username.clone(),
        }
    }
}

impl Status {
    /// The one rule, for every shape an account is read in: an account that can refresh is never
    /// "expiring" or "expired" for long (the next use refreshes it), but the status still says
    /// where the access token stands. "Expiring" starts [`EXPIRING_WINDOW_SECS`] before expiry, or
    /// at half-life for tokens shorter than twice that.
    pub fn of(
        lifecycle: &Lifecycle,
        expires_at: Option<u64>,
        token_obtained_at: u64,
        has_refresh_token: bool,
        now: u64,
    ) -> Status {
        if lifecycle.reconnect_reason().is_some() {
            return Status::NeedsReconnect;
        }
        let Some(expires_at) = expires_at else {
            return Status::Ok;
        };
        let window = EXPIRING_WINDOW_SECS.min(expires_at.saturating_sub(token_obtained_at) / 2);
        match expires_at {
            e if e <= now && !has_refresh_token => Status::NeedsReconnect,
            e if e <= now => Status::Expired,
            e if e - now <= window => Status::Expiring,
            _ => Status::Ok,
        }
    }
}

/// Finds the one account `reference` names: an id, `provider:nickname`, a provider or a nickname.
pub fn resolve<'a>(accounts: &'a [Account], reference: &str) -> Result<&'a Account> {
    if let Some(a) = accounts.iter().find(|a| a.id.as_str() == reference) {
        return Ok(a);
    }
    let matches: Vec<&Account> = match reference.split_once(':') {
        Some((provider, nickname)) => accounts
            .iter()
            .filter(|a| a.provider.as_str() == provider && a.nickname == nickname)
            .collect(),
        None => accounts
            .iter()
            .filter(|a| a.provider.as_str() == reference || a.nickname == reference)
            .collect(),
    };
    // Several accounts of the provider named: its default account, if one is set.
    let defaults: Vec<&&Account> = matches
        .iter()
        .filter(|a| a.is_default && a.provider.as_str() == reference)
        .collect();
    if let ([_, _, ..], [default]) = (matches.as_slice(), defaults.as_slice()) {
        return Ok(default);
    }
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::NoSuchAccount(reference.to_string())),
        many => Err(Error::AmbiguousAccount {
            reference: reference.to_string(),
            candidates: many.iter().map(|a| format!("{} ({})", a.id, a.label())).collect(),
        }),
    }
}

/// The next free `<provider>-<n>` id.
pub fn next_id(accounts: &[Account], provider: &ProviderId) -> AccountId {
    (1..)
        .map(|n| AccountId::new(format!("{provider}-{n}")))
        .find(|id| accounts.iter().all(|a| &a.id != id))
        .expect("an unbounded range always has a free id")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn account(id: &str, provider: &str, nickname: &str) -> Account {
        Account {
            id: AccountId::new(id),
            provider: ProviderId::new(provider),
            nickname: nickname.into(),
            subject: None,
            scopes: vec![],
            expires_at: Some(10_000),
            token_obtained_at: 0,
            has_refresh_token: true,
            lifecycle: Lifecycle::Active,
            connection: Arc::new(crate::model::connection::tests::connection()),
            metadata: Default::default(),
            is_default: false,
            over_ssh: false,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn references_resolve_or_explain() {
        let accts = vec![
            account("github-1", "github", "alice"),
            account("github-2", "github", "bob"),
            account("google-1", "google", "alice@example.com"),
        ];
        assert_eq!(resolve(&accts, "github-2").unwrap().id.as_str(), "github-2");
        assert_eq!(resolve(&accts, "github:alice").unwrap().id.as_str(), "github-1");
        assert_eq!(resolve(&accts, "google").unwrap().id.as_str(), "google-1");
        assert_eq!(resolve(&accts, "bob").unwrap().id.as_str(), "github-2");
        match resolve(&accts, "github") {
            Err(Error::AmbiguousAccount { candidates, .. }) => assert_eq!(candidates.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(matches!(resolve(&accts, "gitlab"), Err(Error::NoSuchAccount(_))));
        // A provider's default account answers for the provider, and only for it.
        let mut with_default = accts.clone();
        with_default[0].is_default = true;
        with_default.push(account("gitlab-1", "gitlab", "alice"));
        assert_eq!(resolve(&with_default, "github").unwrap().id.as_str(), "github-1");
        assert!(matches!(
            resolve(&with_default, "alice"),
            Err(Error::AmbiguousAccount { .. })
        ));
    }

    #[test]
    fn ids_are_reused_only_when_free() {
        let accts = vec![
            account("github-1", "github", "a"),
            account("github-3", "github", "b"),
        ];
        assert_eq!(next_id(&accts, &ProviderId::new("github")).as_str(), "github-2");
        assert_eq!(next_id(&accts, &ProviderId::new("gitlab")).as_str(), "gitlab-1");
    }

    #[test]
    fn status_follows_expiry_and_lifecycle() {
        let mut a = account("x-1", "x", "n");
        a.expires_at = Some(1000);
        assert_eq!(a.status(0), Status::Ok);
        assert_eq!(a.status(800), Status::Expiring);
        a.token_obtained_at = 940; // a 60-second token is "expiring" only in its second half
        assert_eq!(a.status(960), Status::Ok);
        assert_eq!(a.status(975), Status::Expiring);
        assert_eq!(a.status(1000), Status::Expired);
        a.has_refresh_token = false;
        assert_eq!(a.status(1000), Status::NeedsReconnect);
        a.lifecycle = Lifecycle::NeedsReconnect {
            reason: "revoked".into(),
        };
        assert_eq!(a.status(0), Status::NeedsReconnect);
        a.lifecycle = Lifecycle::Connecting;
        assert_eq!(a.status(0), Status::NeedsReconnect, "an interrupted sign-in");
    }
}

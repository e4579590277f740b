//! What the user interfaces show: account and provider summaries (metadata only, never a
//! secret), relative times, and the catalog in words (`matrix`). The CLI's `--json` output and the
//! desktop app's commands both serialize these, so they cannot drift apart; the window's
//! TypeScript types are generated from them (feature `ts`).

pub mod exec_credential;
mod matrix;
pub mod token_format;

pub use matrix::{support_matrix, variables_text};

use crate::catalog::{Catalog, Provider, RedirectKind, Variable};
use crate::store::account_file::{ListedAccount, Text};
use crate::store::accounts::{Account, Status};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Borrowed from the account (or the account file's bytes) and the catalog where it can be;
/// [`AccountSummary::into_owned`] detaches it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "Account"))]
pub struct AccountSummary<'a> {
    /// What is shown of the stored account, at the top level.
    #[serde(flatten)]
    pub account: AccountView<'a>,
    pub provider_name: Cow<'a, str>,
    pub status: Status,
    /// Why the account needs reconnecting, when it does.
    pub status_reason: Option<Cow<'a, str>>,
    /// Seconds until expiry (negative once expired).
    pub expires_in: Option<i64>,
    pub can_refresh: bool,
    pub can_revoke: bool,
    /// Whether the account is a remote MCP server's (its tokens are for one resource), which the
    /// window marks as such.
    pub mcp_server: bool,
}

/// The stored account's fields that interfaces show: everything but its lifecycle (shown as
/// the summary's status), its connection and token bookkeeping. Moved out of a
/// [`ListedAccount`], so still borrowed from the file's bytes where that was.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AccountView<'a> {
    pub id: Cow<'a, str>,
    pub provider: Cow<'a, str>,
    pub nickname: Cow<'a, str>,
    #[cfg_attr(feature = "ts", ts(as = "Vec<String>"))]
    pub scopes: Vec<Text<'a>>,
    /// Unix seconds; `null` for a token that does not expire.
    pub expires_at: Option<u64>,
    /// Non-secret fields the provider sent with the tokens (`keep_fields`), e.g. `instance_url`.
    pub metadata: BTreeMap<String, String>,
    /// Whether a bare provider id means this account (`keyport default`).
    pub is_default: bool,
    /// Whether it may be used from machines reached over SSH (`keyport forwarding`).
    pub over_ssh: bool,
    pub created_at: u64,
    pub updated_at: u64,
}

impl<'a> AccountSummary<'a> {
    pub fn new(account: &'a Account, catalog: &'a Catalog, now: u64) -> Self {
        Self::listed(ListedAccount::from(account), catalog, now)
    }

    pub fn listed(account: ListedAccount<'a>, catalog: &'a Catalog, now: u64) -> Self {
        let entry = catalog.get(&account.provider).ok();
        let provider_name = match entry {
            Some(p) => Cow::Borrowed(p.display_name.as_str()),
            None => account.provider.clone(),
        };
        let mcp_server = entry.is_some_and(|p| p.quirks.resource.is_some());
        let status = account.status(now);
        let status_reason = match (account.lifecycle.reconnect_reason(), status) {
            (Some(reason), _) => Some(Cow::Owned(reason.to_string())),
            (None, Status::NeedsReconnect) => {
                Some(Cow::Borrowed("the access token expired and cannot be refreshed"))
            }
            _ => None,
        };
        Self {
            provider_name,
            status,
            status_reason,
            expires_in: account.expires_at.map(|e| e as i64 - now as i64),
            can_refresh: account.has_refresh_token,
            can_revoke: account.can_revoke(),
            mcp_server,
            account: AccountView {
                id: account.id,
                provider: account.provider,
                nickname: account.nickname,
                scopes: account.scopes,
                expires_at: account.expires_at,
                metadata: account.metadata,
                is_default: account.is_default,
                over_ssh: account.over_ssh,
                created_at: account.created_at,
                updated_at: account.updated_at,
            },
        }
    }

    pub fn into_owned(self) -> AccountSummary<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        let a = self.account;
        AccountSummary {
            account: AccountView {
                id: own(a.id),
                provider: own(a.provider),
                nickname: own(a.nickname),
                scopes: a.scopes.into_iter().map(|s| Text(own(s.0))).collect(),
                expires_at: a.expires_at,
                metadata: a.metadata,
                is_default: a.is_default,
                over_ssh: a.over_ssh,
                created_at: a.created_at,
                updated_at: a.updated_at,
            },
            provider_name: own(self.provider_name),
            status: self.status,
            status_reason: self.status_reason.map(own),
            expires_in: self.expires_in,
            can_refresh: self.can_refresh,
            can_revoke: self.can_revoke,
            mcp_server: self.mcp_server,
        }
    }
}

/// "in 42 min", "3 h ago", "never": a coarse, readable distance to an expiry.
pub fn relative(expires_in: Option<i64>) -> String {
    let Some(secs) = expires_in else {
        return "never".into();
    };
    let abs = secs.unsigned_abs();
    let amount = match abs {
        0..=59 => format!("{abs} s"),
        60..=3599 => format!("{} min", abs / 60),
        3600..=172_799 => format!("{} h", abs / 3600),
        _ => format!("{} days", abs / 86_400),
    };
    if secs > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// A catalog entry as the interfaces show it: what it is called, whether it is ready, and what the
/// user needs to set it up (where to register an app, which redirect URI to give).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "Provider"))]
pub struct ProviderSummary<'a> {
    pub id: &'a str,
    pub display_name: &'a str,
    pub set_up: bool,
    pub builtin: bool,
    pub redirect: RedirectKind,
    /// The redirect URI to register with the provider.
    pub redirect_uri: &'static str,
    pub registration_url: Option<&'a str>,
    /// Whether the provider wants a client secret even from a desktop app.
    pub wants_client_secret: bool,
    /// Per-connection values (tenant, shop, …) asked for when connecting.
    pub variables: &'a BTreeMap<String, Variable>,
}

impl<'a> From<&'a Provider> for ProviderSummary<'a> {
    fn from(p: &'a Provider) -> Self {
        Self {
            id: &p.id,
            display_name: &p.display_name,
            set_up: p.is_set_up(),
            builtin: p.builtin,
            redirect: p.redirect,
            redirect_uri: match p.redirect {
                RedirectKind::Loopback => crate::redirect::loopback::REGISTERED_REDIRECT_URI,
                RedirectKind::DeepLink => crate::redirect::deep_link::REDIRECT_URI,
            },
            registration_url: p.registration_url.as_deref(),
            wants_client_secret: p.wants_client_secret(),
            variables: &p.variables,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(None), "never");
        assert_eq!(relative(Some(30)), "in 30 s");
        assert_eq!(relative(Some(2520)), "in 42 min");
        assert_eq!(relative(Some(-7200)), "2 h ago");
        assert_eq!(relative(Some(3 * 86_400)), "in 3 days");
    }

    #[test]
    fn an_account_read_whole_or_listed_from_the_file_shows_the_same() {
        use crate::store::accounts::Lifecycle;
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::store::account_file::AccountStore::new(dir.path().join("accounts.json"), dir.path());
        let mut busy = crate::store::accounts::tests::account("x-1", "x", "n\u{1b}q\"");
        busy.scopes = vec!["read".into(), "wr\\ite".into()];
        busy.metadata
            .insert("instance_url".into(), "https://i.example".into());
        busy.is_default = true;
        busy.over_ssh = true;
        busy.expires_at = Some(500);
        busy.has_refresh_token = false;
        let mut ended = crate::store::accounts::tests::account("x-2", "x", "m");
        ended.lifecycle = Lifecycle::NeedsReconnect {
            reason: "refused".into(),
        };
        store
            .update(|all| {
                all.extend([busy, ended]);
                Ok(())
            })
            .unwrap();
        let catalog = Catalog::builtin().unwrap();
        let whole: Vec<serde_json::Value> = store
            .load()
            .unwrap()
            .iter()
            .map(|a| serde_json::to_value(AccountSummary::new(a, &catalog, 1000)).unwrap())
            .collect();
        let bytes = store.read_bytes().unwrap();
        let listed: Vec<serde_json::Value> = store
            .listing(&bytes)
            .unwrap()
            .into_iter()
            .map(|a| serde_json::to_value(AccountSummary::listed(a, &catalog, 1000).into_owned()).unwrap())
            .collect();
        assert_eq!(whole, listed);
        assert_eq!(whole[0]["status"], "needs_reconnect", "{whole:?}");
        assert_eq!(whole[1]["status_reason"], "refused");
    }

    #[test]
    fn summary_has_no_secret_fields() {
        let account = crate::store::accounts::tests::account("x-1", "x", "n");
        let catalog = Catalog::builtin().unwrap();
        let json = serde_json::to_value(AccountSummary::new(&account, &catalog, 0)).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        for k in keys {
            assert!(!k.contains("token") && !k.contains("secret"), "{k}");
        }
        assert_eq!(json["status"], "ok");
        assert_eq!(json["id"], "x-1", "the account's fields are at the top level");
        for internal in [
            "lifecycle",
            "connection",
            "token_obtained_at",
            "has_refresh_token",
        ] {
            assert!(
                json.get(internal).is_none(),
                "{internal} is not for the interfaces"
            );
        }
    }
}

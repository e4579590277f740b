//! What the user interfaces show: account and provider summaries (metadata only, never a
//! secret), relative times, and the catalog in words (`matrix`). The CLI's `--json` output and the
//! desktop app's commands both serialize these, so they cannot drift apart; the window's
//! TypeScript types are generated from them (feature `ts`).

pub mod exec_credential;
mod matrix;
pub mod token_format;

pub use matrix::{support_matrix, variables_text};

use crate::catalog::{Catalog, Provider, RedirectKind, Variable};
pub use crate::model::AccountSummary;

use crate::model::summary::Status;
use crate::store::account_file::ListedAccount;
use crate::store::accounts::Account;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Made here, from the stored account (or the file's listing) and the catalog.
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
        let status = Status::of(
            &account.lifecycle,
            account.expires_at,
            account.token_obtained_at,
            account.has_refresh_token,
            now,
        );
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
            mcp_server: entry.is_some_and(|p| p.quirks.resource.is_some()),
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
/// user needs to set it up (where to register an app, which redirect URI to give). Owned: the
/// window's commands return it after the catalog they read it from is gone, and a catalog holds
/// tens of entries, not thousands.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "Provider"))]
pub struct ProviderSummary {
    pub id: String,
    pub display_name: String,
    pub set_up: bool,
    pub builtin: bool,
    pub redirect: RedirectKind,
    /// The redirect URI to register with the provider.
    pub redirect_uri: &'static str,
    pub registration_url: Option<String>,
    /// Whether the provider wants a client secret even from a desktop app.
    pub wants_client_secret: bool,
    /// Per-connection values (tenant, shop, …) asked for when connecting.
    pub variables: BTreeMap<String, Variable>,
}

impl From<&Provider> for ProviderSummary {
    fn from(p: &Provider) -> Self {
        Self {
            id: p.id.to_string(),
            display_name: p.display_name.clone(),
            set_up: p.is_set_up(),
            builtin: p.builtin,
            redirect: p.redirect,
            redirect_uri: match p.redirect {
                RedirectKind::Loopback => crate::redirect::loopback::REGISTERED_REDIRECT_URI,
                RedirectKind::DeepLink => crate::redirect::deep_link::REDIRECT_URI,
            },
            registration_url: p.registration_url.clone(),
            wants_client_secret: p.wants_client_secret(),
            variables: p.variables.clone(),
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

    /// Another machine's `keyport list` reads the agent's answer back into the same type: every
    /// field crosses, so its `--json` and its table are this machine's.
    #[test]
    fn a_summary_crosses_the_agents_socket_unchanged() {
        use crate::agent_link::protocol::Answer;
        let mut account = crate::store::accounts::tests::account("x-1", "x", "n\u{1b}q\"");
        account.scopes = vec!["read".into(), "wr\\ite".into()];
        account
            .metadata
            .insert("instance_url".into(), "https://i.example".into());
        account.over_ssh = true;
        let catalog = Catalog::builtin().unwrap();
        let sent = AccountSummary::new(&account, &catalog, 1000).into_owned();
        let json = serde_json::to_value(&sent).unwrap();
        let line = serde_json::to_string(&Answer::Accounts { accounts: vec![sent] }).unwrap();
        let Answer::Accounts { accounts } = serde_json::from_str(&line).unwrap() else {
            panic!("{line}")
        };
        assert_eq!(serde_json::to_value(&accounts[0]).unwrap(), json);
        assert_eq!(json.as_object().unwrap().len(), 17, "{json}");
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

//! What the user interfaces show of an account: metadata only, never a secret. The CLI's `--json`
//! output and the desktop app's commands both serialize this, so they cannot drift apart.

use crate::accounts::{Account, Lifecycle, ListedAccount, Status};
use crate::catalog::{Catalog, Provider, RedirectKind, RevocationStyle, TokenAuthMethod, Variable};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Borrowed from the account (or the account file's bytes) and the catalog where it can be;
/// [`AccountSummary::into_owned`] detaches it.
#[derive(Debug, Clone, Serialize)]
pub struct AccountSummary<'a> {
    pub id: Cow<'a, str>,
    pub provider: Cow<'a, str>,
    pub provider_name: Cow<'a, str>,
    pub nickname: Cow<'a, str>,
    pub status: Status,
    /// Why the account needs reconnecting, when it does.
    pub status_reason: Option<Cow<'a, str>>,
    /// Unix seconds; `null` for a token that does not expire.
    pub expires_at: Option<u64>,
    /// Seconds until expiry (negative once expired).
    pub expires_in: Option<i64>,
    pub scopes: Vec<Cow<'a, str>>,
    pub can_refresh: bool,
    pub can_revoke: bool,
    /// Non-secret fields the provider sent with the tokens (`keep_fields`), e.g. `instance_url`.
    pub metadata: BTreeMap<String, String>,
    pub created_at: u64,
    pub updated_at: u64,
}

impl<'a> AccountSummary<'a> {
    pub fn new(account: &'a Account, catalog: &'a Catalog, now: u64) -> Self {
        Self::listed(ListedAccount::from(account), catalog, now)
    }

    pub fn listed(account: ListedAccount<'a>, catalog: &'a Catalog, now: u64) -> Self {
        let provider_name = match catalog.get(&account.provider) {
            Ok(p) => Cow::Borrowed(p.display_name.as_str()),
            Err(_) => account.provider.clone(),
        };
        let status = account.status(now);
        let status_reason = match (&account.lifecycle, status) {
            (Lifecycle::NeedsReconnect { reason }, _) => Some(Cow::Owned(reason.clone())),
            (_, Status::NeedsReconnect) => {
                Some(Cow::Borrowed("the access token expired and cannot be refreshed"))
            }
            _ => None,
        };
        let can_revoke = account.can_revoke();
        Self {
            id: account.id,
            provider: account.provider,
            provider_name,
            nickname: account.nickname,
            status,
            status_reason,
            expires_at: account.expires_at,
            expires_in: account.expires_at.map(|e| e as i64 - now as i64),
            scopes: account.scopes,
            can_refresh: account.has_refresh_token,
            can_revoke,
            metadata: account.metadata,
            created_at: account.created_at,
            updated_at: account.updated_at,
        }
    }

    pub fn into_owned(self) -> AccountSummary<'static> {
        let own = |c: Cow<'a, str>| Cow::Owned(c.into_owned());
        AccountSummary {
            id: own(self.id),
            provider: own(self.provider),
            provider_name: own(self.provider_name),
            nickname: own(self.nickname),
            status: self.status,
            status_reason: self.status_reason.map(own),
            expires_at: self.expires_at,
            expires_in: self.expires_in,
            scopes: self.scopes.into_iter().map(own).collect(),
            can_refresh: self.can_refresh,
            can_revoke: self.can_revoke,
            metadata: self.metadata,
            created_at: self.created_at,
            updated_at: self.updated_at,
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
                RedirectKind::Loopback => "http://127.0.0.1/callback",
                RedirectKind::DeepLink => crate::deep_link::REDIRECT_URI,
            },
            registration_url: p.registration_url.as_deref(),
            wants_client_secret: p.token_request_auth_method != TokenAuthMethod::None,
            variables: &p.variables,
        }
    }
}

/// What a provider asks for when connecting, e.g. "host (default gitlab.com), shop"; with
/// `code`, names and defaults are Markdown code.
pub fn variables_text(vars: &BTreeMap<String, Variable>, code: bool) -> String {
    let q = if code { "`" } else { "" };
    vars.iter()
        .map(|(k, v)| match &v.default {
            Some(d) => format!("{q}{k}{q} (default {q}{d}{q})"),
            None => format!("{q}{k}{q}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The README's support matrix, generated from the catalog so that it cannot drift from it.
pub fn support_matrix(catalog: &Catalog) -> String {
    let mut out = String::from(
        "| provider | id | PKCE | refresh | revocation | device code | nickname from | client secret | asks for |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let at = |u: &url::Url| format!("`{}{}`", u.host_str().unwrap_or(""), u.path());
    for p in catalog.iter() {
        let oidc = p.issuer.is_some();
        let refresh = match (p.refresh_tokens, &p.refresh_url) {
            (false, _) => "no".to_string(),
            (true, Some(u)) => format!("at {}", at(u)),
            (true, None) => "yes".to_string(),
        };
        let revocation = match (p.revocation, &p.revocation_url, oidc) {
            (RevocationStyle::None, _, _) | (_, None, false) => "none (local only)",
            (RevocationStyle::Bearer, _, _) => "bearer POST",
            (RevocationStyle::Rfc7009, Some(_), _) => "RFC 7009",
            (RevocationStyle::Rfc7009, None, true) => "if discovered",
        };
        let device = match (&p.device_authorization_url, oidc) {
            (Some(_), _) => "yes",
            (None, true) => "if discovered",
            (None, false) => "no",
        };
        let nickname = match (&p.userinfo_url, oidc) {
            (Some(u), _) if p.userinfo_query.is_some() => format!("GraphQL {}", at(u)),
            (Some(u), _) => at(u),
            (None, true) => "userinfo (discovered)".into(),
            (None, false) if p.user_path.is_some() => "token response".into(),
            (None, false) => "ID token, else the account id".into(),
        };
        let vars = variables_text(&p.variables, true);
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
            p.display_name,
            p.id,
            yes_no(p.pkce),
            refresh,
            revocation,
            device,
            nickname,
            match p.token_request_auth_method {
                TokenAuthMethod::None => "no",
                TokenAuthMethod::ClientSecretPost => "yes (post)",
                TokenAuthMethod::ClientSecretBasic => "yes (basic)",
            },
            if vars.is_empty() { "—" } else { &vars },
        ));
    }
    out
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
    fn summary_has_no_secret_fields() {
        let account = crate::accounts::tests::account("x-1", "x", "n");
        let catalog = Catalog::from_sources(None, "none").unwrap();
        let json = serde_json::to_value(AccountSummary::new(&account, &catalog, 0)).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        for k in keys {
            assert!(!k.contains("token") && !k.contains("secret"), "{k}");
        }
        assert_eq!(json["status"], "ok");
    }

    #[test]
    fn readme_support_matrix_is_the_generated_one() {
        let readme = include_str!("../../../README.md");
        let (start, end) = ("<!-- support-matrix:start -->\n", "<!-- support-matrix:end -->");
        let from = readme.find(start).expect("README has the matrix markers") + start.len();
        let to = readme[from..].find(end).expect("README closes the matrix") + from;
        let generated = support_matrix(&Catalog::from_sources(None, "none").unwrap());
        assert_eq!(
            &readme[from..to],
            generated,
            "README's support matrix is stale: regenerate it with `keyport providers --matrix`"
        );
    }
}

//! What a catalog entry holds once validated: a [`Provider`], its declared [`Quirks`], and the
//! small enums the catalog file spells in snake_case. The file format is documented in
//! `docs/providers.md`.

use super::endpoints::EndpointSet;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use url::Url;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenAuthMethod {
    /// A public client: only `client_id` in the body (the usual case for a desktop app with PKCE).
    #[default]
    None,
    ClientSecretPost,
    ClientSecretBasic,
}

/// Where the provider sends the browser back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RedirectKind {
    /// `http://127.0.0.1:<ephemeral port>/callback` (RFC 8252 §7.3).
    #[default]
    Loopback,
    /// `keyport://oauth/callback`, delivered to the desktop app by the OS.
    DeepLink,
}

/// How the token endpoint wants its request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenRequestFormat {
    /// `application/x-www-form-urlencoded`, as RFC 6749 says.
    #[default]
    Form,
    /// The same parameters as a JSON object (Notion, some Atlassian endpoints).
    Json,
}

/// How a grant is revoked at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RevocationStyle {
    /// RFC 7009: the token in a form, with the client's credentials.
    #[default]
    Rfc7009,
    /// A POST to `revocation_url` authorized with the access token itself and no body (Slack
    /// `auth.revoke`, Dropbox, Linear): it ends the grant that token belongs to.
    Bearer,
    /// The provider offers none (even if discovery names an endpoint): disconnect is local only.
    None,
}

/// A per-connection value written `{name}` in a provider's URLs: a tenant, a shop, a self-hosted
/// server. Asked for when connecting (`--var name=value`, or the app's Connect form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// What to type, in a few words ("Your shop's subdomain").
    pub description: String,
    /// Used when the user gives no value; without one, a value is required.
    pub default: Option<String>,
}

/// Nickname fields tried when a provider declares none: the OpenID Connect standard claims.
const DEFAULT_NICKNAME_FIELDS: &[&str] = &["email", "preferred_username", "login", "username", "name"];

/// How a provider deviates from plain OAuth 2.0 / OpenID Connect, as its catalog entry declares.
/// Stored with each account (in its [`crate::Connection`]), so a later catalog edit never changes
/// how an existing grant is refreshed or revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Quirks {
    /// Where the nickname is read in the user object, first match wins.
    pub nickname_fields: Vec<String>,
    /// Where the user object sits in the userinfo answer (`data.viewer`); nickname and subject
    /// fields are read below it.
    pub user_path: Option<String>,
    /// A GraphQL query: the user is looked up with a POST of `{"query": …}` (Linear).
    pub userinfo_query: Option<String>,
    pub revocation: RevocationStyle,
    pub token_request_format: TokenRequestFormat,
    /// A dot path to the object holding the tokens when they are not at the top of the token
    /// response (Slack's `authed_user`).
    pub token_path: Option<String>,
    /// Token-response fields kept with the account as metadata (Salesforce `instance_url`).
    pub keep_fields: Vec<String>,
    pub scope_separator: String,
    /// The authorization request parameter that carries the scopes (Slack's `user_scope`).
    pub scope_param: String,
    pub pkce: bool,
    pub authorization_params: BTreeMap<String, String>,
}

impl Default for Quirks {
    fn default() -> Self {
        Self {
            nickname_fields: DEFAULT_NICKNAME_FIELDS.iter().map(|s| s.to_string()).collect(),
            user_path: None,
            userinfo_query: None,
            revocation: RevocationStyle::default(),
            token_request_format: TokenRequestFormat::default(),
            token_path: None,
            keep_fields: Vec::new(),
            scope_separator: " ".into(),
            scope_param: "scope".into(),
            pkce: true,
            authorization_params: BTreeMap::new(),
        }
    }
}

/// How other programs use the provider's tokens, as its catalog entry declares: the user name git
/// expects beside a token (which also says that the provider serves git over HTTPS with them), and
/// the environment variable programs read it from. Stored with each account, like the quirks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Integration {
    /// `x-access-token` for GitHub, `oauth2` for GitLab, `x-token-auth` for Bitbucket.
    pub git_username: Option<String>,
    /// `GITHUB_TOKEN`, `GITLAB_TOKEN`, … for `keyport exec`.
    pub env_var: Option<String>,
}

/// A provider, validated and ready to use.
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub display_name: String,
    pub registration_url: Option<String>,
    /// The endpoints, checked (https, or http on loopback), with `{variables}` filled in: their
    /// defaults here, the user's values in [`Provider::with_variables`].
    pub urls: EndpointSet<Option<Url>>,
    pub quirks: Quirks,
    pub integration: Integration,
    pub scopes: Vec<String>,
    /// Whether the provider issues refresh tokens at all. For the support matrix: Keyport copes
    /// with a grant without one either way (the account needs a reconnect once it expires).
    pub refresh_tokens: bool,
    pub token_request_auth_method: TokenAuthMethod,
    pub redirect: RedirectKind,
    pub client_id: Option<String>,
    /// A client secret written in the catalog file. Desktop apps cannot keep secrets, so providers
    /// that insist on one (Google, GitHub) treat it as non-confidential; the keychain copy set with
    /// `keyport providers set-secret` wins when both exist.
    pub client_secret: Option<Secret>,
    /// Whether the entry comes from (or overrides) the built-in presets.
    pub builtin: bool,
    pub variables: BTreeMap<String, Variable>,
    /// The endpoint fields as written, `{variables}` included.
    pub(super) templates: EndpointSet<Option<String>>,
}

impl Provider {
    /// The variables the user must give: those without a default.
    pub fn required_variables(&self) -> impl Iterator<Item = (&String, &Variable)> {
        self.variables.iter().filter(|(_, v)| v.default.is_none())
    }

    pub fn is_set_up(&self) -> bool {
        self.client_id.as_deref().is_some_and(|c| !c.trim().is_empty())
    }

    /// Whether the client authenticates with a secret (then the keychain or the file has one).
    pub fn wants_client_secret(&self) -> bool {
        self.token_request_auth_method != TokenAuthMethod::None
    }
}

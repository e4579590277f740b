//! How a provider deviates from plain OAuth 2.0 / OpenID Connect ([`Quirks`]), how other programs
//! use its tokens ([`Integration`]), and the small enums the catalog file spells in snake_case.
//! The catalog declares them; each account's [`super::Connection`] keeps a copy, so they are plain
//! data that both stand on.

use super::AddressSpace;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn is_local(space: &AddressSpace) -> bool {
    *space == AddressSpace::Local
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenAuthMethod {
    /// A public client: only `client_id` in the body (the usual case for a desktop app with PKCE).
    #[default]
    None,
    ClientSecretPost,
    ClientSecretBasic,
    /// A JWT the client signs with its private key (RFC 7523 §2.2), kept in the keychain where a
    /// client secret would be: for machines that sign in with the client credentials grant.
    PrivateKeyJwt,
}

/// How an account gets its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GrantKind {
    /// A person signs in in the browser (or with a device code); refresh tokens renew it.
    #[default]
    AuthorizationCode,
    /// The client's own credentials, no person (RFC 6749 §4.4; MCP's SEP-1046 for machines and
    /// CI): a new token is asked for whenever the last one runs out.
    ClientCredentials,
    /// An identity assertion from the organization's identity provider (MCP's Enterprise-Managed
    /// Authorization, SEP-990): the ID token of the account `via` names is exchanged there for an
    /// ID-JAG (RFC 8693), which this server's authorization server takes for a token (the RFC 7523
    /// jwt-bearer grant). No browser per server; a new exchange when the token runs out.
    IdentityAssertion,
}

impl GrantKind {
    fn is_default(&self) -> bool {
        *self == GrantKind::AuthorizationCode
    }
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
    /// The RFC 8707 resource indicator, sent identically on the authorization, code-exchange and
    /// refresh requests: the MCP server the tokens are for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The MCP server URLs whose requests carry these tokens (`keyport mcp`): the one it was
    /// connected for, and any other whose own metadata named the same resource and the same
    /// authorization server. A resource may be a whole origin, so it cannot say this alone: a
    /// server that claims the origin's root must not have its tokens sent to its neighbours.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_urls: Vec<String>,
    /// The address space of the server that named these endpoints (an MCP server's metadata):
    /// they are reached only at addresses in it or a more public one, checked on the address
    /// each name resolves to. `local` (the default) reaches anything.
    #[serde(default, skip_serializing_if = "is_local")]
    pub address_space: AddressSpace,
    /// How tokens are had: with a person, or with the client's credentials alone.
    #[serde(skip_serializing_if = "GrantKind::is_default")]
    pub grant: GrantKind,
    /// With the identity assertion grant: the account at the organization's identity provider
    /// whose ID token is exchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Or, with an ID token obtained elsewhere (kept in the keychain): the identity provider's
    /// token endpoint and Keyport's client id there, for the exchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp_token_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp_client_id: Option<String>,
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
            resource: None,
            mcp_urls: Vec::new(),
            address_space: AddressSpace::Local,
            grant: GrantKind::default(),
            via: None,
            idp_token_url: None,
            idp_client_id: None,
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
    /// Where git is served when it is not at the sign-in's own origin (scheme, host and port of
    /// the authorization endpoint): tokens go to exactly one origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_url: Option<url::Url>,
}

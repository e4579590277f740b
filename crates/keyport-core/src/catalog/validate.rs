//! From a catalog entry as written ([`ProviderSpec`]) to a checked [`Provider`]: ids, variables,
//! endpoints (https, or http on loopback), and quirk fields that must make sense together.

use super::schema::{Provider, RedirectKind, Variable};
use super::variables::{endpoint_urls, valid_value};
use crate::model::{AddressSpace, EndpointSet, ProviderId};
use crate::model::{GrantKind, Integration, Quirks, RevocationStyle, TokenAuthMethod, TokenRequestFormat};
use crate::secret::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One provider as written in a catalog file, without its endpoint fields (read separately into
/// an [`EndpointSet`]). Unknown fields are an error, so typos are caught.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProviderSpec {
    display_name: Option<String>,
    registration_url: Option<String>,
    #[serde(default)]
    variables: BTreeMap<String, Variable>,
    nickname_fields: Option<Vec<String>>,
    user_path: Option<String>,
    userinfo_query: Option<String>,
    #[serde(default)]
    revocation: RevocationStyle,
    #[serde(default)]
    token_request_format: TokenRequestFormat,
    token_path: Option<String>,
    #[serde(default)]
    keep_fields: Vec<String>,
    scope_param: Option<String>,
    refresh_tokens: Option<bool>,
    #[serde(default)]
    scopes: Vec<String>,
    scope_separator: Option<String>,
    pkce: Option<bool>,
    #[serde(default)]
    token_request_auth_method: TokenAuthMethod,
    #[serde(default)]
    authorization_params: BTreeMap<String, String>,
    #[serde(default)]
    redirect: RedirectKind,
    client_id: Option<String>,
    client_secret: Option<String>,
    git_username: Option<String>,
    git_url: Option<String>,
    resource: Option<String>,
    #[serde(default)]
    mcp_urls: Vec<String>,
    #[serde(default)]
    address_space: AddressSpace,
    env_var: Option<String>,
    #[serde(default)]
    grant: GrantKind,
    via: Option<String>,
    idp_token_url: Option<String>,
    idp_client_id: Option<String>,
}

/// Token-response fields that hold secrets: never kept as metadata, which is not secret.
const SECRET_FIELDS: [&str; 3] = ["access_token", "refresh_token", "id_token"];

pub(super) fn validate(
    id: &str,
    spec: ProviderSpec,
    templates: EndpointSet<Option<String>>,
    builtin: bool,
) -> std::result::Result<Provider, String> {
    let valid_id = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid_id {
        return Err(format!(
            "provider id \"{id}\" may hold only a-z, 0-9, '-' and '_'"
        ));
    }
    if templates.issuer.is_none() && (templates.authorization_url.is_none() || templates.token_url.is_none())
    {
        return Err(format!(
            "provider \"{id}\" needs either `issuer` (OpenID Connect discovery) or both `authorization_url` and `token_url`"
        ));
    }
    for (name, var) in &spec.variables {
        let valid_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        if !valid_name {
            return Err(format!(
                "provider \"{id}\": variable name \"{name}\" may hold only a-z and '_'"
            ));
        }
        if let Some(d) = var.default.as_deref().filter(|d| !valid_value(d)) {
            return Err(format!(
                "provider \"{id}\": the default of {name} (\"{d}\") is not a valid value"
            ));
        }
    }
    // Checked with the defaults, and a sample value where there is none: a name, or a number for
    // a variable that stands for a port. The real values are checked again at connect.
    let with_sample = |sample: &str| -> BTreeMap<String, String> {
        spec.variables
            .iter()
            .map(|(k, v)| (k.clone(), v.default.clone().unwrap_or_else(|| sample.into())))
            .collect()
    };
    let space = spec.address_space;
    let urls = endpoint_urls(&templates, &with_sample("example"), space)
        .or_else(|first| endpoint_urls(&templates, &with_sample("1"), space).map_err(|_| first))
        .map_err(|m| format!("provider \"{id}\": {m}"))?;
    check_quirks(&spec, &templates).map_err(|m| format!("provider \"{id}\": {m}"))?;

    check_integration(&spec).map_err(|m| format!("provider \"{id}\": {m}"))?;
    let defaults = Quirks::default();
    let quirks = Quirks {
        nickname_fields: spec.nickname_fields.unwrap_or(defaults.nickname_fields),
        user_path: spec.user_path,
        userinfo_query: spec.userinfo_query,
        revocation: spec.revocation,
        token_request_format: spec.token_request_format,
        token_path: spec.token_path,
        keep_fields: spec.keep_fields,
        scope_separator: spec.scope_separator.unwrap_or(defaults.scope_separator),
        scope_param: spec.scope_param.unwrap_or(defaults.scope_param),
        pkce: spec.pkce.unwrap_or(defaults.pkce),
        authorization_params: spec.authorization_params,
        resource: spec.resource.as_deref().map(resource_indicator).transpose()?,
        address_space: spec.address_space,
        mcp_urls: spec
            .mcp_urls
            .iter()
            .map(|u| mcp_url(u))
            .collect::<std::result::Result<_, _>>()?,
        grant: spec.grant,
        via: spec.via.clone(),
        idp_token_url: spec.idp_token_url.clone(),
        idp_client_id: spec.idp_client_id.clone(),
    };
    Ok(Provider {
        id: ProviderId::new(id),
        // An MCP server's entry carries the name the server gave itself, and a file written
        // before those names were made safe may hold its escapes: they never leave the catalog.
        display_name: spec
            .display_name
            .map(|name| crate::text::strip_controls(&name))
            .unwrap_or_else(|| id.to_string()),
        registration_url: spec.registration_url,
        urls,
        quirks,
        integration: Integration {
            git_url: spec.git_url.as_deref().map(git_origin).transpose()?,
            git_username: spec.git_username,
            env_var: spec.env_var,
        },
        scopes: spec.scopes,
        refresh_tokens: spec.refresh_tokens.unwrap_or(true),
        token_request_auth_method: spec.token_request_auth_method,
        redirect: spec.redirect,
        client_id: spec.client_id.filter(|c| !c.trim().is_empty()),
        client_secret: spec.client_secret.filter(|c| !c.is_empty()).map(Secret::new),
        builtin,
        variables: spec.variables,
        templates,
    })
}

/// `resource` as RFC 8707 wants it: an absolute https URL (or http on loopback) without a
/// fragment.
fn resource_indicator(text: &str) -> std::result::Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("`resource` \"{text}\": {e}"))?;
    crate::model::check_endpoint(&url).map_err(|m| format!("`resource`: {m}"))?;
    if url.fragment().is_some() {
        return Err(format!("`resource` \"{text}\" may not have a fragment"));
    }
    Ok(text.to_string())
}

/// An MCP server's URL in `mcp_urls`: checked as an endpoint is (https, or http on loopback),
/// without a fragment.
fn mcp_url(text: &str) -> std::result::Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("`mcp_urls` \"{text}\": {e}"))?;
    crate::model::check_endpoint(&url).map_err(|m| format!("`mcp_urls`: {m}"))?;
    if url.fragment().is_some() {
        return Err(format!("`mcp_urls` \"{text}\" may not have a fragment"));
    }
    Ok(text.to_string())
}

/// `git_url` as the origin git is served at: https (or http on loopback), nothing but the origin.
fn git_origin(text: &str) -> std::result::Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("`git_url` \"{text}\": {e}"))?;
    crate::model::check_endpoint(&url).map_err(|m| format!("`git_url`: {m}"))?;
    if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
        return Err(format!(
            "`git_url` \"{text}\" must be an origin only (scheme, host and port), such as https://git.example.com"
        ));
    }
    Ok(url)
}

/// An environment variable name as shells and `env` accept it; a git user name git can send.
fn check_integration(spec: &ProviderSpec) -> std::result::Result<(), String> {
    if let Some(name) = &spec.env_var {
        let mut chars = name.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_uppercase() || c == '_');
        if !first_ok || !chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
            return Err(format!(
                "`env_var` \"{name}\" is not an environment variable name (A-Z, 0-9, _)"
            ));
        }
    }
    if let Some(user) = &spec.git_username {
        if user.is_empty()
            || user
                .chars()
                .any(|c| c.is_control() || c == ':' || c == '@' || c == '/')
        {
            return Err(format!(
                "`git_username` \"{user}\" is not a user name git can send"
            ));
        }
    }
    Ok(())
}

/// The quirk fields must make sense together, and must not turn a secret into metadata.
fn check_quirks(spec: &ProviderSpec, urls: &EndpointSet<Option<String>>) -> std::result::Result<(), String> {
    let valid_path = |p: &str| !p.is_empty() && p.split('.').all(|k| !k.is_empty());
    match (spec.revocation, &urls.revocation_url) {
        (RevocationStyle::None, Some(_)) => {
            return Err("`revocation = \"none\"` contradicts its `revocation_url`".into())
        }
        (RevocationStyle::Bearer, None) if urls.issuer.is_none() => {
            return Err("`revocation = \"bearer\"` needs a `revocation_url`".into())
        }
        _ => {}
    }
    if !spec.mcp_urls.is_empty() && spec.resource.is_none() {
        return Err(
            "`mcp_urls` names where an MCP server's tokens go: it needs the `resource` they are for".into(),
        );
    }
    if spec.grant == GrantKind::ClientCredentials
        && (spec.client_id.is_none() || spec.token_request_auth_method == TokenAuthMethod::None)
    {
        return Err(
            "`grant = \"client_credentials\"` needs a `client_id` and a `token_request_auth_method` \
             that authenticates it (client_secret_basic, client_secret_post or private_key_jwt)"
                .into(),
        );
    }
    let elsewhere = spec.idp_token_url.is_some() && spec.idp_client_id.is_some();
    if spec.idp_token_url.is_some() != spec.idp_client_id.is_some() {
        return Err("`idp_token_url` and `idp_client_id` go together".into());
    }
    if let Some(url) = &spec.idp_token_url {
        let parsed = url::Url::parse(url).map_err(|e| format!("`idp_token_url` \"{url}\": {e}"))?;
        crate::model::check_endpoint(&parsed).map_err(|m| format!("`idp_token_url`: {m}"))?;
    }
    if (spec.grant == GrantKind::IdentityAssertion) != (spec.via.is_some() || elsewhere)
        || (spec.via.is_some() && elsewhere)
    {
        return Err(
            "`grant = \"identity_assertion\"` goes with either `via` (the identity provider's account) or \
             `idp_token_url` and `idp_client_id` (an ID token given from elsewhere)"
                .into(),
        );
    }
    if spec.grant == GrantKind::IdentityAssertion && spec.client_id.is_none() {
        return Err("`grant = \"identity_assertion\"` needs the client's `client_id` at this server".into());
    }
    if spec.token_request_auth_method == TokenAuthMethod::PrivateKeyJwt && spec.client_secret.is_some() {
        return Err(
            "`private_key_jwt` signs with a private key kept in the keychain, not a `client_secret`".into(),
        );
    }
    for field in &spec.keep_fields {
        if !valid_path(field) {
            return Err(format!("`keep_fields` has an empty path: \"{field}\""));
        }
        if field.split('.').any(|k| SECRET_FIELDS.contains(&k)) {
            return Err(format!(
                "`keep_fields` may not keep \"{field}\": tokens stay in the keychain"
            ));
        }
    }
    for (name, path) in [("token_path", &spec.token_path), ("user_path", &spec.user_path)] {
        if path.as_deref().is_some_and(|p| !valid_path(p)) {
            return Err(format!("`{name}` is not a dot path"));
        }
    }
    if spec.userinfo_query.is_some() && urls.userinfo_url.is_none() && urls.issuer.is_none() {
        return Err("`userinfo_query` needs a `userinfo_url` (the GraphQL endpoint)".into());
    }
    if spec
        .scope_param
        .as_deref()
        .is_some_and(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err("`scope_param` must be a parameter name".into());
    }
    Ok(())
}

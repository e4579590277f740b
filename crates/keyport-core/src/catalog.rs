//! The provider catalog: which OAuth 2.0 / OpenID Connect providers Keyport knows and how to talk to
//! each. It is data, not code: built-in presets ship embedded (`catalog/providers.toml`), and the
//! user's `providers.toml` adds providers or overrides single fields of built-in ones (typically just
//! `client_id`). The format is documented in `docs/providers.md`.

use crate::error::{Error, Result};
use crate::http::check_endpoint;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use url::Url;

const BUILTIN: &str = include_str!("../catalog/providers.toml");

/// Nickname fields tried when a provider declares none: the OpenID Connect standard claims.
const DEFAULT_NICKNAME_FIELDS: &[&str] = &["email", "preferred_username", "login", "username", "name"];

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
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// What to type, in a few words ("Your shop's subdomain").
    pub description: String,
    /// Used when the user gives no value; without one, a value is required.
    pub default: Option<String>,
}

/// One provider as written in a catalog file. Unknown fields are an error, so typos are caught.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderSpec {
    display_name: Option<String>,
    registration_url: Option<String>,
    issuer: Option<String>,
    authorization_url: Option<String>,
    token_url: Option<String>,
    revocation_url: Option<String>,
    userinfo_url: Option<String>,
    refresh_url: Option<String>,
    device_authorization_url: Option<String>,
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
}

/// A provider, validated and ready to use.
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub display_name: String,
    pub registration_url: Option<String>,
    /// OpenID Connect issuer: its discovery document fills any endpoint not given explicitly.
    pub issuer: Option<Url>,
    pub authorization_url: Option<Url>,
    pub token_url: Option<Url>,
    pub revocation_url: Option<Url>,
    pub userinfo_url: Option<Url>,
    /// Where refreshes go, when not to `token_url` (Figma).
    pub refresh_url: Option<Url>,
    /// RFC 8628 device authorization endpoint: sign-in by code, on another device.
    pub device_authorization_url: Option<Url>,
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
    pub scopes: Vec<String>,
    pub scope_separator: String,
    /// The authorization request parameter that carries the scopes (Slack's `user_scope`).
    pub scope_param: String,
    /// Whether the provider issues refresh tokens at all. For the support matrix: Keyport copes
    /// with a grant without one either way (the account needs a reconnect once it expires).
    pub refresh_tokens: bool,
    pub pkce: bool,
    pub token_request_auth_method: TokenAuthMethod,
    pub authorization_params: BTreeMap<String, String>,
    pub redirect: RedirectKind,
    pub client_id: Option<String>,
    /// A client secret written in the catalog file. Desktop apps cannot keep secrets, so providers
    /// that insist on one (Google, GitHub) treat it as non-confidential; the keychain copy set with
    /// `keyport providers set-secret` wins when both exist.
    pub client_secret: Option<Secret>,
    /// Whether the entry comes from (or overrides) the built-in presets.
    pub builtin: bool,
    pub variables: BTreeMap<String, Variable>,
    /// The endpoint fields as written, `{variables}` included; the `Url` fields above hold them
    /// with the defaults filled in (or a placeholder, for checking, where there is no default).
    templates: Templates,
}

/// The URL fields that may hold `{variables}`, in [`URL_FIELDS`] order.
type Templates = [Option<String>; 7];
type Urls = [Option<Url>; 7];
const URL_FIELDS: [&str; 7] = [
    "issuer",
    "authorization_url",
    "token_url",
    "revocation_url",
    "userinfo_url",
    "refresh_url",
    "device_authorization_url",
];

/// Token-response fields that hold secrets: never kept as metadata, which is not secret.
const SECRET_FIELDS: [&str; 3] = ["access_token", "refresh_token", "id_token"];

/// A value for a variable must stay inside the URL part it was written in: no `/`, `?`, `@`, `:`
/// or `#` that could move the request to another host or path.
fn valid_value(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 253
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// `template` with each `{name}` replaced by its value; an unknown name is an error.
fn substitute(template: &str, values: &BTreeMap<String, String>) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            return Err(format!("unclosed '{{' in {template}"));
        };
        let name = &rest[start + 1..start + len];
        let value = values.get(name).ok_or_else(|| {
            format!("{template} uses {{{name}}}, which is not among the provider's `variables`")
        })?;
        out.push_str(&rest[..start]);
        out.push_str(value);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The endpoint fields, substituted and checked (https, or http on loopback).
fn endpoint_urls(
    templates: &Templates,
    values: &BTreeMap<String, String>,
) -> std::result::Result<Urls, String> {
    let mut urls: Urls = Default::default();
    for (i, template) in templates.iter().enumerate() {
        let Some(template) = template else { continue };
        let text = substitute(template, values)?;
        let url =
            Url::parse(&text).map_err(|e| format!("`{}` is not a valid URL ({e}): {text}", URL_FIELDS[i]))?;
        check_endpoint(&url)?;
        urls[i] = Some(url);
    }
    Ok(urls)
}

impl Provider {
    /// The variables the user must give: those without a default.
    pub fn required_variables(&self) -> impl Iterator<Item = (&String, &Variable)> {
        self.variables.iter().filter(|(_, v)| v.default.is_none())
    }

    /// This provider for one connection: `given` values (else the defaults) substituted into its
    /// endpoints. Unknown names, missing values and values that could change the URL's structure
    /// are refused.
    pub fn with_variables(&self, given: &BTreeMap<String, String>) -> Result<Provider> {
        let mut values = BTreeMap::new();
        for (name, value) in given {
            if !self.variables.contains_key(name) {
                let known: Vec<&str> = self.variables.keys().map(String::as_str).collect();
                return Err(Error::Usage(if known.is_empty() {
                    format!("{} takes no variables (got \"{name}\")", self.display_name)
                } else {
                    format!(
                        "{} has no variable \"{name}\"; it has: {}",
                        self.display_name,
                        known.join(", ")
                    )
                }));
            }
            if !valid_value(value) {
                return Err(Error::Usage(format!(
                    "the value of {name} may hold only letters, digits, '.', '-' and '_' (got \"{value}\")"
                )));
            }
            values.insert(name.clone(), value.clone());
        }
        for (name, var) in &self.variables {
            if values.contains_key(name) {
                continue;
            }
            match &var.default {
                Some(d) => {
                    values.insert(name.clone(), d.clone());
                }
                None => {
                    return Err(Error::Usage(format!(
                        "{} needs {name} ({}): pass --var {name}=VALUE",
                        self.display_name, var.description
                    )))
                }
            }
        }
        let urls = endpoint_urls(&self.templates, &values)
            .map_err(|m| Error::Usage(format!("{}: {m}", self.display_name)))?;
        Ok(self.clone().with_urls(urls))
    }

    fn with_urls(self, urls: Urls) -> Provider {
        let [issuer, authorization_url, token_url, revocation_url, userinfo_url, refresh_url, device_authorization_url] =
            urls;
        Provider {
            issuer,
            authorization_url,
            token_url,
            revocation_url,
            userinfo_url,
            refresh_url,
            device_authorization_url,
            ..self
        }
    }

    pub fn is_set_up(&self) -> bool {
        self.client_id.as_deref().is_some_and(|c| !c.trim().is_empty())
    }
}

#[derive(Debug, Clone)]
pub struct Catalog {
    providers: BTreeMap<String, Provider>,
}

impl Catalog {
    /// Edits the user's file: `change` gets the catalog as the file makes it now, and the file's
    /// `[providers]` table. The rest of the file is kept as it was (comments included), and the
    /// edited text must load as a catalog before it replaces the file. Returns that catalog.
    pub fn edit_user_file(
        user_file: &Path,
        change: impl FnOnce(&Catalog, &mut toml_edit::Table) -> Result<()>,
    ) -> Result<Catalog> {
        let text = match std::fs::read_to_string(user_file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io("read", user_file, e)),
        };
        let name = user_file.display().to_string();
        let before = Self::from_sources(Some(&text), &name)?;
        let mut doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| catalog_error(&name, e.message().to_string()))?;
        let providers = doc
            .entry("providers")
            .or_insert_with(|| toml_edit::Item::Table(implicit_table()))
            .as_table_mut()
            .ok_or_else(|| catalog_error(&name, "`providers` must be a table".into()))?;
        change(&before, providers)?;
        let edited = doc.to_string();
        let after = Self::from_sources(Some(&edited), &name)?;
        crate::atomic_file::replace(user_file, edited.as_bytes())?;
        Ok(after)
    }

    /// Sets `client_id` of provider `id` in the user's file (see [`Catalog::edit_user_file`]).
    pub fn set_client_id(user_file: &Path, id: &str, client_id: &str) -> Result<Catalog> {
        let client_id = client_id.trim();
        if client_id.is_empty() || client_id.chars().any(char::is_control) {
            return Err(Error::Usage(
                "the client id is empty or has control characters".into(),
            ));
        }
        let name = user_file.display().to_string();
        Self::edit_user_file(user_file, |catalog, providers| {
            catalog.get(id)?;
            providers
                .entry(id)
                .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
                .as_table_mut()
                .ok_or_else(|| catalog_error(&name, format!("[providers.{id}] must be a table")))?
                .insert("client_id", toml_edit::value(client_id));
            Ok(())
        })
    }

    /// The built-in presets merged with the user's file at `user_file`, if it exists.
    pub fn load(user_file: &Path) -> Result<Self> {
        let user = match std::fs::read_to_string(user_file) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("read", user_file, e)),
        };
        Self::from_sources(user.as_deref(), &user_file.display().to_string())
    }

    /// The built-in presets merged with user catalog text. `user_name` names it in errors.
    pub fn from_sources(user: Option<&str>, user_name: &str) -> Result<Self> {
        let builtin = providers_table(BUILTIN, "the built-in catalog")?;
        let user = match user {
            Some(text) => providers_table(text, user_name)?,
            None => toml::Table::new(),
        };
        let mut providers = BTreeMap::new();
        let ids: std::collections::BTreeSet<&String> = builtin.keys().chain(user.keys()).collect();
        for id in ids {
            let mut table = match builtin.get(id) {
                Some(toml::Value::Table(t)) => t.clone(),
                _ => toml::Table::new(),
            };
            let source = if user.contains_key(id) {
                user_name
            } else {
                "the built-in catalog"
            };
            match user.get(id) {
                Some(toml::Value::Table(overrides)) => table.extend(overrides.clone()),
                Some(_) => {
                    return Err(catalog_error(
                        user_name,
                        format!("[providers.{id}] must be a table"),
                    ))
                }
                None => {}
            }
            let spec: ProviderSpec = toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    catalog_error(source, format!("provider \"{id}\": {}", e.message()))
                })?;
            let provider =
                validate(id, spec, builtin.contains_key(id)).map_err(|m| catalog_error(source, m))?;
            providers.insert(id.clone(), provider);
        }
        Ok(Self { providers })
    }

    pub fn get(&self, id: &str) -> Result<&Provider> {
        self.providers
            .get(id)
            .ok_or_else(|| Error::UnknownProvider(id.to_string()))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Provider> {
        self.providers.values()
    }
}

fn catalog_error(path: &str, message: String) -> Error {
    Error::Catalog {
        path: path.to_string(),
        message,
    }
}

fn providers_table(text: &str, name: &str) -> Result<toml::Table> {
    let mut doc: toml::Table = toml::from_str(text).map_err(|e| catalog_error(name, e.to_string()))?;
    if let Some(key) = doc.keys().find(|k| *k != "providers") {
        return Err(catalog_error(
            name,
            format!("unknown top-level key \"{key}\"; expected [providers.<id>] tables"),
        ));
    }
    match doc.remove("providers") {
        Some(toml::Value::Table(t)) => Ok(t),
        Some(_) => Err(catalog_error(name, "\"providers\" must be a table".into())),
        None => Ok(toml::Table::new()),
    }
}

fn validate(id: &str, spec: ProviderSpec, builtin: bool) -> std::result::Result<Provider, String> {
    let valid_id = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid_id {
        return Err(format!(
            "provider id \"{id}\" may hold only a-z, 0-9, '-' and '_'"
        ));
    }
    if spec.issuer.is_none() && (spec.authorization_url.is_none() || spec.token_url.is_none()) {
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
    let templates: Templates = [
        spec.issuer.clone(),
        spec.authorization_url.clone(),
        spec.token_url.clone(),
        spec.revocation_url.clone(),
        spec.userinfo_url.clone(),
        spec.refresh_url.clone(),
        spec.device_authorization_url.clone(),
    ];
    // Checked with the defaults, and a sample value where there is none: a name, or a number for
    // a variable that stands for a port. The real values are checked again at connect.
    let with_sample = |sample: &str| -> BTreeMap<String, String> {
        spec.variables
            .iter()
            .map(|(k, v)| (k.clone(), v.default.clone().unwrap_or_else(|| sample.into())))
            .collect()
    };
    let urls = endpoint_urls(&templates, &with_sample("example"))
        .or_else(|first| endpoint_urls(&templates, &with_sample("1")).map_err(|_| first))
        .map_err(|m| format!("provider \"{id}\": {m}"))?;
    check_quirks(&spec).map_err(|m| format!("provider \"{id}\": {m}"))?;
    if spec.redirect == RedirectKind::DeepLink && spec.token_request_auth_method != TokenAuthMethod::None {
        tracing::debug!(provider = id, "deep-link redirect with a confidential client");
    }
    let nickname_fields = spec
        .nickname_fields
        .unwrap_or_else(|| DEFAULT_NICKNAME_FIELDS.iter().map(|s| s.to_string()).collect());
    let provider = Provider {
        id: id.to_string(),
        display_name: spec.display_name.unwrap_or_else(|| id.to_string()),
        registration_url: spec.registration_url,
        issuer: None,
        authorization_url: None,
        token_url: None,
        revocation_url: None,
        userinfo_url: None,
        refresh_url: None,
        device_authorization_url: None,
        nickname_fields,
        user_path: spec.user_path,
        userinfo_query: spec.userinfo_query,
        revocation: spec.revocation,
        token_request_format: spec.token_request_format,
        token_path: spec.token_path,
        keep_fields: spec.keep_fields,
        scopes: spec.scopes,
        scope_separator: spec.scope_separator.unwrap_or_else(|| " ".into()),
        scope_param: spec.scope_param.unwrap_or_else(|| "scope".into()),
        refresh_tokens: spec.refresh_tokens.unwrap_or(true),
        pkce: spec.pkce.unwrap_or(true),
        token_request_auth_method: spec.token_request_auth_method,
        authorization_params: spec.authorization_params,
        redirect: spec.redirect,
        client_id: spec.client_id.filter(|c| !c.trim().is_empty()),
        client_secret: spec.client_secret.filter(|c| !c.is_empty()).map(Secret::new),
        builtin,
        variables: spec.variables,
        templates,
    };
    Ok(provider.with_urls(urls))
}

/// The quirk fields must make sense together, and must not turn a secret into metadata.
fn check_quirks(spec: &ProviderSpec) -> std::result::Result<(), String> {
    let valid_path = |p: &str| !p.is_empty() && p.split('.').all(|k| !k.is_empty());
    match (spec.revocation, &spec.revocation_url) {
        (RevocationStyle::None, Some(_)) => {
            return Err("`revocation = \"none\"` contradicts its `revocation_url`".into())
        }
        (RevocationStyle::Bearer, None) if spec.issuer.is_none() => {
            return Err("`revocation = \"bearer\"` needs a `revocation_url`".into())
        }
        _ => {}
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
    if spec.userinfo_query.is_some() && spec.userinfo_url.is_none() && spec.issuer.is_none() {
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

fn implicit_table() -> toml_edit::Table {
    let mut t = toml_edit::Table::new();
    // `[providers.github]` rather than an empty `[providers]` header above it.
    t.set_implicit(true);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_entry_is_valid_and_https() {
        let catalog = Catalog::from_sources(None, "none").unwrap();
        let ids: Vec<&str> = catalog.iter().map(|p| p.id.as_str()).collect();
        assert!(ids.len() >= 30, "{} presets", ids.len());
        for expected in [
            "discord",
            "facebook",
            "github",
            "google",
            "kakao",
            "linkedin",
            "naver",
            "okta",
            "reddit",
            "franceconnect",
            "shopify",
            "openid",
            "linear",
            "microsoft",
            "slack",
            "gitlab",
            "bitbucket",
            "atlassian",
            "notion",
            "dropbox",
            "box",
            "spotify",
            "zoom",
            "figma",
            "asana",
            "salesforce",
            "twitch",
            "x",
            "strava",
            "intuit",
            "hubspot",
            "zendesk",
        ] {
            assert!(ids.contains(&expected), "missing preset {expected}");
        }
        for p in catalog.iter() {
            assert!(p.builtin);
            assert!(!p.is_set_up(), "{} ships a client id", p.id);
            assert_ne!(p.display_name, p.id, "{} has no display name", p.id);
            let registration = p
                .registration_url
                .as_deref()
                .unwrap_or_else(|| panic!("{}: where to register?", p.id));
            assert!(registration.starts_with("https://"), "{}: {registration}", p.id);
            // Every variable resolves, with the user's value where there is no default.
            let given: BTreeMap<String, String> = p
                .required_variables()
                .map(|(k, _)| (k.clone(), "example".to_string()))
                .collect();
            let resolved = p
                .with_variables(&given)
                .unwrap_or_else(|e| panic!("{}: {e}", p.id));
            let urls = [
                &resolved.issuer,
                &resolved.authorization_url,
                &resolved.token_url,
                &resolved.revocation_url,
                &resolved.userinfo_url,
                &resolved.refresh_url,
                &resolved.device_authorization_url,
            ];
            for url in urls.into_iter().flatten() {
                assert_eq!(url.scheme(), "https", "{}: {url}", p.id);
                assert!(!url.as_str().contains('{'), "{}: unsubstituted {url}", p.id);
            }
            for (name, var) in &p.variables {
                assert!(!var.description.is_empty(), "{}: {name} has no description", p.id);
            }
        }
    }

    #[test]
    fn variables_are_substituted_and_cannot_change_the_url() {
        let catalog = Catalog::from_sources(None, "none").unwrap();
        let ms = catalog.get("microsoft").unwrap();
        let default = ms.with_variables(&BTreeMap::new()).unwrap();
        assert_eq!(
            default.token_url.unwrap().as_str(),
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
        let vars = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        let tenant = ms
            .with_variables(&vars("tenant", "contoso.onmicrosoft.com"))
            .unwrap();
        assert_eq!(
            tenant.authorization_url.unwrap().as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
        );
        let shopify = catalog.get("shopify").unwrap();
        let e = shopify.with_variables(&BTreeMap::new()).unwrap_err();
        assert!(e.to_string().contains("--var shop=VALUE"), "{e}");
        assert_eq!(
            shopify
                .with_variables(&vars("shop", "acme"))
                .unwrap()
                .token_url
                .unwrap()
                .as_str(),
            "https://acme.myshopify.com/admin/oauth/access_token"
        );
        for bad in ["evil.com/x?", "a@evil.com", "evil.com#", "a:1", "", "a b", "é"] {
            let e = shopify.with_variables(&vars("shop", bad)).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Usage, "{bad:?}");
        }
        let e = shopify.with_variables(&vars("tenant", "x")).unwrap_err();
        assert!(e.to_string().contains("no variable \"tenant\""), "{e}");
        // A catalog entry may only use the variables it declares.
        let err = Catalog::from_sources(
            Some("[providers.p]\nauthorization_url = \"https://{nope}/a\"\ntoken_url = \"https://x/t\"\n"),
            "user",
        )
        .unwrap_err();
        assert!(err.to_string().contains("{nope}"), "{err}");
    }

    #[test]
    fn user_file_overrides_single_fields_and_adds_providers() {
        let user = r#"
            [providers.github]
            client_id = "abc"

            [providers.demo]
            issuer = "http://127.0.0.1:4455"
            client_id = "keyport-demo"
            scopes = ["openid", "offline_access"]
            authorization_params = { prompt = "consent" }
        "#;
        let c = Catalog::from_sources(Some(user), "providers.toml").unwrap();
        let gh = c.get("github").unwrap();
        assert_eq!(gh.client_id.as_deref(), Some("abc"));
        assert_eq!(
            gh.token_url.as_ref().unwrap().as_str(),
            "https://github.com/login/oauth/access_token"
        );
        let demo = c.get("demo").unwrap();
        assert!(!demo.builtin && demo.pkce && demo.is_set_up());
        assert_eq!(demo.authorization_params["prompt"], "consent");
    }

    #[test]
    fn bad_entries_get_clear_errors() {
        let cases = [
            (
                "[providers.y]\nauthorization_url = \"https://a/\"",
                "needs either `issuer`",
            ),
            ("[providers.y]\nissuer = \"http://example.com\"", "plain http"),
            (
                "[providers.y]\nissuer = \"https://a\"\ncleint_id = \"x\"",
                "unknown field",
            ),
            ("[providers.X]\nissuer = \"https://a\"", "may hold only"),
            ("[provider.x]\nissuer = \"https://a\"", "unknown top-level key"),
            ("[providers.y\n", "providers.toml"),
        ];
        for (text, expected) in cases {
            let err = Catalog::from_sources(Some(text), "providers.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{text:?} gave {err}");
        }
    }

    #[test]
    fn quirk_fields_are_checked() {
        let base = "[providers.q]\nauthorization_url = \"https://a/auth\"\ntoken_url = \"https://a/token\"\n";
        let cases = [
            (
                "keep_fields = [\"authed_user.access_token\"]",
                "tokens stay in the keychain",
            ),
            ("keep_fields = [\"refresh_token\"]", "tokens stay in the keychain"),
            ("keep_fields = [\"a..b\"]", "empty path"),
            ("revocation = \"bearer\"", "needs a `revocation_url`"),
            (
                "revocation = \"none\"\nrevocation_url = \"https://a/r\"",
                "contradicts",
            ),
            ("token_path = \".x\"", "not a dot path"),
            ("userinfo_query = \"{ viewer { id } }\"", "needs a `userinfo_url`"),
            ("scope_param = \"user scope\"", "parameter name"),
            ("token_request_format = \"xml\"", "unknown variant"),
        ];
        for (extra, expected) in cases {
            let text = format!("{base}{extra}\n");
            let err = Catalog::from_sources(Some(&text), "providers.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{extra:?} gave {err}");
        }
        let ok = format!(
            "{base}refresh_url = \"https://a/refresh\"\ntoken_path = \"authed_user\"\nkeep_fields = [\"team.name\"]\n\
             token_request_format = \"json\"\nrevocation = \"bearer\"\nrevocation_url = \"https://a/r\"\n"
        );
        let c = Catalog::from_sources(Some(&ok), "providers.toml").unwrap();
        let q = c.get("q").unwrap();
        assert_eq!(q.refresh_url.as_ref().unwrap().as_str(), "https://a/refresh");
        assert_eq!(q.token_request_format, TokenRequestFormat::Json);
        assert_eq!(q.revocation, RevocationStyle::Bearer);
    }

    #[test]
    fn unknown_provider_is_an_error() {
        let c = Catalog::from_sources(None, "none").unwrap();
        assert!(matches!(c.get("nope"), Err(Error::UnknownProvider(_))));
    }

    #[test]
    fn setting_a_client_id_keeps_the_users_file_and_refuses_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("providers.toml");
        let original = "# my providers\n[providers.work]\ndisplay_name = \"Work\" # ours\nissuer = \"https://sso.example.com\"\n";
        std::fs::write(&file, original).unwrap();
        Catalog::set_client_id(&file, "github", " Iv1.abc ").unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with(original), "{text}");
        let catalog = Catalog::load(&file).unwrap();
        assert_eq!(
            catalog.get("github").unwrap().client_id.as_deref(),
            Some("Iv1.abc")
        );
        assert!(catalog.get("work").is_ok());

        for (id, client_id) in [("nope", "x"), ("github", "  "), ("github", "a\nb")] {
            assert!(
                Catalog::set_client_id(&file, id, client_id).is_err(),
                "{id} {client_id:?}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            text,
            "a refused edit changes nothing"
        );
    }
}

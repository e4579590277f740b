//! A provider's endpoints, resolved: taken from the catalog entry, with OpenID Connect discovery
//! (`<issuer>/.well-known/openid-configuration`) filling whatever the entry leaves out.
//!
//! They are resolved once, at connect time, and stored with the account, so that refreshing or
//! revoking needs no discovery round trip and keeps working if the catalog entry changes later.

use crate::catalog::{Provider, RevocationStyle};
use crate::error::{ProviderError, Result};
use crate::http::{self, check_endpoint};
use serde::{Deserialize, Serialize};
use url::Url;

/// The URLs are kept as text (checked when resolved): the account file holds a set per account,
/// and `keyport list` should not pay for parsing URLs it never uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    pub authorization_url: String,
    pub token_url: String,
    #[serde(default)]
    pub revocation_url: Option<String>,
    #[serde(default)]
    pub userinfo_url: Option<String>,
    /// Where refreshes go, when not to `token_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_url: Option<String>,
    /// RFC 8628 device authorization endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_url: Option<String>,
    /// The issuer identifier, when known from discovery: checked against `iss` in the callback.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Whether the server promised `iss` in authorization responses (RFC 9207).
    #[serde(default)]
    pub iss_parameter_supported: bool,
}

/// The subset of an OpenID Provider's metadata Keyport uses.
#[derive(Debug, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub revocation_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    pub device_authorization_endpoint: Option<Url>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

/// Parses a stored endpoint. They were checked when resolved, so a failure means a damaged file.
pub fn parse(url: &str) -> Result<Url> {
    Url::parse(url)
        .map_err(|e| crate::Error::Internal(format!("the stored endpoint {url:?} is not a URL ({e})")))
}

pub async fn resolve(provider: &Provider, client: &reqwest::Client) -> Result<Endpoints> {
    let fail = |reason: &str| ProviderError::new(&provider.display_name, "discovery", reason);
    let discovered = match &provider.issuer {
        Some(issuer) => Some(discover(&provider.display_name, issuer, client).await?),
        None => None,
    };
    let pick = |explicit: &Option<Url>, found: Option<&Url>| explicit.clone().or_else(|| found.cloned());
    let d = discovered.as_ref();
    let authorization_url = pick(&provider.authorization_url, d.map(|d| &d.authorization_endpoint));
    let token_url = pick(&provider.token_url, d.map(|d| &d.token_endpoint));
    let (Some(authorization_url), Some(token_url)) = (authorization_url, token_url) else {
        // The catalog validation guarantees one source or the other.
        return Err(fail("no authorization or token endpoint").into());
    };
    if provider.pkce {
        if let Some(d) = d {
            if !d.code_challenge_methods_supported.is_empty()
                && !d.code_challenge_methods_supported.iter().any(|m| m == "S256")
            {
                return Err(fail("the provider does not support PKCE with S256").into());
            }
        }
    }
    let revocation_url = match provider.revocation {
        RevocationStyle::None => None,
        _ => pick(
            &provider.revocation_url,
            d.and_then(|d| d.revocation_endpoint.as_ref()),
        ),
    };
    Ok(Endpoints {
        authorization_url: authorization_url.into(),
        token_url: token_url.into(),
        revocation_url: revocation_url.map(Into::into),
        refresh_url: provider.refresh_url.clone().map(Into::into),
        device_authorization_url: pick(
            &provider.device_authorization_url,
            d.and_then(|d| d.device_authorization_endpoint.as_ref()),
        )
        .map(Into::into),
        userinfo_url: pick(
            &provider.userinfo_url,
            d.and_then(|d| d.userinfo_endpoint.as_ref()),
        )
        .map(Into::into),
        issuer: d.map(|d| d.issuer.clone()),
        iss_parameter_supported: d.is_some_and(|d| d.authorization_response_iss_parameter_supported),
    })
}

/// Fetches and checks `<issuer>/.well-known/openid-configuration`; failures name `provider`.
pub async fn discover(
    provider: &str,
    issuer: &Url,
    client: &reqwest::Client,
) -> std::result::Result<Discovery, ProviderError> {
    fetch_discovery(issuer, client)
        .await
        .map_err(|reason| ProviderError::new(provider, "discovery", reason))
}

async fn fetch_discovery(issuer: &Url, client: &reqwest::Client) -> std::result::Result<Discovery, String> {
    let url = discovery_url(issuer);
    tracing::debug!(%url, "fetching OpenID Connect discovery document");
    let (status, body) = http::send(client.get(url.clone()))
        .await
        .map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("{} answered HTTP {status}", http::strip_query(&url)));
    }
    let doc: Discovery = serde_json::from_slice(&body).map_err(|e| {
        format!(
            "{} is not a valid discovery document: {e}",
            http::strip_query(&url)
        )
    })?;
    // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
    if doc.issuer.trim_end_matches('/') != issuer.as_str().trim_end_matches('/') {
        return Err(format!(
            "the discovery document names issuer {} instead of {issuer}",
            doc.issuer
        ));
    }
    for url in [&doc.authorization_endpoint, &doc.token_endpoint]
        .into_iter()
        .chain(doc.revocation_endpoint.iter())
        .chain(doc.userinfo_endpoint.iter())
        .chain(doc.device_authorization_endpoint.iter())
    {
        check_endpoint(url)?;
    }
    Ok(doc)
}

fn discovery_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    let path = format!(
        "{}/.well-known/openid-configuration",
        issuer.path().trim_end_matches('/')
    );
    url.set_path(&path);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_url_keeps_issuer_path() {
        let u = |s| discovery_url(&Url::parse(s).unwrap()).to_string();
        assert_eq!(
            u("https://a.example"),
            "https://a.example/.well-known/openid-configuration"
        );
        assert_eq!(
            u("https://a.example/tenant/"),
            "https://a.example/tenant/.well-known/openid-configuration"
        );
    }
}

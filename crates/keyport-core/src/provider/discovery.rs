//! OpenID Connect discovery (`<issuer>/.well-known/openid-configuration`, with RFC 8414's
//! `/.well-known/oauth-authorization-server` filling its gaps or standing in): fetched and checked
//! when a connection is resolved, and turned into a catalog entry by `providers add --issuer` and
//! the app's "Add by issuer URL" form.

use crate::error::ProviderError;
use crate::model::check_endpoint;
use crate::model::EndpointSet;
use crate::provider::http;
use serde::Deserialize;
use url::Url;

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
    pub registration_endpoint: Option<Url>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

impl Discovery {
    /// The endpoints the document names, in the catalog's field names (the issuer included).
    pub fn endpoints(&self) -> EndpointSet<Option<Url>> {
        EndpointSet {
            issuer: Url::parse(&self.issuer).ok(),
            authorization_url: Some(self.authorization_endpoint.clone()),
            token_url: Some(self.token_endpoint.clone()),
            revocation_url: self.revocation_endpoint.clone(),
            userinfo_url: self.userinfo_endpoint.clone(),
            refresh_url: None,
            device_authorization_url: self.device_authorization_endpoint.clone(),
            dynamic_registration_url: self.registration_endpoint.clone(),
        }
    }
}

/// Whether the server offers PKCE with S256. A document that lists no methods says nothing;
/// PKCE is then sent anyway (servers ignore parameters they do not know).
pub fn supports_s256(doc: &Discovery) -> bool {
    doc.code_challenge_methods_supported.is_empty()
        || doc.code_challenge_methods_supported.iter().any(|m| m == "S256")
}

/// Fetches and checks the discovery document of `issuer`; failures name `provider`.
pub async fn discover(
    provider: &str,
    issuer: &Url,
    client: &reqwest::Client,
) -> std::result::Result<Discovery, ProviderError> {
    fetch(issuer, client)
        .await
        .map_err(|reason| ProviderError::new(provider, "discovery", reason))
}

/// The OpenID Connect document, with what the RFC 8414 document adds (a revocation endpoint that
/// OpenID discovery leaves out, as django-oauth-toolkit's does); the RFC 8414 document alone for
/// a plain OAuth server.
async fn fetch(issuer: &Url, client: &reqwest::Client) -> std::result::Result<Discovery, String> {
    let openid = fetch_one(&discovery_url(issuer), issuer, client).await;
    let oauth_url = crate::provider::mcp::server_metadata_places(issuer)
        .into_iter()
        .next()
        .expect("RFC 8414's place comes first");
    match openid {
        Ok(Some(doc)) => match fetch_one(&oauth_url, issuer, client).await {
            Ok(Some(oauth)) => Ok(doc.filled_from(oauth)),
            _ => Ok(doc),
        },
        Ok(None) => match fetch_one(&oauth_url, issuer, client).await? {
            Some(oauth) => Ok(oauth),
            None => Err(format!(
                "{} answered HTTP 404, and so did {}",
                http::strip_query(&discovery_url(issuer)),
                http::strip_query(&oauth_url)
            )),
        },
        Err(e) => Err(e),
    }
}

impl Discovery {
    /// This document, with the endpoints and lists it lacks taken from `other` (the same
    /// issuer's other metadata document).
    fn filled_from(mut self, other: Discovery) -> Discovery {
        self.revocation_endpoint = self.revocation_endpoint.or(other.revocation_endpoint);
        self.userinfo_endpoint = self.userinfo_endpoint.or(other.userinfo_endpoint);
        self.device_authorization_endpoint = self
            .device_authorization_endpoint
            .or(other.device_authorization_endpoint);
        self.registration_endpoint = self.registration_endpoint.or(other.registration_endpoint);
        if self.code_challenge_methods_supported.is_empty() {
            self.code_challenge_methods_supported = other.code_challenge_methods_supported;
        }
        if self.token_endpoint_auth_methods_supported.is_empty() {
            self.token_endpoint_auth_methods_supported = other.token_endpoint_auth_methods_supported;
        }
        self
    }
}

/// The metadata document at `url` for `issuer`, checked; `None` when there is none (404).
async fn fetch_one(
    url: &Url,
    issuer: &Url,
    client: &reqwest::Client,
) -> std::result::Result<Option<Discovery>, String> {
    tracing::debug!(%url, "fetching a metadata document");
    let (status, body) = http::send(client.get(url.clone()))
        .await
        .map_err(|e| e.to_string())?;
    if status == 404 {
        return Ok(None);
    }
    if status != 200 {
        return Err(format!("{} answered HTTP {status}", http::strip_query(url)));
    }
    let doc: Discovery = serde_json::from_slice(&body).map_err(|e| {
        format!(
            "{} is not a valid discovery document: {e}",
            http::strip_query(url)
        )
    })?;
    // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
    if doc.issuer.trim_end_matches('/') != issuer.as_str().trim_end_matches('/') {
        return Err(format!(
            "the discovery document names issuer {} instead of {issuer}",
            doc.issuer
        ));
    }
    for (_, url) in doc.endpoints().iter() {
        if let Some(url) = url {
            check_endpoint(url)?;
        }
    }
    Ok(Some(doc))
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

//! OpenID Connect discovery (`<issuer>/.well-known/openid-configuration`): fetched and checked
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
            registration_url: self.registration_endpoint.clone(),
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

async fn fetch(issuer: &Url, client: &reqwest::Client) -> std::result::Result<Discovery, String> {
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
    for (_, url) in doc.endpoints().iter() {
        if let Some(url) = url {
            check_endpoint(url)?;
        }
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

//! Resolving a catalog entry into the [`Connection`] a new account keeps: its client id, and its
//! endpoints from the entry, with OpenID Connect discovery filling what the entry leaves out.

use crate::catalog::Provider;
use crate::error::{Error, ProviderError, Result};
use crate::model::{Connection, RevocationStyle};
use crate::provider::discovery;

/// Resolves `provider` (its variables already filled in) for a new sign-in: its client id,
/// and its endpoints from the catalog entry, with discovery filling the rest. With it, the scopes
/// the discovered metadata lists (`scopes_supported`; none without discovery), which a client
/// registering itself may ask to be registered for.
pub async fn resolve(provider: &Provider, client: &reqwest::Client) -> Result<(Connection, Vec<String>)> {
    // A provider Keyport registers with gets its client id at the sign-in, once the redirect it
    // will listen on is known.
    let client_id = match (&provider.client_id, provider.registers_itself()) {
        (Some(id), _) => id.clone(),
        (None, true) => String::new(),
        (None, false) => return Err(Error::ProviderNotSetUp(provider.id.to_string())),
    };
    let fail = |reason: &str| ProviderError::new(&provider.display_name, "discovery", reason);
    let found = match &provider.urls.issuer {
        Some(issuer) => Some(discovery::discover(&provider.display_name, issuer, client).await?),
        None => None,
    };
    if let Some(d) = &found {
        if provider.quirks.pkce && !discovery::supports_s256(d) {
            return Err(fail("the provider does not support PKCE with S256").into());
        }
    }
    // The catalog entry wins; discovery fills what it leaves out.
    let mut endpoints = match &found {
        Some(d) => provider.urls.clone().or(d.endpoints()),
        None => provider.urls.clone(),
    };
    if endpoints.authorization_url.is_none() || endpoints.token_url.is_none() {
        // The catalog validation guarantees one source or the other.
        return Err(fail("no authorization or token endpoint").into());
    }
    if provider.quirks.revocation == RevocationStyle::None {
        endpoints.revocation_url = None;
    }
    let offered = found
        .as_ref()
        .map(|d| d.scopes_supported.clone())
        .unwrap_or_default();
    let connection = Connection {
        provider_name: provider.display_name.clone(),
        endpoints,
        callback_issuer: found.as_ref().map(|d| d.issuer.clone()),
        iss_parameter_supported: found
            .as_ref()
            .is_some_and(|d| d.authorization_response_iss_parameter_supported),
        quirks: provider.quirks.clone(),
        integration: provider.integration.clone(),
        client_id,
        auth_method: provider.token_request_auth_method,
    };
    Ok((connection, offered))
}

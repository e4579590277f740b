//! RFC 7591 dynamic client registration: how Keyport becomes a client of a server that has no
//! client id for it (MCP servers). Keyport registers as a native public client with the exact
//! loopback redirect it listens on for this sign-in (some servers match redirects exactly, port
//! included), and uses the token endpoint authentication the answer names, whatever it asked for.
//! What it registered is a [`Registration`], which the store keeps for the next sign-in there.

use crate::error::ProviderError;
use crate::model::{strip_query, Registration, TokenAuthMethod};
use crate::provider::http;
use crate::secret::Secret;
use serde::Deserialize;
use url::Url;

/// What the server registered, and the client secret if it gave one.
#[derive(Debug)]
pub struct Registered {
    pub registration: Registration,
    pub client_secret: Option<Secret>,
}

#[derive(Deserialize)]
struct Answer {
    client_id: String,
    #[serde(default)]
    client_secret: Option<Secret>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    /// RFC 7591 §3.2.1: what the server registered may differ from what was asked.
    #[serde(default)]
    scope: Option<String>,
    /// 0 means never.
    #[serde(default)]
    client_secret_expires_at: Option<u64>,
}

/// Registers Keyport at `url` for a sign-in through `connection` (whose server the registration
/// is kept for) coming back to `redirect_uri`, asking for `scopes`.
pub async fn register(
    provider: &str,
    url: &Url,
    connection: &crate::model::Connection,
    redirect_uri: &Url,
    scopes: &[String],
    client: &reqwest::Client,
) -> Result<Registered, ProviderError> {
    let fail = |reason: String| ProviderError::new(provider, "client registration", reason);
    crate::model::check_endpoint(url).map_err(fail)?;
    let mut body = serde_json::json!({
        "client_name": "Keyport",
        "application_type": "native",
        "redirect_uris": [redirect_uri.as_str()],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    });
    if !scopes.is_empty() {
        // Some servers refuse at the authorization request any scope the client did not register.
        body["scope"] = scopes.join(" ").into();
    }
    let (status, answer) = http::send(client.post(url.clone()).json(&body))
        .await
        .map_err(|e| fail(e.message))?;
    if !(200..300).contains(&status) {
        let said = serde_json::from_slice::<serde_json::Value>(&answer)
            .ok()
            .and_then(|v| {
                let error = v["error"].as_str()?.to_string();
                Some(match v["error_description"].as_str() {
                    Some(d) => format!("{error}: {d}"),
                    None => error,
                })
            })
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(fail(format!(
            "{} refused to register Keyport ({})",
            strip_query(url),
            crate::text::escape_controls(&said)
        )));
    }
    let answer: Answer = serde_json::from_slice(&answer).map_err(|e| {
        fail(format!(
            "{} answered with no usable client ({e})",
            strip_query(url)
        ))
    })?;
    let auth_method = match answer.token_endpoint_auth_method.as_deref() {
        None | Some("none") if answer.client_secret.is_none() => TokenAuthMethod::None,
        // RFC 7591 §2: the default is client_secret_basic.
        None | Some("client_secret_basic") => TokenAuthMethod::ClientSecretBasic,
        Some("client_secret_post") => TokenAuthMethod::ClientSecretPost,
        Some("none") => TokenAuthMethod::None,
        Some(other) => {
            return Err(fail(format!(
            "it registered Keyport for the token endpoint authentication \"{}\", which Keyport does not do",
            crate::text::escape_controls(other)
        )))
        }
    };
    if auth_method != TokenAuthMethod::None && answer.client_secret.is_none() {
        return Err(fail("it asked for a client secret and gave none".into()));
    }
    let scopes = match &answer.scope {
        Some(granted) => granted.split_whitespace().map(str::to_string).collect(),
        None => scopes.to_vec(),
    };
    Ok(Registered {
        registration: Registration {
            registration_url: url.clone(),
            issuer: connection.callback_issuer.clone(),
            authorization_url: connection
                .endpoints
                .authorization_url
                .clone()
                .ok_or_else(|| fail("no authorization endpoint".into()))?,
            token_url: connection
                .endpoints
                .token_url
                .clone()
                .ok_or_else(|| fail("no token endpoint".into()))?,
            client_id: answer.client_id,
            auth_method,
            redirect_uri: redirect_uri.clone(),
            scopes,
            expires_at: answer.client_secret_expires_at.filter(|&at| at != 0),
            registered_at: crate::model::now(),
        },
        client_secret: answer.client_secret,
    })
}

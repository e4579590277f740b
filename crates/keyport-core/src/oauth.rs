//! The OAuth 2.0 protocol steps, through the `oauth2` crate: the authorization request with PKCE
//! (S256) and state, the code exchange, the device authorization grant (RFC 8628) and the refresh;
//! plus revocation (RFC 7009, or a provider's bearer-authorized variant), which we send ourselves
//! because `oauth2` refuses `http` revocation URLs even on loopback.
//!
//! The catalog's quirk fields shape requests and responses here, through [`TokenQuirks`] and
//! [`Grant::kept`], so no provider needs code of its own.

use crate::catalog::{Provider, TokenAuthMethod, TokenRequestFormat};
use crate::endpoints::Endpoints;
use crate::error::{Error, ProviderError, Result};
use crate::http::{self, HttpFailure, TokenQuirks};
use crate::secret::Secret;
use crate::tokens::{now, TokenSet};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, DeviceAuthorizationUrl,
    EndpointNotSet, EndpointSet, ErrorResponseType, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, StandardDeviceAuthorizationResponse, StandardErrorResponse,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use url::Url;

/// The token-response fields beyond RFC 6749's: the OpenID Connect ID token, and the rest, from
/// which the catalog's `keep_fields` are picked.
#[derive(Clone, Serialize, Deserialize)]
struct ExtraFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<Secret>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}
impl oauth2::ExtraTokenFields for ExtraFields {}

/// The other fields may hold anything, a provider's extra secrets included: names only.
impl std::fmt::Debug for ExtraFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtraFields")
            .field("id_token", &self.id_token)
            .field("rest", &self.rest.keys().collect::<Vec<_>>())
            .finish()
    }
}

type TokenResp = StandardTokenResponse<ExtraFields, BasicTokenType>;
type OAuthClient<HasAuthUrl = EndpointNotSet> = oauth2::Client<
    BasicErrorResponse,
    TokenResp,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuthUrl,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Whether `body` parses as a token response, the way exchanges and refreshes parse it. Public
/// for the fuzzer (with [`crate::token_response::normalize`] in front, as in real use).
#[doc(hidden)]
pub fn parses_as_token_response(body: &[u8]) -> bool {
    serde_json::from_slice::<TokenResp>(body).is_ok()
}

/// Who we are to the provider.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub auth_method: TokenAuthMethod,
}

/// An authorization request sent to the browser, waiting for its callback.
#[derive(Debug)]
pub struct PendingAuthorization {
    pub url: Url,
    pub state: Secret,
    verifier: Option<PkceCodeVerifier>,
    redirect_uri: Url,
    pub requested_scopes: Vec<String>,
}

fn quirks(provider: &Provider) -> TokenQuirks {
    TokenQuirks {
        json_body: provider.token_request_format == TokenRequestFormat::Json,
        token_path: provider.token_path.clone(),
    }
}

fn client(creds: &ClientCredentials, endpoints: &Endpoints) -> Result<OAuthClient> {
    client_for(creds, &endpoints.token_url)
}

fn client_for(creds: &ClientCredentials, token_url: &str) -> Result<OAuthClient> {
    let token_url = crate::endpoints::parse(token_url)?;
    let mut c = oauth2::Client::new(ClientId::new(creds.client_id.clone()))
        .set_token_uri(TokenUrl::from_url(token_url));
    // A public client sends only its id; oauth2 puts it in the body when there is no secret.
    if creds.auth_method != TokenAuthMethod::None {
        if let Some(secret) = &creds.client_secret {
            c = c.set_client_secret(ClientSecret::new(secret.expose().to_string()));
        }
    }
    Ok(c.set_auth_type(match creds.auth_method {
        TokenAuthMethod::ClientSecretBasic => AuthType::BasicAuth,
        _ => AuthType::RequestBody,
    }))
}

pub fn start(
    provider: &Provider,
    endpoints: &Endpoints,
    creds: &ClientCredentials,
    redirect_uri: Url,
    scopes: &[String],
) -> Result<PendingAuthorization> {
    let auth_url = crate::endpoints::parse(&endpoints.authorization_url)?;
    let client = client(creds, endpoints)?
        .set_auth_uri(AuthUrl::from_url(auth_url))
        .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
    let mut request = client.authorize_url(CsrfToken::new_random);
    if !scopes.is_empty() {
        // oauth2 joins scopes with spaces; providers that want commas get one pre-joined scope.
        let joined = scopes.join(&provider.scope_separator);
        request = if provider.scope_param == "scope" {
            request.add_scope(Scope::new(joined))
        } else {
            request.add_extra_param(provider.scope_param.clone(), joined)
        };
    }
    for (k, v) in &provider.authorization_params {
        request = request.add_extra_param(k.clone(), v.clone());
    }
    let verifier = if provider.pkce {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        request = request.set_pkce_challenge(challenge);
        Some(verifier)
    } else {
        None
    };
    let (url, state) = request.url();
    Ok(PendingAuthorization {
        url,
        state: Secret::new(state.secret().clone()),
        verifier,
        redirect_uri,
        requested_scopes: scopes.to_vec(),
    })
}

/// The tokens from an exchange or refresh, the scopes the provider says it granted, and the
/// response fields the catalog keeps as metadata.
pub struct Grant {
    pub tokens: TokenSet,
    pub scopes: Option<Vec<String>>,
    pub kept: BTreeMap<String, String>,
    /// The user object at the catalog's `user_path` in the token response, if there is one
    /// (Notion names the user there); a fallback for the nickname when there is no userinfo.
    pub user: Option<Value>,
}

pub async fn exchange(
    http_client: &reqwest::Client,
    provider: &Provider,
    endpoints: &Endpoints,
    creds: &ClientCredentials,
    pending: PendingAuthorization,
    code: Secret,
) -> Result<Grant> {
    let client =
        client(creds, endpoints)?.set_redirect_uri(RedirectUrl::from_url(pending.redirect_uri.clone()));
    let mut request = client.exchange_code(AuthorizationCode::new(code.expose().to_string()));
    if let Some(verifier) = pending.verifier {
        request = request.set_pkce_verifier(verifier);
    }
    let response = request
        .request_async(&http::oauth_client(http_client, quirks(provider)))
        .await
        .map_err(|e| token_error(provider, "the code exchange", e))?;
    Ok(grant(response, provider, None))
}

/// Refreshes with `refresh_token`, at the provider's `refresh_url` if it has one. A response
/// without a new refresh token keeps the old one.
pub async fn refresh(
    http_client: &reqwest::Client,
    provider: &Provider,
    endpoints: &Endpoints,
    creds: &ClientCredentials,
    refresh_token: &Secret,
) -> Result<Grant> {
    let url = endpoints.refresh_url.as_deref().unwrap_or(&endpoints.token_url);
    let client = client_for(creds, url)?;
    let token = RefreshToken::new(refresh_token.expose().to_string());
    let response = client
        .exchange_refresh_token(&token)
        .request_async(&http::oauth_client(http_client, quirks(provider)))
        .await
        .map_err(|e| token_error(provider, "refresh", e))?;
    Ok(grant(response, provider, Some(refresh_token)))
}

/// A device sign-in under way (RFC 8628): what to show the user, and what to poll with.
pub struct DeviceAuthorization {
    pub user_code: String,
    pub verification_uri: Url,
    /// The verification URI with the code in it, for a browser opened on this machine.
    pub verification_uri_complete: Option<Url>,
    pub expires_in: Duration,
    details: StandardDeviceAuthorizationResponse,
}

/// Asks the device authorization endpoint for a user code.
pub async fn start_device(
    http_client: &reqwest::Client,
    provider: &Provider,
    endpoints: &Endpoints,
    creds: &ClientCredentials,
    scopes: &[String],
) -> Result<DeviceAuthorization> {
    let Some(device_url) = endpoints.device_authorization_url.as_deref() else {
        return Err(Error::Usage(format!(
            "{} does not offer sign-in with a code (no device authorization endpoint)",
            provider.display_name
        )));
    };
    let client = client(creds, endpoints)?.set_device_authorization_url(DeviceAuthorizationUrl::from_url(
        crate::endpoints::parse(device_url)?,
    ));
    let mut request = client.exchange_device_code();
    if !scopes.is_empty() {
        request = request.add_scope(Scope::new(scopes.join(&provider.scope_separator)));
    }
    let details: StandardDeviceAuthorizationResponse = request
        .request_async(&http::oauth_client(http_client, quirks(provider)))
        .await
        .map_err(|e| token_error(provider, "the device authorization", e))?;
    let parse = |u: &str| {
        Url::parse(u)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http"))
            .ok_or_else(|| {
                Error::Provider(ProviderError::new(
                    &provider.display_name,
                    "the device authorization",
                    "the verification address is not a web address",
                ))
            })
    };
    Ok(DeviceAuthorization {
        user_code: details.user_code().secret().clone(),
        verification_uri: parse(details.verification_uri().as_str())?,
        verification_uri_complete: details
            .verification_uri_complete()
            .map(|u| parse(u.secret()))
            .transpose()?,
        expires_in: details.expires_in(),
        details,
    })
}

/// Polls the token endpoint until the user approves or refuses, the code expires, or `timeout`
/// passes. `oauth2` keeps the pace: `interval`, and five seconds more after each `slow_down`.
pub async fn finish_device(
    http_client: &reqwest::Client,
    provider: &Provider,
    endpoints: &Endpoints,
    creds: &ClientCredentials,
    device: DeviceAuthorization,
    timeout: Duration,
) -> Result<Grant> {
    let client = client(creds, endpoints)?;
    let response = client
        .exchange_device_access_token(&device.details)
        .request_async(
            &http::oauth_client(http_client, quirks(provider)),
            tokio::time::sleep,
            Some(timeout.min(device.expires_in)),
        )
        .await
        .map_err(|e| token_error(provider, "the device sign-in", e))?;
    Ok(grant(response, provider, None))
}

fn grant(response: TokenResp, provider: &Provider, previous_refresh: Option<&Secret>) -> Grant {
    let separator = &provider.scope_separator;
    let obtained_at = now();
    let tokens = TokenSet {
        access_token: Secret::new(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|t| Secret::new(t.secret().clone()))
            .or_else(|| previous_refresh.cloned()),
        id_token: response.extra_fields().id_token.clone(),
        expires_at: response.expires_in().map(|d| obtained_at + d.as_secs()),
        obtained_at,
    };
    let scopes = response.scopes().map(|s| {
        s.iter()
            .flat_map(|scope| {
                scope
                    .split(|c: char| c == ',' || separator.contains(c))
                    .map(str::to_string)
            })
            .filter(|s| !s.is_empty())
            .collect()
    });
    let extras = response.extra_fields();
    let field = |path: &str| crate::json_path::get_in(&extras.rest, path);
    let user = provider
        .user_path
        .as_deref()
        .and_then(field)
        .filter(|v| v.is_object())
        .cloned();
    let kept = provider
        .keep_fields
        .iter()
        .filter_map(|path| {
            let value = field(path)?;
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => value.to_string(),
                _ => return None,
            };
            Some((path.clone(), text))
        })
        .collect();
    Grant {
        tokens,
        scopes,
        kept,
        user,
    }
}

fn token_error<T: ErrorResponseType + std::fmt::Display>(
    provider: &Provider,
    operation: &'static str,
    e: RequestTokenError<HttpFailure, StandardErrorResponse<T>>,
) -> Error {
    let (reason, code, transient) = match e {
        RequestTokenError::ServerResponse(r) => {
            let code = r.error().to_string();
            let reason = match r.error_description() {
                Some(d) => format!("{code}: {d}"),
                None => code.clone(),
            };
            (reason, Some(code), false)
        }
        RequestTokenError::Request(failure) => (failure.message, None, failure.transient),
        // Name only where parsing failed, or which field is missing: a parser's other messages
        // may quote a value from the body, which could be a token.
        RequestTokenError::Parse(e, _) => {
            let inner = e.inner().to_string();
            let detail = if inner.starts_with("missing field") {
                inner.split(" at line").next().unwrap_or(&inner).to_string()
            } else {
                format!("problem at `{}`", e.path())
            };
            (
                format!("the answer is not a valid token response ({detail})"),
                None,
                false,
            )
        }
        RequestTokenError::Other(m) => (m, None, false),
    };
    Error::Provider(ProviderError {
        provider: provider.display_name.clone(),
        operation,
        reason,
        code,
        transient,
    })
}

/// RFC 7009 token revocation. `hint` is `refresh_token` or `access_token`.
pub async fn revoke(
    http_client: &reqwest::Client,
    provider_name: &str,
    url: &Url,
    creds: &ClientCredentials,
    token: &Secret,
    hint: &str,
) -> Result<()> {
    let mut form: Vec<(&str, &str)> = vec![("token", token.expose()), ("token_type_hint", hint)];
    let mut request = http_client.post(url.clone());
    match (creds.auth_method, &creds.client_secret) {
        (TokenAuthMethod::ClientSecretBasic, Some(secret)) => {
            request = request.basic_auth(&creds.client_id, Some(secret.expose()));
        }
        (TokenAuthMethod::ClientSecretPost, Some(secret)) => {
            form.push(("client_id", &creds.client_id));
            form.push(("client_secret", secret.expose()));
        }
        _ => form.push(("client_id", &creds.client_id)),
    }
    send_revocation(provider_name, url, request.form(&form)).await
}

/// The `revocation = "bearer"` style: a bodiless POST authorized by the access token it ends.
pub async fn revoke_bearer(
    http_client: &reqwest::Client,
    provider_name: &str,
    url: &Url,
    access_token: &Secret,
) -> Result<()> {
    let request = http_client.post(url.clone()).bearer_auth(access_token.expose());
    send_revocation(provider_name, url, request).await
}

/// Sends a revocation request; 2xx is success, and so is a 200 without an `error` (Slack answers
/// `{"ok": false, "error": …}` with HTTP 200).
async fn send_revocation(provider_name: &str, url: &Url, request: reqwest::RequestBuilder) -> Result<()> {
    let fail = |reason: String, code: Option<String>| {
        Error::Provider(ProviderError {
            code,
            ..ProviderError::new(provider_name, "revocation", reason)
        })
    };
    let (status, body) = http::send(request).await.map_err(|e| fail(e.to_string(), None))?;
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string));
    if (200..300).contains(&status) && code.is_none() {
        return Ok(());
    }
    Err(fail(
        format!(
            "{} answered HTTP {status}{}",
            http::strip_query(url),
            code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()
        ),
        code,
    ))
}

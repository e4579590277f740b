//! The OAuth 2.0 protocol steps, through the `oauth2` crate: the authorization request with PKCE
//! (S256) and state, the code exchange and the refresh; plus revocation (RFC 7009), which we send
//! ourselves because `oauth2` refuses `http` revocation URLs even on loopback.

use crate::catalog::{Provider, TokenAuthMethod};
use crate::endpoints::Endpoints;
use crate::error::{Error, ProviderError, Result};
use crate::http::{self, HttpFailure};
use crate::secret::Secret;
use crate::tokens::{now, TokenSet};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

/// The one extra token-response field Keyport keeps: the OpenID Connect ID token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<Secret>,
}
impl oauth2::ExtraTokenFields for IdTokenField {}

type TokenResp = StandardTokenResponse<IdTokenField, BasicTokenType>;
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

fn client(creds: &ClientCredentials, endpoints: &Endpoints) -> Result<OAuthClient> {
    let token_url = crate::endpoints::parse(&endpoints.token_url)?;
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
        request = request.add_scope(Scope::new(scopes.join(&provider.scope_separator)));
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

/// The tokens from an exchange or refresh, and the scopes the provider says it granted.
pub struct Grant {
    pub tokens: TokenSet,
    pub scopes: Option<Vec<String>>,
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
        .request_async(&http::oauth_client(http_client))
        .await
        .map_err(|e| token_error(provider, "the code exchange", e))?;
    Ok(grant(response, &provider.scope_separator, None))
}

/// Refreshes with `refresh_token`. A response without a new refresh token keeps the old one.
pub async fn refresh(
    http_client: &reqwest::Client,
    provider_name: &str,
    scope_separator: &str,
    endpoints: &Endpoints,
    creds: &ClientCredentials,
    refresh_token: &Secret,
) -> Result<Grant> {
    let client = client(creds, endpoints)?;
    let token = RefreshToken::new(refresh_token.expose().to_string());
    let response = client
        .exchange_refresh_token(&token)
        .request_async(&http::oauth_client(http_client))
        .await
        .map_err(|e| token_error_named(provider_name, "refresh", e))?;
    Ok(grant(response, scope_separator, Some(refresh_token)))
}

fn grant(response: TokenResp, separator: &str, previous_refresh: Option<&Secret>) -> Grant {
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
    Grant { tokens, scopes }
}

fn token_error(
    provider: &Provider,
    operation: &'static str,
    e: RequestTokenError<HttpFailure, BasicErrorResponse>,
) -> Error {
    token_error_named(&provider.display_name, operation, e)
}

fn token_error_named(
    provider: &str,
    operation: &'static str,
    e: RequestTokenError<HttpFailure, BasicErrorResponse>,
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
        provider: provider.to_string(),
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
    let fail = |reason: String, code: Option<String>| {
        Error::Provider(ProviderError {
            provider: provider_name.to_string(),
            operation: "revocation",
            reason,
            code,
            transient: false,
        })
    };
    let (status, body) = http::send(request.form(&form))
        .await
        .map_err(|e| fail(e.to_string(), None))?;
    if (200..300).contains(&status) {
        return Ok(());
    }
    let code = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string));
    Err(fail(
        format!(
            "{} answered HTTP {status}{}",
            http::strip_query(url),
            code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()
        ),
        code,
    ))
}

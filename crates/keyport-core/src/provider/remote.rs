//! [`Remote`]: one account's provider, ready to talk to: its [`Connection`], the client secret
//! when the client has one, and the HTTP client. The protocol steps after the browser are its
//! methods (code exchange, refresh, device polling, revocation, user lookup), built on the `oauth2`
//! crate; the catalog's quirk fields shape each request and response, so no provider needs code
//! of its own.

use crate::error::{Error, ProviderError, Result};
use crate::model::Connection;
use crate::model::{TokenAuthMethod, TokenRequestFormat};
use crate::provider::grant::{Grant, TokenResp};
use crate::provider::http::{self, HttpFailure, TokenQuirks};
use crate::secret::Secret;
use oauth2::basic::{BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse};
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ErrorResponseType, RequestTokenError,
    StandardErrorResponse, StandardRevocableToken, TokenUrl,
};
use url::Url;

pub(crate) type OAuthClient<HasAuthUrl = EndpointNotSet, HasDeviceUrl = EndpointNotSet> = oauth2::Client<
    BasicErrorResponse,
    TokenResp,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuthUrl,
    HasDeviceUrl,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

pub struct Remote<'a> {
    pub(crate) http: &'a reqwest::Client,
    pub(crate) connection: &'a Connection,
    /// Only for clients that authenticate with one (see [`Connection::wants_client_secret`]).
    pub(crate) secret: Option<Secret>,
}

impl<'a> Remote<'a> {
    pub fn new(http: &'a reqwest::Client, connection: &'a Connection, secret: Option<Secret>) -> Self {
        Self {
            http,
            connection,
            secret: secret.filter(|_| connection.wants_client_secret()),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.connection.provider_name
    }

    /// An `oauth2` client for `token_url`, authenticating as the connection says.
    pub(crate) fn oauth(&self, token_url: &Url) -> OAuthClient {
        let c = self.connection;
        let mut client = oauth2::Client::new(ClientId::new(c.client_id.clone()))
            .set_token_uri(TokenUrl::from_url(token_url.clone()));
        // A public client sends only its id; oauth2 puts it in the body when there is no secret.
        // A private key never leaves: the client credentials grant signs an assertion with it.
        let shared = c.auth_method != TokenAuthMethod::PrivateKeyJwt;
        if let Some(secret) = self.secret.as_ref().filter(|_| shared) {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
        }
        client.set_auth_type(match c.auth_method {
            TokenAuthMethod::ClientSecretBasic => AuthType::BasicAuth,
            _ => AuthType::RequestBody,
        })
    }

    /// `request` (a form POST of `form`) authenticated as the connection's client: HTTP Basic, or
    /// its id (and secret) in the body; a private key never goes out this way (it signs
    /// assertions), so such a client names only its id.
    pub(crate) fn authenticate<'f>(
        &'f self,
        request: reqwest::RequestBuilder,
        form: &mut Vec<(&'f str, &'f str)>,
    ) -> reqwest::RequestBuilder {
        let c = self.connection;
        match (c.auth_method, &self.secret) {
            (TokenAuthMethod::ClientSecretBasic, Some(secret)) => {
                return request.basic_auth(&c.client_id, Some(secret.expose()));
            }
            (TokenAuthMethod::ClientSecretPost, Some(secret)) => {
                form.push(("client_id", &c.client_id));
                form.push(("client_secret", secret.expose()));
            }
            _ => form.push(("client_id", &c.client_id)),
        }
        request
    }

    /// Our HTTP client, with the connection's token quirks, as `oauth2` wants it.
    pub(crate) fn transport(&self) -> impl http::OAuthTransport + 'a {
        let quirks = &self.connection.quirks;
        http::oauth_client(
            self.http,
            TokenQuirks {
                json_body: quirks.token_request_format == TokenRequestFormat::Json,
                token_path: quirks.token_path.clone(),
            },
        )
    }

    /// Refreshes with `refresh_token`, at the provider's `refresh_url` if it has one. A response
    /// without a new refresh token keeps the old one.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<Grant> {
        let token = oauth2::RefreshToken::new(refresh_token.expose().to_string());
        let client = self.oauth(self.connection.refresh_url());
        let mut request = client.exchange_refresh_token(&token);
        // RFC 8707: the same resource as at the sign-in.
        if let Some(resource) = &self.connection.quirks.resource {
            request = request.add_extra_param("resource", resource.clone());
        }
        let response = request
            .request_async(&self.transport())
            .await
            .map_err(|e| self.token_error("refresh", e, &[refresh_token.expose()]))?;
        Ok(Grant::new(response, &self.connection.quirks, Some(refresh_token)))
    }

    /// A token-endpoint failure as a [`ProviderError`], in words that never quote a token. The
    /// provider's own words may echo the request: `sent` (the code, verifier or refresh token it
    /// carried) and the client secret are cut out of them.
    pub(crate) fn token_error<T: ErrorResponseType + std::fmt::Display>(
        &self,
        operation: &'static str,
        e: RequestTokenError<HttpFailure, StandardErrorResponse<T>>,
        sent: &[&str],
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
        let mut secrets = sent.to_vec();
        secrets.extend(self.secret.as_ref().map(Secret::expose));
        let reason = crate::text::without_secrets(&reason, &secrets);
        Error::Provider(ProviderError {
            code,
            transient,
            ..ProviderError::new(self.name(), operation, reason)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oauth2::basic::BasicErrorResponseType;

    #[test]
    fn a_provider_echoing_the_request_does_not_print_its_secrets() {
        let http = reqwest::Client::new();
        let connection = Connection {
            auth_method: TokenAuthMethod::ClientSecretPost,
            ..crate::model::connection::tests::connection()
        };
        let remote = Remote::new(&http, &connection, Some(Secret::new("client-secret-1")));
        let echo =
            "bad request: grant_type=authorization_code&code=CODE-123456&code_verifier=VERIFIER-abcdef\
                    &client_secret=client-secret-1\u{1b}]0;owned\u{7}";
        let e = RequestTokenError::<HttpFailure, _>::ServerResponse(StandardErrorResponse::new(
            BasicErrorResponseType::InvalidGrant,
            Some(echo.to_string()),
            None,
        ));
        let text = remote
            .token_error("the code exchange", e, &["CODE-123456", "VERIFIER-abcdef"])
            .to_string();
        for secret in ["CODE-123456", "VERIFIER-abcdef", "client-secret-1", "\u{1b}"] {
            assert!(!text.contains(secret), "{secret:?} in {text}");
        }
        assert!(
            text.contains("invalid_grant: bad request") && text.contains("\\x1b]0;owned"),
            "{text}"
        );
    }
}

//! The authorization-code flow's two requests: the authorization URL for the browser (PKCE S256
//! and state), and the code exchange once the redirect brings the code back.

use crate::error::Result;
use crate::provider::grant::Grant;
use crate::provider::remote::Remote;
use crate::secret::Secret;
use oauth2::{
    AuthUrl, AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use url::Url;

/// An authorization request sent to the browser, waiting for its callback.
#[derive(Debug)]
pub struct PendingAuthorization {
    pub url: Url,
    pub state: Secret,
    verifier: Option<PkceCodeVerifier>,
    redirect_uri: Url,
    pub requested_scopes: Vec<String>,
}

impl Remote<'_> {
    /// The authorization URL to open in the browser, asking for `scopes`.
    pub fn authorize(&self, redirect_uri: Url, scopes: &[String]) -> PendingAuthorization {
        let conn = self.connection;
        let quirks = &conn.quirks;
        let client = self
            .oauth(conn.token_url())
            .set_auth_uri(AuthUrl::from_url(conn.authorization_url().clone()))
            .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
        let mut request = client.authorize_url(CsrfToken::new_random);
        if !scopes.is_empty() {
            // oauth2 joins scopes with spaces; providers that want commas get one pre-joined scope.
            let joined = scopes.join(&quirks.scope_separator);
            request = if quirks.scope_param == "scope" {
                request.add_scope(Scope::new(joined))
            } else {
                request.add_extra_param(quirks.scope_param.clone(), joined)
            };
        }
        for (k, v) in &quirks.authorization_params {
            request = request.add_extra_param(k.clone(), v.clone());
        }
        if let Some(resource) = &quirks.resource {
            request = request.add_extra_param("resource", resource.clone());
        }
        let verifier = if quirks.pkce {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            request = request.set_pkce_challenge(challenge);
            Some(verifier)
        } else {
            None
        };
        let (url, state) = request.url();
        PendingAuthorization {
            url,
            state: Secret::new(state.secret().clone()),
            verifier,
            redirect_uri,
            requested_scopes: scopes.to_vec(),
        }
    }

    /// Trades the callback's `code` for tokens.
    pub async fn exchange(&self, pending: PendingAuthorization, code: Secret) -> Result<Grant> {
        let client = self
            .oauth(self.connection.token_url())
            .set_redirect_uri(RedirectUrl::from_url(pending.redirect_uri.clone()));
        let mut request = client.exchange_code(AuthorizationCode::new(code.expose().to_string()));
        let verifier = pending
            .verifier
            .as_ref()
            .map(|v| Secret::new(v.secret().as_str()));
        if let Some(verifier) = pending.verifier {
            request = request.set_pkce_verifier(verifier);
        }
        if let Some(resource) = &self.connection.quirks.resource {
            request = request.add_extra_param("resource", resource.clone());
        }
        let sent: Vec<&str> = [Some(code.expose()), verifier.as_ref().map(Secret::expose)]
            .into_iter()
            .flatten()
            .collect();
        let response = request
            .request_async(&self.transport())
            .await
            .map_err(|e| self.token_error("the code exchange", e, &sent))?;
        Ok(Grant::new(response, &self.connection.quirks, None))
    }
}

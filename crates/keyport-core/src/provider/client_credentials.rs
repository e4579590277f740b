//! The client credentials grant (RFC 6749 §4.4), as MCP's extension SEP-1046 uses it for machines
//! and CI: no person and no browser; the client proves itself with its secret
//! (`client_secret_basic`/`_post`) or a JWT signed with its private key (`private_key_jwt`, see
//! `client_assertion`), and asks for the scopes and the RFC 8707 resource it wants. No refresh
//! token comes back: a new token is asked for the same way once the last one runs out.

use crate::error::{Error, Result};
use crate::model::{now, TokenAuthMethod};
use crate::provider::client_assertion;
use crate::provider::grant::Grant;
use crate::provider::remote::Remote;
use oauth2::Scope;

impl Remote<'_> {
    /// A new token for the client itself, for `scopes`.
    pub async fn client_credentials(&self, scopes: &[String]) -> Result<Grant> {
        let connection = self.connection;
        let secret = self.secret.as_ref().ok_or_else(|| {
            Error::Usage(format!(
                "{} signs in with the client's own credentials, and its secret or private key is not \
                 in the keychain; connect it again with --client-secret-env or --private-key-env",
                self.name()
            ))
        })?;
        let client = self.oauth(connection.token_url());
        let mut request = client
            .exchange_client_credentials()
            .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())));
        if let Some(resource) = &connection.quirks.resource {
            request = request.add_extra_param("resource", resource.clone());
        }
        let assertion;
        if connection.auth_method == TokenAuthMethod::PrivateKeyJwt {
            // RFC 7523 §3: the audience identifies the authorization server: its issuer, or the
            // token endpoint when discovery gave no issuer.
            let audience = connection
                .callback_issuer
                .clone()
                .unwrap_or_else(|| connection.token_url().to_string());
            assertion = client_assertion::sign(secret, &connection.client_id, &audience, now())
                .map_err(|why| Error::Usage(format!("{}: {why}", self.name())))?;
            request = request
                .add_extra_param("client_assertion_type", client_assertion::ASSERTION_TYPE)
                .add_extra_param("client_assertion", assertion.expose().to_string());
        }
        let response = request
            .request_async(&self.transport())
            .await
            .map_err(|e| self.token_error("the client credentials grant", e, &[]))?;
        Ok(Grant::new(response, &connection.quirks, None))
    }
}

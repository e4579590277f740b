//! Signing in to an MCP server through the organization's identity provider (MCP's
//! Enterprise-Managed Authorization, SEP-990): the person's account at the identity provider (an
//! OpenID account in Keyport, named by `via`) lends its ID token, which the identity provider
//! exchanges for an ID-JAG for this server, which the server's authorization server takes for a
//! token (`provider/identity_assertion.rs`). The same on every renewal: no browser per server,
//! and the organization's policy is asked each time.

use super::Keyport;
use crate::error::{Error, Result};
use crate::model::tokens::jwt_expiry as expires_at;
use crate::model::{Connection, ProviderId};
use crate::provider::grant::Grant;
use crate::provider::identity_assertion::IdJagRequest;
use crate::provider::remote::Remote;
use crate::secret::Secret;

impl Keyport {
    /// A token for `connection`'s server, as `remote` (its client there), for `scopes`. The ID
    /// token comes from the account `via` names, or was given from elsewhere (in the keychain,
    /// exchanged at `idp_token_url` as `idp_client_id`).
    pub(super) async fn grant_by_assertion(
        &self,
        provider: &ProviderId,
        connection: &Connection,
        remote: &Remote<'_>,
        scopes: &[String],
    ) -> Result<Grant> {
        // The authorization server the ID-JAG is for: its issuer, else its token endpoint.
        let audience = connection
            .callback_issuer
            .clone()
            .unwrap_or_else(|| connection.token_url().to_string());
        let request = |id_token| IdJagRequest {
            id_token,
            audience: &audience,
            resource: connection.quirks.resource.as_deref(),
            scopes,
        };
        let quirks = &connection.quirks;
        let jag = match (&quirks.via, &quirks.idp_token_url, &quirks.idp_client_id) {
            (Some(via), _, _) => {
                let id_token = self.fresh_id_token(via).await?;
                let idp = self.find(via)?;
                let idp_remote = self.remote(&idp.provider, &idp.connection)?;
                idp_remote.id_jag(request(&id_token)).await?
            }
            (None, Some(token_url), Some(client_id)) => {
                let id_token = self.given_id_token(provider, connection)?;
                let idp = elsewhere_idp(connection, token_url, client_id)?;
                Remote::new(self.http_within(idp.quirks.address_space), &idp, None)
                    .id_jag(request(&id_token))
                    .await?
            }
            _ => {
                return Err(Error::Usage(format!(
                    "{} signs in through an identity provider, but none is named (`via`, or \
                     `idp_token_url` and `idp_client_id`)",
                    connection.provider_name
                )))
            }
        };
        remote.jwt_bearer(&jag, scopes).await
    }

    /// The ID token given from elsewhere for `provider`'s server, while it is good.
    fn given_id_token(&self, provider: &ProviderId, connection: &Connection) -> Result<Secret> {
        let token = self.keychain.identity_token(provider)?.ok_or_else(|| {
            Error::Usage(format!(
                "the ID token given for {} is not in the keychain; connect it again with --idp-id-token-env",
                connection.provider_name
            ))
        })?;
        if expires_at(&token).is_some_and(|at| at <= crate::model::now()) {
            return Err(Error::NeedsReconnect {
                account: connection.provider_name.clone(),
                provider: provider.to_string(),
                reason: "the ID token given from elsewhere has expired; connect again with a fresh one \
                         (--idp-id-token-env)"
                    .into(),
            });
        }
        Ok(token)
    }

    /// The ID token of the account `via`, from a refresh first when the one kept has (nearly)
    /// expired: an identity provider refuses to exchange a stale one.
    async fn fresh_id_token(&self, via: &str) -> Result<Secret> {
        let (_, tokens) = self.token_set(via, 60).await?;
        let now = crate::model::now();
        let fresh = |token: &Secret| expires_at(token).is_none_or(|at| at > now + 60);
        if let Some(token) = tokens.id_token.filter(fresh) {
            return Ok(token);
        }
        self.refresh(via).await?;
        let (account, tokens) = self.token_set(via, 60).await?;
        tokens.id_token.ok_or_else(|| {
            Error::Usage(format!(
                "{} has no ID token to present to its identity provider: connect it with the `openid` scope",
                account.label()
            ))
        })
    }
}

/// The identity provider of an ID token given from elsewhere, as a public client there.
fn elsewhere_idp(connection: &Connection, token_url: &str, client_id: &str) -> Result<Connection> {
    let url = url::Url::parse(token_url)
        .map_err(|e| Error::Usage(format!("\"{token_url}\" is not a URL ({e})")))?;
    Ok(Connection {
        provider_name: format!("the identity provider of {}", connection.provider_name),
        endpoints: crate::model::EndpointSet {
            token_url: Some(url),
            ..Default::default()
        },
        callback_issuer: None,
        iss_parameter_supported: false,
        quirks: crate::model::Quirks::default(),
        integration: Default::default(),
        client_id: client_id.to_string(),
        auth_method: crate::model::TokenAuthMethod::None,
    })
}

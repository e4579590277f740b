//! Ending a grant at the provider: RFC 7009 (refresh token first, then the access token), or a
//! provider's bearer-authorized variant. Sent ourselves rather than through `oauth2`, which refuses
//! `http` revocation URLs even on loopback.

use crate::error::{Error, ProviderError, Result};
use crate::model::tokens::TokenSet;
use crate::model::RevocationStyle;
use crate::provider::http;
use crate::provider::remote::Remote;
use crate::secret::Secret;
use serde_json::Value;
use url::Url;

impl Remote<'_> {
    /// Revokes the grant `tokens` belong to. The caller checked that there is an endpoint.
    pub async fn revoke(&self, url: &Url, tokens: &TokenSet) -> Result<()> {
        if self.connection.quirks.revocation == RevocationStyle::Bearer {
            let request = self
                .http
                .post(url.clone())
                .bearer_auth(tokens.access_token.expose());
            return self.send_revocation(url, request).await;
        }
        // The refresh token first: revoking it ends the grant, and with it (RFC 7009 §2.1) the
        // access tokens, at most providers.
        if let Some(rt) = &tokens.refresh_token {
            self.revoke_one(url, rt, "refresh_token").await?;
        }
        if let Err(e) = self.revoke_one(url, &tokens.access_token, "access_token").await {
            if tokens.refresh_token.is_none() {
                return Err(e);
            }
            tracing::debug!(error = %e, "access token revocation after the refresh token's failed");
        }
        Ok(())
    }

    /// RFC 7009 token revocation. `hint` is `refresh_token` or `access_token`.
    async fn revoke_one(&self, url: &Url, token: &Secret, hint: &str) -> Result<()> {
        let mut form: Vec<(&str, &str)> = vec![("token", token.expose()), ("token_type_hint", hint)];
        let request = self.authenticate(self.http.post(url.clone()), &mut form);
        let public = self.secret.is_none();
        match self.send_revocation(url, request.form(&form)).await {
            // A public client's request refused as malformed is sent once more with an empty
            // `client_secret`: the MCP Python SDK's revocation handler (behind many MCP servers)
            // requires the field even from a client that has no secret.
            Err(Error::Provider(p)) if public && p.code.as_deref() == Some("invalid_request") => {
                tracing::debug!(reason = %crate::text::escape_controls(&p.reason), "revocation refused as malformed; trying once more with an empty client_secret");
                form.push(("client_secret", ""));
                self.send_revocation(url, self.http.post(url.clone()).form(&form))
                    .await
            }
            other => other,
        }
    }

    /// Sends a revocation request; 2xx is success, and so is a 200 without an `error` (Slack
    /// answers `{"ok": false, "error": …}` with HTTP 200).
    async fn send_revocation(&self, url: &Url, request: reqwest::RequestBuilder) -> Result<()> {
        let fail = |reason: String, code: Option<String>| {
            Error::Provider(ProviderError {
                code,
                ..ProviderError::new(self.name(), "revocation", reason)
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
}

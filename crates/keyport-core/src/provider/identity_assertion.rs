//! MCP's Enterprise-Managed Authorization (SEP-990, "Cross App Access"): the person signs in once
//! at the organization's identity provider, and each MCP server gets its token without a browser.
//!
//! 1. At the identity provider, RFC 8693 token exchange: the ID token of the person's account there
//!    (`subject_token_type` id_token) for an ID-JAG (`requested_token_type`
//!    `urn:ietf:params:oauth:token-type:id-jag`), a JWT for one authorization server (`audience`,
//!    its issuer) and one MCP server (`resource`), which the identity provider grants by its own
//!    policy.
//! 2. At the MCP server's authorization server, the RFC 7523 jwt-bearer grant: the ID-JAG as the
//!    `assertion`, with the MCP client's own credentials there.

use crate::error::{Error, ProviderError, Result};
use crate::provider::grant::{Grant, TokenResp};
use crate::provider::http;
use crate::provider::remote::Remote;
use crate::secret::Secret;
use serde_json::Value;

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// What step 1 asks of the identity provider.
pub struct IdJagRequest<'a> {
    pub id_token: &'a Secret,
    /// The MCP server's authorization server (its issuer).
    pub audience: &'a str,
    /// The MCP server (RFC 8707).
    pub resource: Option<&'a str>,
    pub scopes: &'a [String],
}

impl Remote<'_> {
    /// Step 1, at this identity provider: an ID-JAG for `request`.
    pub async fn id_jag(&self, request: IdJagRequest<'_>) -> Result<Secret> {
        let scope = request.scopes.join(" ");
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("requested_token_type", ID_JAG),
            ("subject_token", request.id_token.expose()),
            ("subject_token_type", ID_TOKEN),
            ("audience", request.audience),
        ];
        if let Some(resource) = request.resource {
            form.push(("resource", resource));
        }
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        let body = self
            .token_form(
                "the token exchange for an ID-JAG",
                &form,
                &[request.id_token.expose()],
            )
            .await?;
        let answer: Value = serde_json::from_slice(&body).unwrap_or_default();
        let fail = |reason: &str| {
            Error::Provider(ProviderError::new(
                self.name(),
                "the token exchange for an ID-JAG",
                reason,
            ))
        };
        if answer["issued_token_type"].as_str() != Some(ID_JAG) {
            return Err(fail(
                "the identity provider answered with something other than an ID-JAG",
            ));
        }
        answer["access_token"]
            .as_str()
            .map(Secret::new)
            .ok_or_else(|| fail("the answer holds no ID-JAG"))
    }

    /// Step 2, at the MCP server's authorization server: a token for the ID-JAG `assertion`.
    pub async fn jwt_bearer(&self, assertion: &Secret, scopes: &[String]) -> Result<Grant> {
        let scope = scopes.join(" ");
        let mut form = vec![("grant_type", JWT_BEARER), ("assertion", assertion.expose())];
        if let Some(resource) = &self.connection.quirks.resource {
            form.push(("resource", resource));
        }
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        let operation = "the jwt-bearer grant with the ID-JAG";
        let body = self.token_form(operation, &form, &[assertion.expose()]).await?;
        let response: TokenResp = serde_json::from_slice(&body).map_err(|e| {
            let detail = e.to_string();
            let detail = detail.split(" at line").next().unwrap_or_default();
            Error::Provider(ProviderError::new(
                self.name(),
                operation,
                format!("the answer is not a valid token response ({detail})"),
            ))
        })?;
        Ok(Grant::new(response, &self.connection.quirks, None))
    }

    /// A form POST to the token endpoint as this client; the body of a success, or the server's
    /// error (never quoting what `sent` holds, nor the client's secret).
    async fn token_form(
        &self,
        operation: &'static str,
        form: &[(&str, &str)],
        sent: &[&str],
    ) -> Result<Vec<u8>> {
        let url = self.connection.token_url();
        let mut form = form.to_vec();
        let request = self.authenticate(self.http.post(url.clone()), &mut form);
        let (status, body) = http::send(request.form(&form))
            .await
            .map_err(|e| Error::Provider(ProviderError::new(self.name(), operation, e.to_string())))?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let answer: Value = serde_json::from_slice(&body).unwrap_or_default();
        let code = answer["error"].as_str().map(str::to_string);
        let reason = match (&code, answer["error_description"].as_str()) {
            (Some(code), Some(description)) => format!("{code}: {description}"),
            (Some(code), None) => code.clone(),
            _ => format!("{} answered HTTP {status}", http::strip_query(url)),
        };
        let mut secrets = sent.to_vec();
        secrets.extend(self.secret.as_ref().map(Secret::expose));
        Err(Error::Provider(ProviderError {
            code,
            ..ProviderError::new(
                self.name(),
                operation,
                crate::text::without_secrets(&reason, &secrets),
            )
        }))
    }
}

//! The device authorization grant (RFC 8628): a user code shown to the person, who approves on any
//! device, while Keyport polls the token endpoint.

use crate::error::{Error, ProviderError, Result};
use crate::provider::grant::Grant;
use crate::provider::remote::Remote;
use oauth2::{DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse};
use std::time::Duration;
use url::Url;

/// A device sign-in under way: what to show the user, and what to poll with.
pub struct DeviceAuthorization {
    pub user_code: String,
    pub verification_uri: Url,
    /// The verification URI with the code in it, for a browser opened on this machine.
    pub verification_uri_complete: Option<Url>,
    pub expires_in: Duration,
    details: StandardDeviceAuthorizationResponse,
}

impl Remote<'_> {
    /// Asks the device authorization endpoint for a user code.
    pub async fn start_device(&self, scopes: &[String]) -> Result<DeviceAuthorization> {
        let conn = self.connection;
        let Some(device_url) = &conn.endpoints.device_authorization_url else {
            return Err(Error::Unsupported(format!(
                "{} does not offer sign-in with a code (no device authorization endpoint)",
                conn.provider_name
            )));
        };
        let client = self
            .oauth(conn.token_url())
            .set_device_authorization_url(DeviceAuthorizationUrl::from_url(device_url.clone()));
        let mut request = client.exchange_device_code();
        if !scopes.is_empty() {
            request = request.add_scope(Scope::new(scopes.join(&conn.quirks.scope_separator)));
        }
        let details: StandardDeviceAuthorizationResponse = request
            .request_async(&self.transport())
            .await
            .map_err(|e| self.token_error("the device authorization", e, &[]))?;
        let parse = |u: &str| {
            Url::parse(u)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http"))
                .ok_or_else(|| {
                    Error::Provider(ProviderError::new(
                        self.name(),
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

    /// Polls the token endpoint until the user approves or refuses, the code expires, or
    /// `timeout` passes. `oauth2` keeps the pace: `interval`, and five seconds more after each
    /// `slow_down`. The final answers are put in words (RFC 8628 §3.5).
    pub async fn finish_device(&self, device: DeviceAuthorization, timeout: Duration) -> Result<Grant> {
        let response = self
            .oauth(self.connection.token_url())
            .exchange_device_access_token(&device.details)
            .request_async(
                &self.transport(),
                tokio::time::sleep,
                Some(timeout.min(device.expires_in)),
            )
            .await
            .map_err(|e| {
                self.token_error("the device sign-in", e, &[device.details.device_code().secret()])
            })?;
        Ok(Grant::new(response, &self.connection.quirks, None))
    }
}

/// The device grant's final answers, in words (RFC 8628 §3.5).
pub(crate) fn device_error(e: Error) -> Error {
    let Error::Provider(p) = e else { return e };
    let reason = match p.code.as_deref() {
        Some("access_denied") => "the sign-in was refused in the browser",
        Some("expired_token") => "the code expired before the sign-in was approved; start again",
        _ => return Error::Provider(p),
    };
    Error::Provider(ProviderError {
        code: p.code.clone(),
        ..ProviderError::new(p.provider, "the device sign-in", reason)
    })
}

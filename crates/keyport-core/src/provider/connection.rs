//! A [`Connection`]: a provider as resolved for one account. Made when the sign-in starts (the
//! catalog entry with the user's `{variables}`, plus OpenID Connect discovery for whatever the entry
//! leaves out), stored with the account, and the one thing the protocol steps need afterwards.
//!
//! Because the account keeps its connection, refreshing and revoking need no discovery round trip,
//! and neither a later catalog edit nor removing the provider from the user's file changes how an
//! existing grant is used: only a reconnect takes the catalog's new shape.
//!
//! The account file is integrity-critical even though it holds no secret: its endpoints say where
//! refresh tokens are sent. So a stored connection is checked again whenever it is read, exactly as
//! catalog URLs are checked (https, or http on loopback only).

use crate::catalog::{EndpointSet, Integration, Provider, Quirks, RevocationStyle, TokenAuthMethod};
use crate::error::{Error, ProviderError, Result};
use crate::provider::discovery;
use crate::provider::http::check_endpoint;
use serde::{Deserialize, Serialize};
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Unchecked")]
pub struct Connection {
    /// The provider's name as people know it, for messages.
    pub provider_name: String,
    /// Checked URLs; `authorization_url` and `token_url` are always there.
    pub endpoints: EndpointSet<Option<Url>>,
    /// The issuer identifier exactly as discovery gave it, compared with `iss` in callbacks
    /// (RFC 9207), and whether the server promised to send it.
    pub callback_issuer: Option<String>,
    pub iss_parameter_supported: bool,
    pub quirks: Quirks,
    /// How other programs use its tokens (git, environment variables).
    pub integration: Integration,
    pub client_id: String,
    pub auth_method: TokenAuthMethod,
}

/// A connection as read from the account file, before the checks [`Connection`] guarantees.
#[derive(Deserialize)]
struct Unchecked {
    provider_name: String,
    endpoints: EndpointSet<Option<Url>>,
    #[serde(default)]
    callback_issuer: Option<String>,
    #[serde(default)]
    iss_parameter_supported: bool,
    #[serde(default)]
    quirks: Quirks,
    #[serde(default)]
    integration: Integration,
    client_id: String,
    #[serde(default)]
    auth_method: TokenAuthMethod,
}

impl TryFrom<Unchecked> for Connection {
    type Error = String;

    fn try_from(u: Unchecked) -> std::result::Result<Self, String> {
        if u.endpoints.authorization_url.is_none() || u.endpoints.token_url.is_none() {
            return Err("a stored connection lacks its authorization or token endpoint".into());
        }
        for (field, url) in u.endpoints.iter() {
            if let Some(url) = url {
                check_endpoint(url).map_err(|m| format!("stored `{field}`: {m}"))?;
            }
        }
        Ok(Connection {
            provider_name: u.provider_name,
            endpoints: u.endpoints,
            callback_issuer: u.callback_issuer,
            iss_parameter_supported: u.iss_parameter_supported,
            quirks: u.quirks,
            integration: u.integration,
            client_id: u.client_id,
            auth_method: u.auth_method,
        })
    }
}

impl Connection {
    /// Resolves `provider` (its variables already filled in) for a new sign-in: its client id,
    /// and its endpoints from the catalog entry, with discovery filling the rest.
    pub async fn resolve(provider: &Provider, client: &reqwest::Client) -> Result<Connection> {
        let client_id = provider
            .client_id
            .clone()
            .ok_or_else(|| Error::ProviderNotSetUp(provider.id.clone()))?;
        let fail = |reason: &str| ProviderError::new(&provider.display_name, "discovery", reason);
        let found = match &provider.urls.issuer {
            Some(issuer) => Some(discovery::discover(&provider.display_name, issuer, client).await?),
            None => None,
        };
        if let Some(d) = &found {
            if provider.quirks.pkce && !discovery::supports_s256(d) {
                return Err(fail("the provider does not support PKCE with S256").into());
            }
        }
        // The catalog entry wins; discovery fills what it leaves out.
        let mut endpoints = match &found {
            Some(d) => provider.urls.clone().or(d.endpoints()),
            None => provider.urls.clone(),
        };
        if endpoints.authorization_url.is_none() || endpoints.token_url.is_none() {
            // The catalog validation guarantees one source or the other.
            return Err(fail("no authorization or token endpoint").into());
        }
        if provider.quirks.revocation == RevocationStyle::None {
            endpoints.revocation_url = None;
        }
        Ok(Connection {
            provider_name: provider.display_name.clone(),
            endpoints,
            callback_issuer: found.as_ref().map(|d| d.issuer.clone()),
            iss_parameter_supported: found
                .as_ref()
                .is_some_and(|d| d.authorization_response_iss_parameter_supported),
            quirks: provider.quirks.clone(),
            integration: provider.integration.clone(),
            client_id,
            auth_method: provider.token_request_auth_method,
        })
    }

    pub fn authorization_url(&self) -> &Url {
        self.endpoints
            .authorization_url
            .as_ref()
            .expect("a Connection always has an authorization endpoint")
    }

    pub fn token_url(&self) -> &Url {
        self.endpoints
            .token_url
            .as_ref()
            .expect("a Connection always has a token endpoint")
    }

    /// Where refreshes go: `refresh_url` when the provider has one (Figma), else the token URL.
    pub fn refresh_url(&self) -> &Url {
        self.endpoints
            .refresh_url
            .as_ref()
            .unwrap_or_else(|| self.token_url())
    }

    pub fn wants_client_secret(&self) -> bool {
        self.auth_method != TokenAuthMethod::None
    }

    /// RFC 9207: when the server identifies itself in the callback, it must be the one we asked.
    pub fn check_callback_issuer(&self, iss: Option<&str>) -> Result<()> {
        let Some(expected) = &self.callback_issuer else {
            return Ok(());
        };
        match iss {
            Some(iss) if iss == expected => Ok(()),
            Some(iss) => Err(Error::Authorization(format!(
                "the callback came from issuer {iss}, not {expected}; it was not used"
            ))),
            None if self.iss_parameter_supported => Err(Error::Authorization(format!(
                "the callback lacks the issuer ({expected}) that the provider promised to send; it was not used"
            ))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A connection to `https://a.example`, for tests elsewhere in the crate.
    pub(crate) fn connection() -> Connection {
        let url = |p: &str| Some(Url::parse(&format!("https://a.example/{p}")).unwrap());
        Connection {
            provider_name: "A".into(),
            endpoints: EndpointSet {
                authorization_url: url("auth"),
                token_url: url("token"),
                ..Default::default()
            },
            callback_issuer: None,
            iss_parameter_supported: false,
            quirks: Quirks::default(),
            integration: Integration::default(),
            client_id: "client".into(),
            auth_method: TokenAuthMethod::None,
        }
    }

    #[test]
    fn callback_issuer_must_match_rfc_9207() {
        let with = |issuer: Option<&str>, promised: bool| Connection {
            callback_issuer: issuer.map(str::to_string),
            iss_parameter_supported: promised,
            ..connection()
        };
        let c = with(Some("https://i.example"), true);
        assert!(c.check_callback_issuer(Some("https://i.example")).is_ok());
        let mixup = c
            .check_callback_issuer(Some("https://attacker.example"))
            .unwrap_err();
        assert!(mixup.to_string().contains("attacker.example"), "{mixup}");
        assert!(
            c.check_callback_issuer(None).is_err(),
            "a promised iss may not be missing"
        );
        assert!(with(Some("https://i.example"), false)
            .check_callback_issuer(None)
            .is_ok());
        assert!(with(None, false).check_callback_issuer(Some("anything")).is_ok());
    }

    #[test]
    fn stored_connections_are_checked_when_read() {
        let good = serde_json::to_value(connection()).unwrap();
        let back: Connection = serde_json::from_value(good.clone()).unwrap();
        assert_eq!(back, connection());
        let mut plain_http = good.clone();
        plain_http["endpoints"]["token_url"] = "http://attacker.example/token".into();
        let e = serde_json::from_value::<Connection>(plain_http).unwrap_err();
        assert!(e.to_string().contains("plain http"), "{e}");
        let mut missing = good;
        missing["endpoints"]["authorization_url"] = serde_json::Value::Null;
        assert!(serde_json::from_value::<Connection>(missing).is_err());
    }
}

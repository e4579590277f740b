//! A [`Connection`]: a provider as resolved for one account. Made when the sign-in starts (the
//! catalog entry with the user's `{variables}`, plus OpenID Connect discovery for whatever the entry
//! leaves out: `provider/resolve.rs`), stored with the account, and the one thing the protocol
//! steps need afterwards.
//!
//! Because the account keeps its connection, refreshing and revoking need no discovery round trip,
//! and neither a later catalog edit nor removing the provider from the user's file changes how an
//! existing grant is used: only a reconnect takes the catalog's new shape.
//!
//! The account file is integrity-critical even though it holds no secret: its endpoints say where
//! refresh tokens are sent. So a stored connection is checked again whenever it is read, exactly as
//! catalog URLs are checked (https, or http on loopback only).

use super::url_rules::check_endpoint;
use super::{EndpointSet, Integration, Quirks, TokenAuthMethod};
use crate::error::{Error, Result};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// The provider's name as people know it, for messages.
    pub provider_name: String,
    /// Checked URLs; `authorization_url` and `token_url` are always there.
    #[serde(deserialize_with = "checked_endpoints")]
    pub endpoints: EndpointSet<Option<Url>>,
    /// The issuer identifier exactly as discovery gave it, compared with `iss` in callbacks
    /// (RFC 9207), and whether the server promised to send it.
    #[serde(default)]
    pub callback_issuer: Option<String>,
    #[serde(default)]
    pub iss_parameter_supported: bool,
    #[serde(default)]
    pub quirks: Quirks,
    /// How other programs use its tokens (git, environment variables).
    #[serde(default)]
    pub integration: Integration,
    pub client_id: String,
    #[serde(default)]
    pub auth_method: TokenAuthMethod,
}

/// A stored connection's endpoints, checked as they are read: both required ones present, and
/// each URL obeying the same rules as the catalog's.
fn checked_endpoints<'de, D: Deserializer<'de>>(d: D) -> Result<EndpointSet<Option<Url>>, D::Error> {
    let endpoints = EndpointSet::<Option<Url>>::deserialize(d)?;
    if endpoints.authorization_url.is_none() || endpoints.token_url.is_none() {
        return Err(D::Error::custom(
            "a stored connection lacks its authorization or token endpoint",
        ));
    }
    for (field, url) in endpoints.iter() {
        if let Some(url) = url {
            check_endpoint(url).map_err(|m| D::Error::custom(format!("stored `{field}`: {m}")))?;
        }
    }
    Ok(endpoints)
}

impl Connection {
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

    /// Whether a new access token can be had without the person once `tokens` run out: with a
    /// refresh token, with the client's own credentials (the client credentials grant), or with a
    /// new identity assertion from the organization's identity provider.
    pub fn renews(&self, tokens: &super::tokens::TokenSet) -> bool {
        tokens.refresh_token.is_some() || self.quirks.grant != super::GrantKind::AuthorizationCode
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

//! A [`Registration`]: who Keyport is to an authorization server it registered itself with
//! (RFC 7591), kept so that the next sign-in there, for the same MCP server or another one behind
//! the same authorization server, is the same client instead of a new one each time.

use super::{Connection, TokenAuthMethod};
use serde::{Deserialize, Serialize};
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The registration endpoint it was made at.
    pub registration_url: Url,
    /// The authorization server the client was registered for, as its metadata named it: a
    /// registration is reused only for the same issuer and endpoints, so that a server whose
    /// metadata names another's registration endpoint (with a token endpoint of its own) cannot
    /// sign in as the client the person already approved there (an authorization-server mix-up).
    #[serde(default)]
    pub issuer: Option<String>,
    pub authorization_url: Url,
    pub token_url: Url,
    pub client_id: String,
    pub auth_method: TokenAuthMethod,
    /// The one redirect registered. Many servers compare it exactly, port included, so a loopback
    /// registration is reused only when that port can be listened on again.
    pub redirect_uri: Url,
    /// The scopes registered: a sign-in asking for more registers again (some servers refuse, at
    /// the authorization request, a scope the client did not register).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// When the client secret stops working (RFC 7591 `client_secret_expires_at`), if it does.
    #[serde(default)]
    pub expires_at: Option<u64>,
    pub registered_at: u64,
}

impl Registration {
    /// Whether a sign-in through `connection` (same issuer, authorization and token endpoints)
    /// asking for `scopes`, coming back to a redirect of the same kind, can be this client at
    /// `now`.
    pub fn serves(&self, connection: &Connection, scopes: &[String], loopback: bool, now: u64) -> bool {
        let same_kind = (self.redirect_uri.scheme() == "http") == loopback;
        self.is_for(connection)
            && same_kind
            && self.expires_at.is_none_or(|at| at > now + 60)
            && scopes.iter().all(|s| self.scopes.contains(s))
    }

    /// Whether it was registered for the server `connection` signs in at: the same issuer,
    /// authorization and token endpoints.
    pub fn is_for(&self, connection: &Connection) -> bool {
        self.issuer == connection.callback_issuer
            && Some(&self.authorization_url) == connection.endpoints.authorization_url.as_ref()
            && Some(&self.token_url) == connection.endpoints.token_url.as_ref()
    }

    /// The loopback port registered, if the redirect is a loopback one.
    pub fn loopback_port(&self) -> Option<u16> {
        (self.redirect_uri.scheme() == "http")
            .then(|| self.redirect_uri.port())
            .flatten()
    }

    /// The keychain's name for this client's secret: the client id at that registration and
    /// token endpoint (two servers may hand out the same id; the secret only ever goes to that
    /// token endpoint). URLs hold no space, so the client id, last, cannot blur the parts.
    pub fn secret_key(registration_url: &Url, token_url: &Url, client_id: &str) -> String {
        format!("{registration_url} {token_url} {client_id}")
    }

    /// [`Self::secret_key`] of this client.
    pub fn own_secret_key(&self) -> String {
        Self::secret_key(&self.registration_url, &self.token_url, &self.client_id)
    }

    /// [`Self::secret_key`] of the client `connection` signs in as, when that may be one Keyport
    /// registered (the connection names a registration and a token endpoint).
    pub fn secret_key_of(connection: &Connection) -> Option<String> {
        let endpoints = &connection.endpoints;
        Some(Self::secret_key(
            endpoints.dynamic_registration_url.as_ref()?,
            endpoints.token_url.as_ref()?,
            &connection.client_id,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(redirect: &str, scopes: &[&str], expires_at: Option<u64>) -> Registration {
        Registration {
            registration_url: Url::parse("https://as.example/register").unwrap(),
            issuer: Some("https://as.example".into()),
            authorization_url: Url::parse("https://as.example/authorize").unwrap(),
            token_url: Url::parse("https://as.example/token").unwrap(),
            client_id: "c1".into(),
            auth_method: TokenAuthMethod::None,
            redirect_uri: Url::parse(redirect).unwrap(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at,
            registered_at: 1,
        }
    }

    fn connection(token_url: &str) -> Connection {
        let endpoints = crate::model::EndpointSet::<Option<Url>> {
            authorization_url: Some(Url::parse("https://as.example/authorize").unwrap()),
            token_url: Some(Url::parse(token_url).unwrap()),
            dynamic_registration_url: Some(Url::parse("https://as.example/register").unwrap()),
            ..Default::default()
        };
        Connection {
            provider_name: "AS".into(),
            endpoints,
            callback_issuer: Some("https://as.example".into()),
            iss_parameter_supported: false,
            quirks: Default::default(),
            integration: Default::default(),
            client_id: String::new(),
            auth_method: TokenAuthMethod::None,
        }
    }

    #[test]
    fn serves_only_the_same_server_covered_scopes_the_same_redirect_kind_and_before_expiry() {
        let scopes = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let here = connection("https://as.example/token");
        let loopback = registration("http://127.0.0.1:4711/callback", &["read", "write"], None);
        assert!(loopback.serves(&here, &scopes(&["read"]), true, 100));
        assert!(loopback.serves(&here, &[], true, 100));
        assert!(!loopback.serves(&here, &scopes(&["read", "admin"]), true, 100));
        assert!(!loopback.serves(&here, &scopes(&["read"]), false, 100));
        assert_eq!(loopback.loopback_port(), Some(4711));
        let deep_link = registration("keyport://oauth/callback", &["read"], Some(1000));
        assert!(deep_link.serves(&here, &scopes(&["read"]), false, 100));
        assert!(!deep_link.serves(&here, &scopes(&["read"]), false, 950));
        assert_eq!(deep_link.loopback_port(), None);
        // Metadata naming this registration endpoint with a token endpoint of its own (or another
        // issuer) does not get the client.
        let elsewhere = connection("https://evil.example/token");
        assert!(!loopback.serves(&elsewhere, &[], true, 100));
        let mut other_issuer = here.clone();
        other_issuer.callback_issuer = Some("https://evil.example".into());
        assert!(!loopback.serves(&other_issuer, &[], true, 100));
    }

    #[test]
    fn secret_keys_cannot_blur_a_client_id_into_the_urls() {
        let url = |s: &str| Url::parse(s).unwrap();
        let a = Registration::secret_key(
            &url("https://a.example/r"),
            &url("https://a.example/t"),
            "x@https://b.example/",
        );
        let b = Registration::secret_key(&url("https://b.example/"), &url("https://a.example/t"), "x");
        assert_ne!(a, b);
    }
}

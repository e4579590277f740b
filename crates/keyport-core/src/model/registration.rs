//! A [`Registration`]: who Keyport is to an authorization server it registered itself with
//! (RFC 7591), kept so that the next sign-in there, for the same MCP server or another one behind
//! the same authorization server, is the same client instead of a new one each time.

use super::TokenAuthMethod;
use serde::{Deserialize, Serialize};
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The registration endpoint it was made at: the authorization server, as far as this
    /// registration is concerned (another endpoint is another server, and gets its own).
    pub registration_url: Url,
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
    /// Whether a sign-in asking for `scopes`, coming back to a redirect of the same kind, can be
    /// this client at `now`.
    pub fn serves(&self, scopes: &[String], loopback: bool, now: u64) -> bool {
        let same_kind = (self.redirect_uri.scheme() == "http") == loopback;
        same_kind
            && self.expires_at.is_none_or(|at| at > now + 60)
            && scopes.iter().all(|s| self.scopes.contains(s))
    }

    /// The loopback port registered, if the redirect is a loopback one.
    pub fn loopback_port(&self) -> Option<u16> {
        (self.redirect_uri.scheme() == "http")
            .then(|| self.redirect_uri.port())
            .flatten()
    }

    /// The keychain's name for this client's secret: the client id at that server (two servers
    /// may hand out the same id).
    pub fn secret_key(registration_url: &Url, client_id: &str) -> String {
        format!("{client_id}@{registration_url}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(redirect: &str, scopes: &[&str], expires_at: Option<u64>) -> Registration {
        Registration {
            registration_url: Url::parse("https://as.example/register").unwrap(),
            client_id: "c1".into(),
            auth_method: TokenAuthMethod::None,
            redirect_uri: Url::parse(redirect).unwrap(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at,
            registered_at: 1,
        }
    }

    #[test]
    fn serves_only_covered_scopes_the_same_redirect_kind_and_before_expiry() {
        let scopes = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let loopback = registration("http://127.0.0.1:4711/callback", &["read", "write"], None);
        assert!(loopback.serves(&scopes(&["read"]), true, 100));
        assert!(loopback.serves(&[], true, 100));
        assert!(!loopback.serves(&scopes(&["read", "admin"]), true, 100));
        assert!(!loopback.serves(&scopes(&["read"]), false, 100));
        assert_eq!(loopback.loopback_port(), Some(4711));
        let deep_link = registration("keyport://oauth/callback", &["read"], Some(1000));
        assert!(deep_link.serves(&scopes(&["read"]), false, 100));
        assert!(!deep_link.serves(&scopes(&["read"]), false, 950));
        assert_eq!(deep_link.loopback_port(), None);
    }
}

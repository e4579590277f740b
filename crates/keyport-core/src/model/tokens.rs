//! An account's tokens as stored in the keychain (one item per account, JSON), and the rule that
//! decides when they need refreshing.

use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<Secret>,
    /// When the access token expires; `None` means the provider said it does not.
    #[serde(default)]
    pub expires_at: Option<u64>,
    /// When this access token was issued (our clock), to know its lifetime.
    pub obtained_at: u64,
}

impl TokenSet {
    /// Seconds left before the access token expires (negative once expired).
    pub fn remaining(&self, now: u64) -> Option<i64> {
        self.expires_at.map(|e| e as i64 - now as i64)
    }

    pub fn is_expired(&self, now: u64) -> bool {
        self.remaining(now).is_some_and(|r| r <= 0)
    }

    /// Whether a caller asking for `min_ttl` seconds of validity should refresh first.
    ///
    /// The threshold is `min_ttl`, capped at half the token's lifetime: a provider that issues
    /// 60-second tokens can never satisfy `min_ttl = 300`, and refreshing on every call would
    /// hammer it (and with rotating refresh tokens, race with every other caller).
    pub fn needs_refresh(&self, min_ttl: u64, now: u64) -> bool {
        let Some(remaining) = self.remaining(now) else {
            return false;
        };
        let lifetime = self.expires_at.unwrap_or(0).saturating_sub(self.obtained_at);
        let threshold = min_ttl.min(lifetime / 2) as i64;
        remaining <= threshold
    }

    /// When the ID token expires, from its own `exp`; `None` without an ID token or an `exp`.
    pub fn id_token_expires_at(&self) -> Option<u64> {
        self.id_token.as_ref().and_then(jwt_expiry)
    }

    /// Whether a caller asking for the ID token with `min_ttl` seconds of validity should refresh
    /// first: the rule of [`TokenSet::needs_refresh`], by the ID token's own `iat` and `exp`.
    pub fn id_token_needs_refresh(&self, min_ttl: u64, now: u64) -> bool {
        let Some(claims) = self.id_token.as_ref().and_then(jwt_claims) else {
            return false;
        };
        let Some(exp) = claims["exp"].as_u64() else {
            return false;
        };
        let lifetime = exp.saturating_sub(claims["iat"].as_u64().unwrap_or(self.obtained_at));
        let threshold = min_ttl.min(lifetime / 2) as i64;
        exp as i64 - now as i64 <= threshold
    }
}

/// The `exp` of a JWT, read without checking it: whoever takes the token checks it; this only
/// decides whether to refresh first and what to say of its expiry.
pub fn jwt_expiry(jwt: &Secret) -> Option<u64> {
    jwt_claims(jwt)?["exp"].as_u64()
}

fn jwt_claims(jwt: &Secret) -> Option<serde_json::Value> {
    use base64::Engine as _;
    let payload = jwt.expose().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(obtained_at: u64, expires_at: Option<u64>) -> TokenSet {
        TokenSet {
            access_token: Secret::new("a"),
            refresh_token: None,
            id_token: None,
            expires_at,
            obtained_at,
        }
    }

    #[test]
    fn long_lived_token_refreshes_inside_min_ttl() {
        let t = set(0, Some(3600));
        assert!(!t.needs_refresh(300, 3000));
        assert!(t.needs_refresh(300, 3300));
        assert!(t.needs_refresh(300, 4000));
    }

    #[test]
    fn short_lived_token_refreshes_at_half_life() {
        let t = set(1000, Some(1060));
        assert!(!t.needs_refresh(300, 1010));
        assert!(t.needs_refresh(300, 1030));
    }

    #[test]
    fn non_expiring_token_never_refreshes() {
        assert!(!set(0, None).needs_refresh(u64::MAX, u64::MAX));
        assert!(!set(0, None).is_expired(u64::MAX));
    }

    #[test]
    fn an_id_token_is_judged_by_its_own_iat_and_exp() {
        use base64::Engine as _;
        let jwt = |claims: &str| {
            let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
            Secret::new(format!("h.{payload}.s"))
        };
        let mut t = set(0, Some(100_000));
        t.id_token = Some(jwt(r#"{"sub":"a","iat":1000,"exp":4600}"#));
        assert_eq!(t.id_token_expires_at(), Some(4600));
        assert!(!t.id_token_needs_refresh(300, 4000));
        assert!(t.id_token_needs_refresh(300, 4300));
        // A 60-second ID token is renewed at half its life, not on every call.
        t.id_token = Some(jwt(r#"{"iat":1000,"exp":1060}"#));
        assert!(!t.id_token_needs_refresh(300, 1010));
        assert!(t.id_token_needs_refresh(300, 1030));
        assert_eq!(jwt_expiry(&Secret::new("not a jwt")), None);
    }

    #[test]
    fn debug_shows_no_secret() {
        let mut t = set(0, Some(1));
        t.access_token = Secret::new("AT-123");
        t.refresh_token = Some(Secret::new("RT-456"));
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("AT-123") && !dbg.contains("RT-456"), "{dbg}");
    }
}

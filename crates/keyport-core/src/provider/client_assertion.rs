//! `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): a client authenticates at the token
//! endpoint with a short-lived JWT it signs with its private key, instead of a shared secret.
//! MCP's client-credentials extension (SEP-1046) uses it for machines: the key stays in the
//! keychain, and only an assertion that lives a minute goes over the wire.
//!
//! The key is a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, what `openssl genpkey` and most key
//! tools write): a P-256 key signs ES256, an RSA key RS256, chosen by the key's type.

use crate::secret::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;

/// The `client_assertion_type` that says the assertion is a JWT (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion is good for: only this request needs it.
const LIFETIME_SECS: u64 = 60;

/// A private key that signs assertions.
enum SigningKey {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

impl SigningKey {
    fn from_pem(pem: &Secret) -> Result<Self, String> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.expose().as_bytes()).map_err(|_| {
            "the private key is not a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----); convert it with \
             `openssl pkcs8 -topk8 -nocrypt`"
                .to_string()
        })?;
        let rng = SystemRandom::new();
        if let Ok(key) = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            der.secret_pkcs8_der(),
            &rng,
        ) {
            return Ok(SigningKey::Es256(key));
        }
        RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map(SigningKey::Rs256)
            .map_err(|_| "the private key is neither a P-256 (ES256) nor an RSA (RS256) key".to_string())
    }

    fn algorithm(&self) -> &'static str {
        match self {
            SigningKey::Es256(_) => "ES256",
            SigningKey::Rs256(_) => "RS256",
        }
    }

    fn sign(&self, input: &[u8]) -> Result<Vec<u8>, String> {
        let rng = SystemRandom::new();
        match self {
            SigningKey::Es256(key) => key
                .sign(&rng, input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "signing the client assertion failed".to_string()),
            SigningKey::Rs256(key) => {
                let mut out = vec![0; key.public().modulus_len()];
                key.sign(&signature::RSA_PKCS1_SHA256, &rng, input, &mut out)
                    .map_err(|_| "signing the client assertion failed".to_string())?;
                Ok(out)
            }
        }
    }
}

/// A signed client assertion for `client_id` at the authorization server `audience` (its issuer,
/// or its token endpoint when it has none), issued at `now`.
pub fn sign(key_pem: &Secret, client_id: &str, audience: &str, now: u64) -> Result<Secret, String> {
    let key = SigningKey::from_pem(key_pem)?;
    let mut jti = [0u8; 16];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut jti)
        .map_err(|_| "no randomness for the client assertion".to_string())?;
    let header = serde_json::json!({"alg": key.algorithm(), "typ": "JWT"});
    let claims = serde_json::json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": URL_SAFE_NO_PAD.encode(jti),
        "iat": now,
        "exp": now + LIFETIME_SECS,
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign(input.as_bytes())?;
    Ok(Secret::new(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::KeyPair as _;

    /// A P-256 key made with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`,
    /// for this test only.
    const P256: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgY3EBedUA3JGLNUNk
yyJeKgafWhiAXU7xlt3rFyZhs3mhRANCAAS9+yViZFTKn8Gw0z970TfFsl2Hn5iH
CcYOnFyuwLrxzUXB8ScmDUSReCyWKWlY1PDguZAuj31EfoV0f26PNpR0
-----END PRIVATE KEY-----
";

    fn part(jwt: &str, n: usize) -> serde_json::Value {
        let piece = jwt.split('.').nth(n).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(piece).unwrap()).unwrap()
    }

    #[test]
    fn an_assertion_names_the_client_and_the_server_and_verifies_with_the_public_key() {
        let key = Secret::new(P256);
        let jwt = sign(&key, "ci-runner", "https://as.example.com", 1_000).unwrap();
        let jwt = jwt.expose();
        assert_eq!(part(jwt, 0)["alg"], "ES256");
        let claims = part(jwt, 1);
        assert_eq!(claims["iss"], "ci-runner");
        assert_eq!(claims["sub"], "ci-runner");
        assert_eq!(claims["aud"], "https://as.example.com");
        assert_eq!(claims["exp"], 1_060);
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let SigningKey::Es256(pair) = SigningKey::from_pem(&key).unwrap() else {
            panic!("a P-256 key signs ES256")
        };
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref())
            .verify(input.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).unwrap())
            .expect("the signature verifies");
        let again = sign(&key, "ci-runner", "https://as.example.com", 1_000).unwrap();
        assert_ne!(
            part(again.expose(), 1)["jti"],
            claims["jti"],
            "each assertion is new"
        );
    }

    #[test]
    fn a_key_that_is_not_pkcs8_is_refused_with_what_to_do() {
        let e = sign(&Secret::new("not a key"), "c", "a", 0).unwrap_err();
        assert!(e.contains("openssl pkcs8"), "{e}");
    }
}

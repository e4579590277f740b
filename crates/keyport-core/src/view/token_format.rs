//! How `keyport token` hands a token over: bare, as an HTTP header, as JSON, or as the SASL
//! initial responses mail programs send (XOAUTH2, and OAUTHBEARER of RFC 7628), or as kubectl's
//! `ExecCredential` (`exec_credential.rs`).

use super::exec_credential::ExecApi;
use crate::model::TokenUse;
use crate::secret::Secret;
use base64::Engine;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormat {
    /// The token alone.
    Raw,
    /// `Authorization: Bearer <token>`.
    Header,
    /// `{"access_token", "token_type", "expires_at", "account", "metadata"}`.
    Json,
    /// Google's XOAUTH2: base64 of `user=<user>^Aauth=Bearer <token>^A^A`.
    Xoauth2,
    /// RFC 7628 OAUTHBEARER: base64 of `n,a=<user>,^Aauth=Bearer <token>^A^A`.
    Oauthbearer,
    /// kubectl's `ExecCredential`, in the version kubectl asked for.
    Kubectl(ExecApi),
}

/// A token as handed out, with what the formats need besides it.
pub struct IssuedToken<'a> {
    pub token: &'a Secret,
    /// Which token it is: the JSON format names it (`access_token` or `id_token`).
    pub token_use: TokenUse,
    pub account: &'a str,
    pub expires_at: Option<u64>,
    pub metadata: &'a BTreeMap<String, String>,
    /// The SASL user (the mail address), for the SASL formats.
    pub user: &'a str,
}

/// The text to print; the raw token has no line break (the caller adds one for a terminal).
pub fn render(format: TokenFormat, t: &IssuedToken<'_>) -> String {
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let token = t.token.expose();
    match format {
        TokenFormat::Raw => token.to_string(),
        TokenFormat::Header => format!("Authorization: Bearer {token}"),
        TokenFormat::Json => {
            let mut json = serde_json::json!({
                "token_type": "Bearer",
                "expires_at": t.expires_at,
                "account": t.account,
                "metadata": t.metadata,
            });
            let name = match t.token_use {
                TokenUse::Access => "access_token",
                TokenUse::Id => "id_token",
            };
            json[name] = token.into();
            serde_json::to_string_pretty(&json).expect("JSON values serialize")
        }
        TokenFormat::Kubectl(api) => super::exec_credential::render(api, t.token, t.expires_at),
        TokenFormat::Xoauth2 => b64(format!("user={}\x01auth=Bearer {token}\x01\x01", t.user)),
        TokenFormat::Oauthbearer => {
            // RFC 5801 saslname: ',' and '=' are escaped.
            let user = t.user.replace('=', "=3D").replace(',', "=2C");
            b64(format!("n,a={user},\x01auth=Bearer {token}\x01\x01"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_strings_are_byte_for_byte_what_the_specifications_say() {
        let token = Secret::new("ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
        let metadata = BTreeMap::new();
        let t = IssuedToken {
            token: &token,
            token_use: TokenUse::Access,
            account: "google-1",
            expires_at: Some(1),
            metadata: &metadata,
            user: "someuser@example.com",
        };
        let decode = |s: String| {
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(s).unwrap()).unwrap()
        };
        // Google's XOAUTH2 documentation: user={User}^Aauth=Bearer {Access Token}^A^A.
        assert_eq!(
            decode(render(TokenFormat::Xoauth2, &t)),
            "user=someuser@example.com\u{1}auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\u{1}\u{1}"
        );
        // The example of RFC 7628 §4.1 without host and port:
        // n,a=user@example.com,^Aauth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==^A^A
        let rfc_token = Secret::new("vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
        let rfc = IssuedToken {
            token: &rfc_token,
            user: "user@example.com",
            ..t
        };
        assert_eq!(
            render(TokenFormat::Oauthbearer, &rfc),
            base64::engine::general_purpose::STANDARD.encode(
                "n,a=user@example.com,\u{1}auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\u{1}\u{1}"
            )
        );
        let escaped = IssuedToken { user: "a=b,c", ..rfc };
        assert!(decode(render(TokenFormat::Oauthbearer, &escaped)).starts_with("n,a=a=3Db=2Cc,"));
        assert_eq!(
            render(TokenFormat::Header, &escaped),
            "Authorization: Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
        );
        assert_eq!(
            render(TokenFormat::Raw, &escaped),
            "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
        );
    }
}

//! A catalog entry made from an OpenID Connect discovery document, for
//! `keyport providers add --issuer URL` and the app's "Add by issuer" form: the endpoints, whether
//! PKCE with S256 is offered, revocation, the device endpoint, and sensible default scopes, written
//! into the user's `providers.toml` (by [`crate::Catalog::add_to_user_file`]) where they can be
//! read and edited.

use crate::provider::discovery::{supports_s256, Discovery};
use url::Url;

/// An id from the issuer's host: `sso.example.com/realms/x` gives `sso-example-com`.
pub fn id_for(issuer: &Url) -> String {
    let host = issuer.host_str().unwrap_or("provider").to_ascii_lowercase();
    let id: String = host
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    id.trim_matches('-').to_string()
}

/// The `[providers.<id>]` table for `doc`.
pub fn entry(doc: &Discovery, display_name: &str, client_id: Option<&str>) -> toml_edit::Table {
    let mut t = toml_edit::Table::new();
    t.decor_mut().set_prefix(format!(
        "\n# Added from {}/.well-known/openid-configuration by `keyport providers add`.\n",
        doc.issuer.trim_end_matches('/')
    ));
    t.insert("display_name", toml_edit::value(display_name));
    t.insert("issuer", toml_edit::value(&doc.issuer));
    for (field, url) in doc.endpoints().iter() {
        if let (Some(url), false) = (url, field == "issuer") {
            t.insert(field, toml_edit::value(url.as_str()));
        }
    }
    if !supports_s256(doc) {
        t.insert("pkce", toml_edit::value(false));
    }
    let supported = |s: &str| doc.scopes_supported.is_empty() || doc.scopes_supported.iter().any(|x| x == s);
    let scopes: toml_edit::Array = ["openid", "email", "profile", "offline_access"]
        .into_iter()
        .filter(|s| *s == "openid" || supported(s))
        .collect();
    t.insert("scopes", toml_edit::value(scopes));
    // A desktop app is a public client; only a server that refuses those gets a secret method.
    let methods = &doc.token_endpoint_auth_methods_supported;
    let auth = if methods.is_empty() || methods.iter().any(|m| m == "none") {
        "none"
    } else if methods.iter().any(|m| m == "client_secret_basic") {
        "client_secret_basic"
    } else {
        "client_secret_post"
    };
    t.insert("token_request_auth_method", toml_edit::value(auth));
    if let Some(id) = client_id {
        t.insert("client_id", toml_edit::value(id));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn doc(extra: serde_json::Value) -> Discovery {
        let mut v = serde_json::json!({
            "issuer": "https://sso.example.com/realms/main",
            "authorization_endpoint": "https://sso.example.com/auth",
            "token_endpoint": "https://sso.example.com/token",
        });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn an_entry_carries_what_discovery_says() {
        let d = doc(serde_json::json!({
            "device_authorization_endpoint": "https://sso.example.com/device",
            "code_challenge_methods_supported": ["plain"],
            "scopes_supported": ["openid", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }));
        let text = entry(&d, "SSO", Some("kp")).to_string();
        assert!(
            text.contains("device_authorization_url = \"https://sso.example.com/device\""),
            "{text}"
        );
        assert!(text.contains("pkce = false"), "{text}");
        assert!(text.contains("scopes = [\"openid\", \"email\"]"), "{text}");
        assert!(
            text.contains("client_secret_basic") && text.contains("client_id = \"kp\""),
            "{text}"
        );
        assert_eq!(
            id_for(&Url::parse("https://sso.example.com/realms/x").unwrap()),
            "sso-example-com"
        );
    }

    #[test]
    fn writing_keeps_the_file_and_refuses_a_taken_id() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("providers.toml");
        std::fs::write(&file, "# mine\n[providers.github]\nclient_id = \"x\"\n").unwrap();
        let d = doc(serde_json::json!({}));
        Catalog::add_to_user_file(&file, "sso", entry(&d, "SSO", None)).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("# mine\n[providers.github]"), "{text}");
        let catalog = Catalog::load(&file).unwrap();
        assert_eq!(catalog.get("sso").unwrap().display_name, "SSO");
        for taken in ["sso", "google"] {
            let e = Catalog::add_to_user_file(&file, taken, entry(&d, "Again", None)).unwrap_err();
            assert!(e.to_string().contains("already a provider"), "{e}");
        }
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    }
}

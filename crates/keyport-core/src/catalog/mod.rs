//! The provider catalog: which OAuth 2.0 / OpenID Connect providers Keyport knows and how to talk to
//! each. It is data, not code: built-in presets ship embedded (`catalog/providers.toml`), and the
//! user's `providers.toml` adds providers or overrides single fields of built-in ones (typically just
//! `client_id`). The format is documented in `docs/providers.md`.
//!
//! - `schema`: a validated [`Provider`] (its quirks and endpoint fields are plain data in `model/`).
//! - `validate`: from the file's text to a [`Provider`]; `variables`: `{variables}` in URLs.
//! - `user_file`: edits of the user's file that keep its comments.

mod schema;
mod user_file;
mod validate;
mod variables;

pub use schema::{Provider, RedirectKind, Variable};
pub use user_file::ClientGrant;

use crate::error::{Error, Result};
use crate::model::EndpointSet;
use std::collections::BTreeMap;
use std::path::Path;

const BUILTIN: &str = include_str!("../../catalog/providers.toml");

#[derive(Debug, Clone)]
pub struct Catalog {
    providers: BTreeMap<String, Provider>,
}

impl Catalog {
    /// The built-in presets merged with the user's file at `user_file`, if it exists.
    pub fn load(user_file: &Path) -> Result<Self> {
        let user = match std::fs::read_to_string(user_file) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("read", user_file, e)),
        };
        Self::from_sources(user.as_deref(), &user_file.display().to_string())
    }

    /// The built-in presets alone, as shipped (the support matrix describes these).
    pub fn builtin() -> Result<Self> {
        Self::from_sources(None, "none")
    }

    /// The built-in presets merged with user catalog text. `user_name` names it in errors.
    pub fn from_sources(user: Option<&str>, user_name: &str) -> Result<Self> {
        let builtin = providers_table(BUILTIN, "the built-in catalog")?;
        let user = match user {
            Some(text) => providers_table(text, user_name)?,
            None => toml::Table::new(),
        };
        let mut providers = BTreeMap::new();
        let ids: std::collections::BTreeSet<&String> = builtin.keys().chain(user.keys()).collect();
        for id in ids {
            let mut table = match builtin.get(id) {
                Some(toml::Value::Table(t)) => t.clone(),
                _ => toml::Table::new(),
            };
            let source = if user.contains_key(id) {
                user_name
            } else {
                "the built-in catalog"
            };
            match user.get(id) {
                Some(toml::Value::Table(overrides)) => table.extend(overrides.clone()),
                Some(_) => {
                    return Err(catalog_error(
                        user_name,
                        format!("[providers.{id}] must be a table"),
                    ))
                }
                None => {}
            }
            let bad =
                |e: toml::de::Error| catalog_error(source, format!("provider \"{id}\": {}", e.message()));
            // The endpoint fields are read on their own, so their list is written once.
            let urls: toml::Table = EndpointSet::<()>::NAMES
                .iter()
                .filter_map(|name| table.remove(*name).map(|v| (name.to_string(), v)))
                .collect();
            let templates: EndpointSet<Option<String>> = toml::Value::Table(urls).try_into().map_err(bad)?;
            let spec: validate::ProviderSpec = toml::Value::Table(table).try_into().map_err(bad)?;
            let provider = validate::validate(id, spec, templates, builtin.contains_key(id))
                .map_err(|m| catalog_error(source, m))?;
            providers.insert(id.clone(), provider);
        }
        Ok(Self { providers })
    }

    pub fn get(&self, id: &str) -> Result<&Provider> {
        self.providers
            .get(id)
            .ok_or_else(|| Error::UnknownProvider(id.to_string()))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Provider> {
        self.providers.values()
    }
}

fn catalog_error(path: &str, message: String) -> Error {
    Error::Catalog {
        path: path.to_string(),
        message,
    }
}

fn providers_table(text: &str, name: &str) -> Result<toml::Table> {
    let mut doc: toml::Table = toml::from_str(text).map_err(|e| catalog_error(name, e.to_string()))?;
    if let Some(key) = doc.keys().find(|k| *k != "providers") {
        return Err(catalog_error(
            name,
            format!("unknown top-level key \"{key}\"; expected [providers.<id>] tables"),
        ));
    }
    match doc.remove("providers") {
        Some(toml::Value::Table(t)) => Ok(t),
        Some(_) => Err(catalog_error(name, "\"providers\" must be a table".into())),
        None => Ok(toml::Table::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RevocationStyle, TokenRequestFormat};

    #[test]
    fn every_builtin_entry_is_valid_and_https() {
        let catalog = Catalog::from_sources(None, "none").unwrap();
        let ids: Vec<&str> = catalog.iter().map(|p| p.id.as_str()).collect();
        assert!(ids.len() >= 30, "{} presets", ids.len());
        for expected in [
            "discord",
            "facebook",
            "github",
            "google",
            "kakao",
            "linkedin",
            "naver",
            "okta",
            "reddit",
            "franceconnect",
            "shopify",
            "openid",
            "linear",
            "microsoft",
            "slack",
            "gitlab",
            "bitbucket",
            "atlassian",
            "notion",
            "dropbox",
            "box",
            "spotify",
            "zoom",
            "figma",
            "asana",
            "salesforce",
            "twitch",
            "x",
            "strava",
            "intuit",
            "hubspot",
            "zendesk",
        ] {
            assert!(ids.contains(&expected), "missing preset {expected}");
        }
        for p in catalog.iter() {
            assert!(p.builtin);
            assert!(!p.is_set_up(), "{} ships a client id", p.id);
            assert_ne!(p.display_name, p.id.as_str(), "{} has no display name", p.id);
            let registration = p
                .registration_url
                .as_deref()
                .unwrap_or_else(|| panic!("{}: where to register?", p.id));
            assert!(registration.starts_with("https://"), "{}: {registration}", p.id);
            // Every variable resolves, with the user's value where there is no default.
            let given: BTreeMap<String, String> = p
                .required_variables()
                .map(|(k, _)| (k.clone(), "example".to_string()))
                .collect();
            let resolved = p
                .with_variables(&given)
                .unwrap_or_else(|e| panic!("{}: {e}", p.id));
            for url in resolved.urls.iter().filter_map(|(_, u)| u.as_ref()) {
                assert_eq!(url.scheme(), "https", "{}: {url}", p.id);
                assert!(!url.as_str().contains('{'), "{}: unsubstituted {url}", p.id);
            }
            for (name, var) in &p.variables {
                assert!(!var.description.is_empty(), "{}: {name} has no description", p.id);
            }
        }
    }

    #[test]
    fn user_file_overrides_single_fields_and_adds_providers() {
        let user = r#"
            [providers.github]
            client_id = "abc"

            [providers.demo]
            issuer = "http://127.0.0.1:4455"
            client_id = "keyport-demo"
            scopes = ["openid", "offline_access"]
            authorization_params = { prompt = "consent" }
        "#;
        let c = Catalog::from_sources(Some(user), "providers.toml").unwrap();
        let gh = c.get("github").unwrap();
        assert_eq!(gh.client_id.as_deref(), Some("abc"));
        assert_eq!(
            gh.urls.token_url.as_ref().unwrap().as_str(),
            "https://github.com/login/oauth/access_token"
        );
        let demo = c.get("demo").unwrap();
        assert!(!demo.builtin && demo.quirks.pkce && demo.is_set_up());
        assert_eq!(demo.quirks.authorization_params["prompt"], "consent");
    }

    #[test]
    fn bad_entries_get_clear_errors() {
        let cases = [
            (
                "[providers.y]\nauthorization_url = \"https://a/\"",
                "needs either `issuer`",
            ),
            ("[providers.y]\nissuer = \"http://example.com\"", "plain http"),
            (
                "[providers.y]\nissuer = \"https://a\"\ncleint_id = \"x\"",
                "unknown field",
            ),
            ("[providers.X]\nissuer = \"https://a\"", "may hold only"),
            ("[provider.x]\nissuer = \"https://a\"", "unknown top-level key"),
            ("[providers.y\n", "providers.toml"),
        ];
        for (text, expected) in cases {
            let err = Catalog::from_sources(Some(text), "providers.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{text:?} gave {err}");
        }
    }

    #[test]
    fn quirk_fields_are_checked() {
        let base = "[providers.q]\nauthorization_url = \"https://a/auth\"\ntoken_url = \"https://a/token\"\n";
        let cases = [
            (
                "keep_fields = [\"authed_user.access_token\"]",
                "tokens stay in the keychain",
            ),
            ("keep_fields = [\"refresh_token\"]", "tokens stay in the keychain"),
            ("keep_fields = [\"a..b\"]", "empty path"),
            ("revocation = \"bearer\"", "needs a `revocation_url`"),
            (
                "revocation = \"none\"\nrevocation_url = \"https://a/r\"",
                "contradicts",
            ),
            ("token_path = \".x\"", "not a dot path"),
            ("userinfo_query = \"{ viewer { id } }\"", "needs a `userinfo_url`"),
            ("scope_param = \"user scope\"", "parameter name"),
            ("token_request_format = \"xml\"", "unknown variant"),
            ("mcp_urls = [\"https://m/mcp\"]", "needs the `resource`"),
            (
                "address_space = \"public\"\nrevocation_url = \"https://10.0.0.1/r\"",
                "`revocation_url`: https://10.0.0.1/r is on a private network",
            ),
            ("address_space = \"nearby\"", "unknown variant"),
            (
                "resource = \"https://m/\"\nmcp_urls = [\"http://m.example/mcp\"]",
                "plain http",
            ),
        ];
        for (extra, expected) in cases {
            let text = format!("{base}{extra}\n");
            let err = Catalog::from_sources(Some(&text), "providers.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{extra:?} gave {err}");
        }
        let ok = format!(
            "{base}refresh_url = \"https://a/refresh\"\ntoken_path = \"authed_user\"\nkeep_fields = [\"team.name\"]\n\
             token_request_format = \"json\"\nrevocation = \"bearer\"\nrevocation_url = \"https://a/r\"\n"
        );
        let c = Catalog::from_sources(Some(&ok), "providers.toml").unwrap();
        let q = c.get("q").unwrap();
        assert_eq!(q.urls.refresh_url.as_ref().unwrap().as_str(), "https://a/refresh");
        assert_eq!(q.quirks.token_request_format, TokenRequestFormat::Json);
        assert_eq!(q.quirks.revocation, RevocationStyle::Bearer);
    }

    #[test]
    fn unknown_provider_is_an_error() {
        let c = Catalog::from_sources(None, "none").unwrap();
        assert!(matches!(c.get("nope"), Err(Error::UnknownProvider(_))));
    }
}

//! Edits of the user's `providers.toml` (the app's setup form, `providers add --issuer`): the rest
//! of the file is kept as it was, comments included, and an edit that would not load is refused
//! before anything is written.

use super::{catalog_error, Catalog};
use crate::error::{Error, Result};
use std::path::Path;

/// How a client gets its tokens, as [`Catalog::set_client`] writes it: the entry's `grant`, and
/// for an identity assertion where its ID token comes from.
#[derive(Debug, Clone, Copy)]
pub struct ClientGrant<'a> {
    /// `authorization_code`, `client_credentials` or `identity_assertion`.
    pub kind: &'a str,
    pub via: Option<&'a str>,
    pub idp_token_url: Option<&'a str>,
    pub idp_client_id: Option<&'a str>,
}

impl Catalog {
    /// Edits the user's file: `change` gets the catalog as the file makes it now, and the file's
    /// `[providers]` table. The edited text must load as a catalog before it replaces the file.
    /// Returns that catalog.
    pub fn edit_user_file(
        user_file: &Path,
        change: impl FnOnce(&Catalog, &mut toml_edit::Table) -> Result<()>,
    ) -> Result<Catalog> {
        let text = match std::fs::read_to_string(user_file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io("read", user_file, e)),
        };
        let name = user_file.display().to_string();
        let before = Self::from_sources(Some(&text), &name)?;
        let mut doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| catalog_error(&name, e.message().to_string()))?;
        let providers = doc
            .entry("providers")
            .or_insert_with(|| toml_edit::Item::Table(implicit_table()))
            .as_table_mut()
            .ok_or_else(|| catalog_error(&name, "`providers` must be a table".into()))?;
        change(&before, providers)?;
        let edited = doc.to_string();
        let after = Self::from_sources(Some(&edited), &name)?;
        crate::files::atomic::replace(user_file, edited.as_bytes())?;
        Ok(after)
    }

    /// Sets `client_id` of provider `id` in the user's file.
    pub fn set_client_id(user_file: &Path, id: &str, client_id: &str) -> Result<Catalog> {
        Self::set_client(user_file, id, client_id, None, None)
    }

    /// Sets provider `id`'s client id, how it authenticates at the token endpoint when
    /// `auth_method` says (`none`, `client_secret_basic`, `client_secret_post`, `private_key_jwt`),
    /// and how it gets tokens when `grant` says (in one edit: the entry is checked whole).
    pub fn set_client(
        user_file: &Path,
        id: &str,
        client_id: &str,
        auth_method: Option<&str>,
        grant: Option<ClientGrant<'_>>,
    ) -> Result<Catalog> {
        let client_id = client_id.trim();
        if client_id.is_empty() || client_id.chars().any(char::is_control) {
            return Err(Error::Usage(
                "the client id is empty or has control characters".into(),
            ));
        }
        let name = user_file.display().to_string();
        Self::edit_user_file(user_file, |catalog, providers| {
            catalog.get(id)?;
            let table = providers
                .entry(id)
                .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
                .as_table_mut()
                .ok_or_else(|| catalog_error(&name, format!("[providers.{id}] must be a table")))?;
            table.insert("client_id", toml_edit::value(client_id));
            if let Some(method) = auth_method {
                table.insert("token_request_auth_method", toml_edit::value(method));
            }
            if let Some(grant) = grant {
                let fields = [
                    (
                        "grant",
                        (grant.kind != "authorization_code").then_some(grant.kind),
                    ),
                    ("via", grant.via),
                    ("idp_token_url", grant.idp_token_url),
                    ("idp_client_id", grant.idp_client_id),
                ];
                for (field, value) in fields {
                    match value {
                        Some(value) => drop(table.insert(field, toml_edit::value(value))),
                        None => drop(table.remove(field)),
                    }
                }
            }
            Ok(())
        })
    }

    /// Changes provider `id`'s own table in the user's file (`change` gets it and the file's
    /// name, for its messages); an entry that is only built in is refused.
    fn edit_own_entry(
        user_file: &Path,
        id: &str,
        change: impl FnOnce(&mut toml_edit::Table, &str) -> Result<()>,
    ) -> Result<Catalog> {
        let file = user_file.display().to_string();
        Self::edit_user_file(user_file, |catalog, providers| {
            catalog.get(id)?;
            let table = providers
                .get_mut(id)
                .and_then(|t| t.as_table_mut())
                .ok_or_else(|| catalog_error(&file, format!("[providers.{id}] is not in the user's file")))?;
            change(table, &file)
        })
    }

    /// Sets provider `id`'s `display_name` in the user's file (an MCP server named after what it
    /// says it is).
    pub fn set_display_name(user_file: &Path, id: &str, name: &str) -> Result<Catalog> {
        Self::edit_own_entry(user_file, id, |table, _| {
            table.insert("display_name", toml_edit::value(name));
            Ok(())
        })
    }

    /// Adds `url` to provider `id`'s `mcp_urls` in the user's file: another URL of the MCP server
    /// whose tokens the entry holds.
    pub fn add_mcp_url(user_file: &Path, id: &str, url: &str) -> Result<Catalog> {
        Self::edit_own_entry(user_file, id, |table, file| {
            let urls = table
                .entry("mcp_urls")
                .or_insert_with(|| toml_edit::value(toml_edit::Array::new()))
                .as_array_mut()
                .ok_or_else(|| catalog_error(file, format!("[providers.{id}] mcp_urls must be a list")))?;
            if !urls.iter().any(|u| u.as_str() == Some(url)) {
                urls.push(url);
            }
            Ok(())
        })
    }

    /// Adds `table` as `[providers.<id>]` to the user's file. An id that is already taken
    /// (built-in or the user's) is refused. Returns the catalog with it.
    pub fn add_to_user_file(user_file: &Path, id: &str, table: toml_edit::Table) -> Result<Catalog> {
        let catalog = Self::edit_user_file(user_file, |catalog, providers| {
            if catalog.get(id).is_ok() {
                return Err(Error::ProviderExists(id.to_string()));
            }
            providers.insert(id, toml_edit::Item::Table(table));
            Ok(())
        })?;
        catalog.get(id)?;
        Ok(catalog)
    }
}

fn implicit_table() -> toml_edit::Table {
    let mut t = toml_edit::Table::new();
    // `[providers.github]` rather than an empty `[providers]` header above it.
    t.set_implicit(true);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_a_client_id_keeps_the_users_file_and_refuses_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("providers.toml");
        let original = "# my providers\n[providers.work]\ndisplay_name = \"Work\" # ours\nissuer = \"https://sso.example.com\"\n";
        std::fs::write(&file, original).unwrap();
        Catalog::set_client_id(&file, "github", " Iv1.abc ").unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with(original), "{text}");
        let catalog = Catalog::load(&file).unwrap();
        assert_eq!(
            catalog.get("github").unwrap().client_id.as_deref(),
            Some("Iv1.abc")
        );
        assert!(catalog.get("work").is_ok());

        for (id, client_id) in [("nope", "x"), ("github", "  "), ("github", "a\nb")] {
            assert!(
                Catalog::set_client_id(&file, id, client_id).is_err(),
                "{id} {client_id:?}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            text,
            "a refused edit changes nothing"
        );
    }
}

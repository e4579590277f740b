//! Which account's tokens go to an MCP server URL (`keyport mcp <URL>`, `keyport token --resource
//! <URL>`): the account connected for that very URL, as its catalog entry lists it (`mcp_urls`).
//!
//! Not the account whose resource covers the URL: a server's metadata may name a prefix of its URL
//! as its resource, the whole origin even, and other servers live on that origin; each gets its own
//! discovery and its own account, unless its own metadata names the same resource and the same
//! authorization server (`mcp_setup` then adds its URL to that entry).

use super::Keyport;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::store::accounts::Account;
use url::Url;

impl Keyport {
    /// The account whose tokens are for the MCP server at `resource`, as a reference: the account
    /// of the server at that URL, else the one whose resource it is exactly (the person asks for
    /// the token of that resource; no server is sent it).
    pub fn account_for_resource(&self, resource: &str) -> Result<String> {
        match self.account_for_server(resource) {
            Err(Error::NoSuchAccount(_)) => {}
            found => return found,
        }
        let wanted = parse_url(resource)?;
        let accounts = self.accounts()?;
        let matching: Vec<_> = accounts
            .iter()
            .filter(|a| {
                (a.connection.quirks.resource.as_deref())
                    .and_then(|r| Url::parse(r).ok())
                    .is_some_and(|r| comparable(&r) == comparable(&wanted))
            })
            .collect();
        one_of(resource, &matching)
    }

    /// The account whose tokens go to the MCP server at `url`, as a reference: only one connected
    /// for that very URL, or for another URL of the same server.
    pub(super) fn account_for_server(&self, url: &str) -> Result<String> {
        let wanted = parse_url(url)?;
        let accounts = self.accounts()?;
        // As the file says now, not as this process first read it: a bridge asks before its first
        // sign-in adds the server (in a Keyport of its own), and caching the catalog then would
        // hide the entry from the step-ups after.
        let catalog = Catalog::load(&self.home.providers_file()).ok();
        let matching: Vec<_> = accounts
            .iter()
            .filter(|a| serves(&served_urls(a, catalog.as_ref()), &wanted))
            .collect();
        one_of(url, &matching)
    }
}

/// `text` as a URL, or a usage error naming it.
pub(super) fn parse_url(text: &str) -> Result<Url> {
    Url::parse(text.trim()).map_err(|e| Error::Usage(format!("\"{text}\" is not a URL ({e})")))
}

/// The one account of `matching`, as a reference.
fn one_of(reference: &str, matching: &[&Account]) -> Result<String> {
    match matching {
        [one] => Ok(one.id.to_string()),
        [] => Err(Error::NoSuchAccount(reference.to_string())),
        many => Err(Error::AmbiguousAccount {
            reference: reference.to_string(),
            candidates: many.iter().map(|a| format!("{} ({})", a.id, a.label())).collect(),
        }),
    }
}

/// The MCP server URLs `account`'s tokens go to: those its catalog entry lists now (another URL of
/// the same server is added there when found) and those its connection kept. An account connected
/// before Keyport kept them serves the URL of its resource alone.
fn served_urls(account: &Account, catalog: Option<&Catalog>) -> Vec<String> {
    let quirks = &account.connection.quirks;
    let Some(resource) = &quirks.resource else {
        return Vec::new();
    };
    let entry = catalog
        .and_then(|c| c.get(account.provider.as_str()).ok())
        .filter(|p| p.quirks.resource.as_ref() == Some(resource));
    let mut urls = quirks.mcp_urls.clone();
    for url in entry.map(|p| p.quirks.mcp_urls.as_slice()).unwrap_or_default() {
        if !urls.contains(url) {
            urls.push(url.clone());
        }
    }
    if urls.is_empty() {
        urls.push(resource.clone());
    }
    urls
}

/// Whether `url` is one of `urls`.
pub(super) fn serves(urls: &[String], url: &Url) -> bool {
    let wanted = comparable(url);
    urls.iter()
        .filter_map(|u| Url::parse(u).ok())
        .any(|u| comparable(&u) == wanted)
}

/// A server URL as URLs are compared: without a fragment or a trailing slash (the URL parser has
/// already lowered the host and dropped a default port).
pub(super) fn comparable(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_url_is_served_only_when_listed_a_trailing_slash_aside() {
        let url = |s: &str| Url::parse(s).unwrap();
        let listed = ["https://m.example/a/mcp".to_string()];
        assert!(serves(&listed, &url("https://m.example/a/mcp/")));
        assert!(serves(&listed, &url("https://M.example:443/a/mcp")));
        for other in [
            "https://m.example/b/mcp",
            "https://m.example/",
            "https://m.example/a",
            "https://m.example/a/mcp/deeper",
            "https://m.example/a/mcp?tenant=2",
            "http://m.example/a/mcp",
        ] {
            assert!(!serves(&listed, &url(other)), "{other}");
        }
    }
}

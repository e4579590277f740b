//! Adding a remote MCP server by its URL (`keyport connect https://mcp.example.com/mcp`): its
//! sign-in is discovered (`provider/mcp.rs`) and written into the user's `providers.toml` as a
//! provider like any other, whose `resource` says which server its tokens are for. From there the
//! sign-in, refresh, revocation, the agent and consent are the ones every account has.
//!
//! One server, one entry: connecting the same server again finds its entry by its `resource` and
//! its authorization server together; a server can neither take an entry of another (another
//! resource under the id it would get) nor have tokens issued for a resource that is not its own.
//! An entry's tokens go only to the URLs it lists (`mcp_urls`): the one it was connected for, and
//! another only once that URL's own metadata named the same resource and authorization server.

use super::mcp_bridge::FirstSignIn;
use super::mcp_urls::{comparable, parse_url, serves};
use super::sign_in::{ConnectOptions, RedirectMode};
use super::Keyport;
use crate::catalog::{Catalog, Provider};
use crate::error::{Error, Result};
use crate::model::AccountId;
use crate::provider::mcp::{self, Challenge, McpServer};
use crate::redirect::loopback::SignInAddress;
use crate::secret::Secret;
use crate::store::config::McpSettings;
use url::Url;

/// Who Keyport is to a server without registering itself: a client the user
/// registered beforehand (`--client-id`), or the URL of a Client ID Metadata Document
/// (`--client-metadata-url`), which only a server that says it takes those gets. With
/// `client_credentials`, a machine's client that signs in as itself, with no person (MCP's
/// SEP-1046), by its secret or its private key.
#[derive(Debug, Clone, Default)]
pub struct OwnClient {
    pub client_id: String,
    /// Kept in the keychain; with it, Keyport authenticates with `client_secret_basic`.
    pub client_secret: Option<Secret>,
    /// The client id is a Client ID Metadata Document's URL.
    pub metadata_document: bool,
    /// The client signs in as itself (the client credentials grant): no browser, no person.
    pub client_credentials: bool,
    /// A PKCS#8 PEM private key that signs `private_key_jwt` assertions, kept in the keychain
    /// where a secret would be.
    pub private_key: Option<Secret>,
    /// Sign in through the organization's identity provider, as this account there (its
    /// reference): an identity assertion instead of a browser (MCP's SEP-990).
    pub via: Option<String>,
    /// Or with an ID token obtained elsewhere, exchanged at that identity provider.
    pub id_token_from: Option<GivenIdToken>,
}

/// An ID token obtained outside Keyport, and where to exchange it for identity assertions.
#[derive(Debug, Clone)]
pub struct GivenIdToken {
    /// The identity provider's token endpoint.
    pub token_url: String,
    /// Keyport's (public) client id there.
    pub client_id: String,
    /// Kept in the keychain; good until it expires.
    pub id_token: Secret,
}

impl OwnClient {
    /// With a private key, `private_key_jwt`. With a secret: `client_secret_post` when the server
    /// lists it (it names the client in the body too, which some servers' token endpoints insist
    /// on, the MCP Python SDK's among them), else `client_secret_basic` (RFC 8414's default).
    fn auth_method(&self, listed: &[String]) -> &'static str {
        match (&self.client_secret, &self.private_key) {
            (_, Some(_)) => "private_key_jwt",
            (None, None) => "none",
            (Some(_), None) if listed.iter().any(|m| m == "client_secret_post") => "client_secret_post",
            (Some(_), None) => "client_secret_basic",
        }
    }

    /// The credential the keychain keeps for this client: its secret or its private key.
    fn credential(&self) -> Option<&Secret> {
        self.private_key.as_ref().or(self.client_secret.as_ref())
    }

    fn grant(&self) -> &'static str {
        match (
            self.via.is_some() || self.id_token_from.is_some(),
            self.client_credentials,
        ) {
            (true, _) => "identity_assertion",
            (false, true) => "client_credentials",
            (false, false) => "authorization_code",
        }
    }
}

impl Keyport {
    /// The provider for the MCP server at `url`: the one already in the catalog for its resource,
    /// else a new entry made from discovery. With `own`, Keyport is that client there (its id in
    /// the entry, its secret in the keychain) instead of registering itself; without it, the
    /// metadata document config.toml names, if any.
    pub async fn mcp_provider(&mut self, url: &str, own: Option<&OwnClient>) -> Result<Provider> {
        // The person asks to sign in to it: what the bridge counted against it on its own is
        // forgotten.
        let server = crate::model::strip_query(&parse_url(url)?);
        if let Err(e) = self.unasked_sign_ins.forget(&server, crate::model::now()) {
            tracing::warn!(error = %e, "could not clear the count of sign-ins opened on their own");
        }
        self.mcp_provider_asked(url, own, None).await
    }

    /// [`Keyport::mcp_provider`], with discovery starting from the challenge the server already
    /// answered a request with, if any, instead of a request of its own.
    async fn mcp_provider_asked(
        &mut self,
        url: &str,
        own: Option<&OwnClient>,
        challenge: Option<&Challenge>,
    ) -> Result<Provider> {
        let configured = match own {
            Some(_) => None,
            None => McpSettings::load(&self.home.config_file())?
                .client_metadata_url
                .map(|url| OwnClient {
                    client_id: url.to_string(),
                    metadata_document: true,
                    ..OwnClient::default()
                }),
        };
        // `via` names an account by any reference: the entry keeps its id.
        let resolved;
        let own = match own {
            Some(own) if own.via.is_some() => {
                let idp = self.find(own.via.as_deref().unwrap_or_default())?;
                resolved = OwnClient {
                    via: Some(idp.id.to_string()),
                    ..own.clone()
                };
                Some(&resolved)
            }
            other => other,
        };
        let own = own.or(configured.as_ref());
        if let Some(document) = own.filter(|o| o.metadata_document) {
            let url = Url::parse(&document.client_id)
                .map_err(|e| Error::Usage(format!("\"{}\" is not a URL ({e})", document.client_id)))?;
            crate::model::check_endpoint(&url).map_err(Error::Usage)?;
        }
        let (provider, methods, takes_documents) = self.mcp_provider_entry(url, own, challenge).await?;
        // The configured document is a default: a client already set for this server (one the
        // user registered by hand, say) stays.
        if configured.is_some() && provider.client_id.is_some() {
            return Ok(provider);
        }
        let Some(own) = own.filter(|o| !o.metadata_document || takes_documents) else {
            if own.is_some() {
                tracing::info!("the server takes no Client ID Metadata Documents: Keyport registers itself");
            }
            return Ok(provider);
        };
        if let Some(secret) = own.credential() {
            self.keychain.check()?;
            self.keychain.set_client_secret(&provider.id, secret)?;
        }
        if let Some(given) = &own.id_token_from {
            self.keychain.set_identity_token(&provider.id, &given.id_token)?;
        }
        let method = own.auth_method(&methods);
        let changed = provider.client_id.as_deref() != Some(own.client_id.as_str())
            || provider.quirks.via != own.via
            || provider.quirks.idp_token_url.as_deref()
                != own.id_token_from.as_ref().map(|g| g.token_url.as_str())
            || (provider.quirks.grant == crate::model::GrantKind::ClientCredentials)
                != own.client_credentials
            || (own.private_key.is_some()
                && provider.token_request_auth_method != crate::model::TokenAuthMethod::PrivateKeyJwt);
        if changed {
            let given = own.id_token_from.as_ref();
            let grant = crate::catalog::ClientGrant {
                kind: own.grant(),
                via: own.via.as_deref(),
                idp_token_url: given.map(|g| g.token_url.as_str()),
                idp_client_id: given.map(|g| g.client_id.as_str()),
            };
            let catalog = Catalog::set_client(
                &self.home.providers_file(),
                provider.id.as_str(),
                &own.client_id,
                Some(method),
                Some(grant),
            )?;
            let updated = catalog.get(provider.id.as_str())?.clone();
            self.catalog = catalog.into();
            return Ok(updated);
        }
        Ok(provider)
    }

    /// The catalog entry (found or added), the token endpoint's authentication methods, and
    /// whether the server takes Client ID Metadata Documents.
    async fn mcp_provider_entry(
        &mut self,
        url: &str,
        own: Option<&OwnClient>,
        challenge: Option<&Challenge>,
    ) -> Result<(Provider, Vec<String>, bool)> {
        let url =
            Url::parse(url.trim()).map_err(|e| Error::Usage(format!("\"{url}\" is not a URL ({e})")))?;
        crate::model::check_endpoint(&url).map_err(Error::Usage)?;
        let server = mcp::discover(&url, challenge.cloned(), &self.http).await?;
        let resource = server.resource.as_str();
        // The same server only when its own metadata names the same resource and the same
        // authorization server: a resource alone may be a whole origin that several servers
        // claim, each with an authorization server of its own.
        let known = self
            .catalog()?
            .iter()
            .find(|p| p.quirks.resource.as_deref() == Some(resource) && same_authorization_server(p, &server))
            .cloned();
        if let Some(known) = known {
            let known = if serves(&known.quirks.mcp_urls, &url) {
                known
            } else {
                tracing::info!(provider = %known.id, server = %crate::model::strip_query(&url), "another URL of a connected MCP server");
                let catalog =
                    Catalog::add_mcp_url(&self.home.providers_file(), known.id.as_str(), &comparable(&url))?;
                let updated = catalog.get(known.id.as_str())?.clone();
                self.catalog = catalog.into();
                updated
            };
            return Ok((known, server.token_auth_methods, server.client_metadata_documents));
        }
        let base = id_for(&server.url);
        let catalog = self.catalog()?;
        let id = (1..)
            .map(|n| match n {
                1 => base.clone(),
                n => format!("{base}-{n}"),
            })
            .find(|id| catalog.get(id).is_err())
            .expect("an unbounded range always has a free id");
        let mut table = entry(&server);
        if let Some(own) = own.filter(|o| !o.metadata_document || server.client_metadata_documents) {
            table.insert("client_id", toml_edit::value(own.client_id.trim()));
            table.insert(
                "token_request_auth_method",
                toml_edit::value(own.auth_method(&server.token_auth_methods)),
            );
            if own.grant() != "authorization_code" {
                table.insert("grant", toml_edit::value(own.grant()));
            }
            if let Some(via) = &own.via {
                table.insert("via", toml_edit::value(via.as_str()));
            }
            if let Some(given) = &own.id_token_from {
                table.insert("idp_token_url", toml_edit::value(given.token_url.as_str()));
                table.insert("idp_client_id", toml_edit::value(given.client_id.as_str()));
            }
        }
        let catalog = Catalog::add_to_user_file(&self.home.providers_file(), &id, table)?;
        tracing::info!(provider = %id, resource, "MCP server added");
        let added = catalog.get(&id)?.clone();
        self.catalog = catalog.into();
        Ok((added, server.token_auth_methods, server.client_metadata_documents))
    }

    /// The account connected to the MCP server at `url` that can hand out a token now, if any: one
    /// in the middle of another client's first sign-in (still connecting) is not.
    pub fn ready_mcp_account(&self, url: &str) -> Result<Option<AccountId>> {
        match self.account_for_server(url) {
            Ok(reference) => {
                let account = self.find(&reference)?;
                let usable =
                    account.status(crate::model::now()) != crate::store::accounts::Status::NeedsReconnect;
                Ok(usable.then_some(account.id))
            }
            Err(Error::NoSuchAccount(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The first sign-in to the MCP server at `url`, in the browser, once it asked for one
    /// (`challenge`: its 401 or 403, where discovery starts and whose `scope` is asked for too).
    /// Several clients asking at once make one sign-in: the first holds a lock while it adds the
    /// server and signs in; the others wait for it and then take its account. `present` shows the
    /// sign-in's address with the server's name.
    pub async fn sign_in_to_mcp_server(
        &self,
        url: &str,
        challenge: Option<Challenge>,
        first: &FirstSignIn,
        present: &(dyn Fn(&SignInAddress, &str) + Send + Sync),
    ) -> Result<AccountId> {
        let lock = self.home.locks_dir().join("mcp-first-sign-in.lock");
        // Waiting for another client's sign-in may take minutes: off the runtime's threads.
        let _one_at_a_time =
            tokio::task::spawn_blocking(move || crate::store::lock::FileLock::exclusive(&lock))
                .await
                .map_err(|e| {
                    Error::Internal(format!("waiting for another sign-in to this server failed ({e})"))
                })??;
        if let Some(id) = self.ready_mcp_account(url)? {
            return Ok(id);
        }
        // A Keyport of its own: adding the server changes the catalog this one has read.
        let mut fresh = Keyport::open(self.home.clone())?;
        fresh.route = self.route;
        let server = fresh
            .mcp_provider_asked(url, first.own.as_ref(), challenge.as_ref())
            .await?;
        // Another URL of a server already connected (its metadata named the same resource and
        // authorization server): its account serves this URL now too.
        if let Some(id) = fresh.ready_mcp_account(url)? {
            return Ok(id);
        }
        if server.quirks.grant == crate::model::GrantKind::AuthorizationCode {
            self.unasked_sign_in(&parse_url(url)?)?;
        }
        let asked: Vec<String> = challenge
            .and_then(|c| c.scope)
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        let scopes = (!asked.is_empty()).then(|| {
            let mut scopes = server.scopes.clone();
            super::add_scopes(&mut scopes, &asked);
            scopes
        });
        let name = server.display_name.clone();
        let opts = ConnectOptions {
            timeout: first.timeout,
            scopes,
            ..ConnectOptions::default()
        };
        let account = fresh
            .connect_via(server.id.as_str(), opts, RedirectMode::Loopback, |address| {
                present(address, &name)
            })
            .await?;
        tracing::info!(account = %account.id, "connected the MCP server");
        Ok(account.id)
    }
}

impl Keyport {
    /// What the MCP server at `url` says it is, asked with `token`: the `serverInfo` of an
    /// `initialize` (its `title`, else its `name`), made fit for a nickname; `None` when it says
    /// nothing usable. The session it opened is closed again.
    pub(super) async fn mcp_server_name(
        &self,
        url: &str,
        space: crate::model::AddressSpace,
        token: &Secret,
    ) -> Option<String> {
        let url = Url::parse(url).ok()?;
        // Where its name resolves now, which need not be where it did at discovery.
        let http = self.http_within(space);
        let response = http
            .post(url.clone())
            .bearer_auth(token.expose())
            .header("accept", "application/json, text/event-stream")
            .json(&mcp::initialize())
            .send()
            .await
            .ok()?;
        let session = response.headers().get("mcp-session-id").cloned();
        let body = crate::provider::http::read_capped(response).await.ok()?;
        if let Some(session) = session {
            let _ = (http.delete(url).bearer_auth(token.expose()))
                .header("mcp-session-id", session)
                .send()
                .await;
        }
        server_name(&String::from_utf8_lossy(&body))
    }
}

/// The name in an `initialize` answer (JSON, or an event stream's `data`), fit for a nickname
/// ([`crate::text::name_from_server`]).
fn server_name(answer: &str) -> Option<String> {
    let json = if answer.trim_start().starts_with('{') {
        answer.to_string()
    } else {
        let mut events = super::mcp_bridge::events::EventReader::default();
        let mut all = events.push(answer.as_bytes()).ok()?;
        all.extend(events.finish());
        all.into_iter().find_map(|e| e.data)?
    };
    let answer: serde_json::Value = serde_json::from_str(&json).ok()?;
    let info = &answer["result"]["serverInfo"];
    let said = info["title"].as_str().or(info["name"].as_str())?;
    crate::text::name_from_server(said)
}

/// Whether the catalog entry `provider` signs in at the authorization server `server` names: the
/// same issuer and the same token endpoint.
fn same_authorization_server(provider: &Provider, server: &McpServer) -> bool {
    let trimmed = |s: &str| s.trim_end_matches('/').to_string();
    provider.urls.issuer.as_ref().map(|u| trimmed(u.as_str())) == server.issuer.as_deref().map(trimmed)
        && provider.urls.token_url.as_ref() == Some(&server.token_url)
}

/// An id from the server's host, port and path: `https://mcp.example.com/v1/mcp` gives
/// `mcp-example-com-v1-mcp`.
fn id_for(url: &Url) -> String {
    let mut text = url.host_str().unwrap_or("mcp").to_ascii_lowercase();
    if let Some(port) = url.port() {
        text.push_str(&format!("-{port}"));
    }
    text.push_str(url.path());
    let id: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut squeezed = String::with_capacity(id.len());
    for c in id.chars() {
        if !(c == '-' && squeezed.ends_with('-')) {
            squeezed.push(c);
        }
    }
    squeezed.trim_matches('-').to_string()
}

/// The `[providers.<id>]` table for `server`.
fn entry(server: &McpServer) -> toml_edit::Table {
    let mut t = toml_edit::Table::new();
    t.decor_mut().set_prefix(format!(
        "\n# The MCP server {}, added by `keyport connect`.\n",
        crate::model::strip_query(&server.url)
    ));
    t.insert("display_name", toml_edit::value(&server.name));
    t.insert("resource", toml_edit::value(server.resource.as_str()));
    // The URL it was connected for: its tokens go to this server alone, whatever its resource.
    let urls: toml_edit::Array = [comparable(&server.url)].into_iter().collect();
    t.insert("mcp_urls", toml_edit::value(urls));
    // The authorization server's issuer: each sign-in reads its metadata again and checks the
    // callback's `iss` against it (RFC 9207), required when the metadata says it sends one.
    if let Some(issuer) = &server.issuer {
        t.insert("issuer", toml_edit::value(issuer.as_str()));
    }
    t.insert(
        "authorization_url",
        toml_edit::value(server.authorization_url.as_str()),
    );
    t.insert("token_url", toml_edit::value(server.token_url.as_str()));
    for (field, url) in [
        ("revocation_url", &server.revocation_url),
        ("dynamic_registration_url", &server.registration_url),
    ] {
        if let Some(url) = url {
            t.insert(field, toml_edit::value(url.as_str()));
        }
    }
    if server.revocation_url.is_none() {
        t.insert("revocation", toml_edit::value("none"));
    }
    // Where the server was found: the endpoints it named are reached only there or further out.
    if server.address_space != crate::model::AddressSpace::Local {
        t.insert("address_space", toml_edit::value(server.address_space.name()));
    }
    let scopes: toml_edit::Array = server.scopes.iter().map(String::as_str).collect();
    t.insert("scopes", toml_edit::value(scopes));
    if server.prompt_consent {
        let mut params = toml_edit::InlineTable::new();
        params.insert("prompt", "consent".into());
        t.insert("authorization_params", toml_edit::value(params));
    }
    t.insert("token_request_auth_method", toml_edit::value("none"));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_name_is_its_title_else_its_name_made_fit_for_a_nickname() {
        let json = r#"{"jsonrpc":"2.0","id":1,"result":{"serverInfo":{"name":"acme-mcp","title":"Acme: Tickets\u001b[2J"}}}"#;
        assert_eq!(server_name(json).as_deref(), Some("Acme Tickets[2J"));
        let stream = "event: message\ndata: {\"result\":{\"serverInfo\":{\"name\":\"acme-mcp\"}}}\n\n";
        assert_eq!(server_name(stream).as_deref(), Some("acme-mcp"));
        assert_eq!(server_name(r#"{"result":{"serverInfo":{"name":"  "}}}"#), None);
        assert_eq!(server_name("not json"), None);
    }

    #[test]
    fn ids_come_from_host_port_and_path() {
        let id = |s: &str| id_for(&Url::parse(s).unwrap());
        assert_eq!(id("https://mcp.example.com/v1/mcp"), "mcp-example-com-v1-mcp");
        assert_eq!(id("http://127.0.0.1:8080/mcp/"), "127-0-0-1-8080-mcp");
        assert_eq!(id("https://MCP.example.com"), "mcp-example-com");
    }
}

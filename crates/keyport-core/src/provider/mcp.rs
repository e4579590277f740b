//! Finding how to sign in to a remote MCP server from its URL alone, in the order the MCP
//! authorization spec (2025-11-25) gives, with the fallbacks of its earlier revisions:
//!
//! 1. A request without a token: the 401's `WWW-Authenticate: Bearer resource_metadata=…,
//!    scope=…`.
//! 2. RFC 9728 protected-resource metadata: from `resource_metadata`, else the well-known URL
//!    with the server's path inserted, then at the root. Its `resource` must be the server's URL or
//!    a prefix of it on the same origin; it is what Keyport sends as `resource` (RFC 8707).
//! 3. RFC 8414 authorization-server metadata, then OpenID discovery: for an issuer with a path,
//!    path-inserted (OAuth, then OpenID), then OpenID path-appended, never the root; without a
//!    path, the two root documents.
//! 4. 2025-03-26 servers: no resource metadata means the server's origin is the authorization
//!    server; with no metadata there either, the default endpoints `/authorize`, `/token` and
//!    `/register` at the origin. The metadata found there may name an issuer under a path of the
//!    same origin (`https://mcp.example.com/oauth`): taken, since a mix-up needs another server's
//!    issuer, and the origin is the server's own (SECURITY.md).
//!
//! A server need not ask for a sign-in at its first request: it may let discovery, `initialize`
//! and listing tools through and ask only at a tool call. The bridge then starts discovery from
//! that later challenge; `keyport connect` on such a server finds its resource metadata at the
//! well-known address.
//!
//! Every URL a server names is checked like a catalog URL (https, or http on loopback) and is
//! only ever fetched or handed to the browser through the one-time start page, never a shell. It
//! is reached only at an address as public as the server's own, the address Keyport reached it at
//! (`provider/reach.rs`): a server on the internet cannot aim Keyport at this machine or its
//! network.

use crate::error::ProviderError;
use crate::model::{check_endpoint, strip_query, AddressSpace};
use crate::provider::http;
use crate::provider::reach::{self, Clients};
use serde::Deserialize;
use std::net::IpAddr;
use url::Url;

/// What a sign-in to an MCP server needs, as discovered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpServer {
    /// The server's URL as given.
    pub url: Url,
    /// The RFC 8707 resource indicator: the metadata's `resource`, else the server's URL.
    pub resource: Url,
    /// A name for people: the metadata's `resource_name` (as [`crate::text::name_from_server`]
    /// makes it safe), else the host and path (the server's own name, from its `serverInfo`,
    /// replaces it once signed in).
    pub name: String,
    pub authorization_url: Url,
    pub token_url: Url,
    pub registration_url: Option<Url>,
    pub revocation_url: Option<Url>,
    /// The issuer identifier, when metadata gave one (RFC 9207 check).
    pub issuer: Option<String>,
    pub iss_parameter_supported: bool,
    /// What to ask for: the challenge's `scope`, else the resource metadata's `scopes_supported`,
    /// else nothing; `offline_access` added when the authorization server lists it.
    pub scopes: Vec<String>,
    /// How clients may authenticate at the token endpoint, as its metadata lists them.
    pub token_auth_methods: Vec<String>,
    /// Whether it takes a Client ID Metadata Document's URL as a client id.
    pub client_metadata_documents: bool,
    /// Whether the authorization request says `prompt=consent`: an OpenID provider grants
    /// `offline_access` (a refresh token) only then (OpenID Connect Core §11), and drops it
    /// silently otherwise.
    pub prompt_consent: bool,
    /// The address space the server was reached in: what it names is reached only there or in a
    /// more public one.
    pub address_space: AddressSpace,
}

/// RFC 9728 protected-resource metadata, the part Keyport reads.
#[derive(Debug, Deserialize)]
struct ResourceMetadata {
    resource: String,
    #[serde(default)]
    authorization_servers: Vec<String>,
    #[serde(default)]
    scopes_supported: Vec<String>,
    #[serde(default)]
    resource_name: Option<String>,
}

/// RFC 8414 / OpenID authorization-server metadata, the part Keyport reads.
#[derive(Debug, Deserialize)]
struct ServerMetadata {
    issuer: String,
    authorization_endpoint: Url,
    token_endpoint: Url,
    #[serde(default)]
    registration_endpoint: Option<Url>,
    #[serde(default)]
    revocation_endpoint: Option<Url>,
    #[serde(default)]
    code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    scopes_supported: Vec<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    client_id_metadata_document_supported: bool,
}

/// A `WWW-Authenticate: Bearer …` challenge's parameters Keyport uses.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub resource_metadata: Option<String>,
    pub scope: Option<String>,
    /// `insufficient_scope` asks for a sign-in with more scopes (step-up).
    pub error: Option<String>,
    /// The address the answer carrying it came from: where the server is.
    pub from: Option<IpAddr>,
}

/// Discovers how to sign in to the MCP server at `url`, starting from `challenge` (the 401 or 403
/// the server answered a request with) when there is one, else from a request of its own.
pub async fn discover(
    url: &Url,
    challenge: Option<Challenge>,
    clients: &Clients,
) -> Result<McpServer, ProviderError> {
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => "the MCP server".to_string(),
    };
    let fail = |reason: String| ProviderError::new(&host, "MCP discovery", reason);
    let host_and_path = format!("{host}{}", url.path().trim_end_matches('/'));
    check_endpoint(url).map_err(fail)?;
    let (challenge, asked) = match challenge {
        Some(challenge) => (challenge, true),
        None => probe(url, clients.within(AddressSpace::Local))
            .await
            .map_err(fail)?,
    };
    let space = match challenge.from {
        Some(ip) => AddressSpace::of(ip),
        None => reach::space_of_host(url).await,
    };
    // Everything from here on is named by the server, or at its name, which may resolve elsewhere
    // by now: reached only in its space or a more public one.
    let at = Reach {
        client: clients.within(space),
        space,
    };
    let metadata = resource_metadata(url, &challenge, &at).await.map_err(fail)?;
    if metadata.is_none() && !asked {
        return Err(fail(format!(
            "{} answered without asking for a sign-in and publishes no resource metadata: it \
             needs none (`keyport mcp` forwards to it as it is, and signs in if it ever asks)",
            strip_query(url)
        )));
    }
    let legacy = metadata.is_none();
    let (resource, servers, name, resource_scopes) = match metadata {
        Some(m) => {
            let resource = check_resource(url, &m.resource).map_err(fail)?;
            (
                resource,
                m.authorization_servers,
                // The server's words, shown and kept as Keyport's own: made safe here, once.
                m.resource_name.as_deref().and_then(crate::text::name_from_server),
                m.scopes_supported,
            )
        }
        // 2025-03-26: the server's origin is its own authorization server.
        None => (url.clone(), vec![origin(url)], None, Vec::new()),
    };
    let issuer = servers
        .first()
        .ok_or_else(|| fail("its resource metadata names no authorization server".into()))?;
    let issuer = Url::parse(issuer).map_err(|e| {
        fail(format!(
            "its authorization server \"{issuer}\" is not a URL ({e})"
        ))
    })?;
    at.check(&issuer).map_err(fail)?;
    let found = server_metadata(&issuer, legacy.then_some(url), &at)
        .await
        .map_err(fail)?;
    let mut scopes: Vec<String> = match &challenge.scope {
        Some(scope) => scope.split_whitespace().map(str::to_string).collect(),
        None => resource_scopes,
    };
    let server = match found {
        Some(m) => {
            if !m.code_challenge_methods_supported.iter().any(|c| c == "S256") {
                return Err(fail(format!(
                    "its authorization server ({}) does not offer PKCE with S256, which the MCP \
                     authorization spec requires; Keyport will not sign in without it",
                    strip_query(&issuer)
                )));
            }
            for endpoint in [Some(&m.authorization_endpoint), Some(&m.token_endpoint)]
                .into_iter()
                .chain([m.registration_endpoint.as_ref(), m.revocation_endpoint.as_ref()])
                .flatten()
            {
                at.check(endpoint).map_err(fail)?;
            }
            let rediscoverable = m.issuer.trim_end_matches('/') == issuer.as_str().trim_end_matches('/');
            let offline = m.scopes_supported.iter().any(|s| s == "offline_access");
            if offline && !scopes.iter().any(|s| s == "offline_access") {
                scopes.push("offline_access".into());
            }
            let prompt_consent = offline && m.scopes_supported.iter().any(|s| s == "openid");
            McpServer {
                url: url.clone(),
                resource,
                name: name.unwrap_or_else(|| host_and_path.clone()),
                authorization_url: m.authorization_endpoint,
                token_url: m.token_endpoint,
                registration_url: m.registration_endpoint,
                revocation_url: m.revocation_endpoint,
                // An issuer under a path of a 2025-03-26 server's origin publishes its metadata
                // at the origin only, where a sign-in's discovery would not look: its endpoints
                // are kept instead, and no RFC 9207 check can be made (SECURITY.md).
                issuer: rediscoverable.then_some(m.issuer),
                iss_parameter_supported: rediscoverable && m.authorization_response_iss_parameter_supported,
                scopes,
                token_auth_methods: m.token_endpoint_auth_methods_supported,
                client_metadata_documents: m.client_id_metadata_document_supported,
                prompt_consent,
                address_space: space,
            }
        }
        // 2025-03-26 without metadata: the default endpoints at the origin.
        None => {
            let at = |path: &str| issuer.join(path).expect("a path joins an origin");
            McpServer {
                url: url.clone(),
                resource,
                name: name.unwrap_or_else(|| host_and_path.clone()),
                authorization_url: at("/authorize"),
                token_url: at("/token"),
                registration_url: Some(at("/register")),
                revocation_url: None,
                issuer: None,
                iss_parameter_supported: false,
                scopes,
                token_auth_methods: Vec::new(),
                client_metadata_documents: false,
                prompt_consent: false,
                address_space: space,
            }
        }
    };
    tracing::info!(server = %strip_query(url), resource = %server.resource, address_space = space.name(), "MCP server discovered");
    Ok(server)
}

/// An `initialize` of Keyport's own (2025-11-25, which servers of every revision since answer):
/// the probe that starts discovery, and the question of what a server is called.
pub fn initialize() -> serde_json::Value {
    serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "keyport", "version": env!("CARGO_PKG_VERSION")}}
    })
}

/// A request without a token, as an MCP client's first: the challenge of its 401, if any, and
/// whether the server asked for a sign-in at all.
async fn probe(url: &Url, client: &reqwest::Client) -> Result<(Challenge, bool), String> {
    let response = client
        .post(url.clone())
        .header("accept", "application/json, text/event-stream")
        .json(&initialize())
        .send()
        .await
        .map_err(|e| http::HttpFailure::from(e).message)?;
    let from = response.remote_addr().map(|a| a.ip());
    let challenge = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(parse_challenge)
        .unwrap_or_default();
    match response.status().as_u16() {
        401 | 403 => Ok((Challenge { from, ..challenge }, true)),
        // Served without a token: it may still ask later, at a tool call.
        status if (200..300).contains(&status) => Ok((
            Challenge {
                from,
                ..Challenge::default()
            },
            false,
        )),
        status => Ok((
            Challenge {
                // A server that refuses the probe otherwise may still publish metadata.
                scope: None,
                error: None,
                resource_metadata: challenge.resource_metadata.filter(|_| status == 400),
                from,
            },
            true,
        )),
    }
}

/// The parameters of a `Bearer` challenge (RFC 6750 §3), quoted or not.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let rest = header.trim();
    let (scheme, params) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut challenge = Challenge::default();
    let mut rest = params.trim_start();
    while !rest.is_empty() {
        let Some((name, after)) = rest.split_once('=') else {
            break;
        };
        let name = name.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end..])
            }
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            }
        };
        match name.as_str() {
            "resource_metadata" => challenge.resource_metadata = Some(value),
            "scope" => challenge.scope = Some(value),
            "error" => challenge.error = Some(value),
            _ => {}
        }
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    Some(challenge)
}

/// The server's resource metadata: at the challenge's URL, else the well-known URLs; `None`
/// when the server publishes none (a 2025-03-26 server).
async fn resource_metadata(
    url: &Url,
    challenge: &Challenge,
    at: &Reach<'_>,
) -> Result<Option<ResourceMetadata>, String> {
    let places = match &challenge.resource_metadata {
        Some(given) => {
            let given =
                Url::parse(given).map_err(|e| format!("resource_metadata \"{given}\" is not a URL ({e})"))?;
            vec![given]
        }
        None => well_known(url, "oauth-protected-resource", true),
    };
    for place in &places {
        if let Some(doc) = fetch_json::<ResourceMetadata>(place, at).await? {
            return Ok(Some(doc));
        }
    }
    if challenge.resource_metadata.is_some() {
        return Err(format!("{} has no resource metadata", strip_query(&places[0])));
    }
    Ok(None)
}

/// The authorization server's metadata, in the spec's order; `None` when it publishes none.
/// With `legacy_server` (a 2025-03-26 server, whose origin `issuer` is), the document may name an
/// issuer under a path of that same origin.
async fn server_metadata(
    issuer: &Url,
    legacy_server: Option<&Url>,
    at: &Reach<'_>,
) -> Result<Option<ServerMetadata>, String> {
    for place in server_metadata_places(issuer) {
        if let Some(doc) = fetch_json::<ServerMetadata>(&place, at).await? {
            // RFC 8414 §3.3: the document names the issuer it was fetched for.
            let same = doc.issuer.trim_end_matches('/') == issuer.as_str().trim_end_matches('/');
            let on_own_origin = legacy_server.is_some_and(|server| {
                Url::parse(&doc.issuer).is_ok_and(|named| named.origin() == server.origin())
            });
            if !same && !on_own_origin {
                return Err(format!(
                    "{} names issuer {} instead of {issuer}",
                    strip_query(&place),
                    doc.issuer
                ));
            }
            return Ok(Some(doc));
        }
    }
    Ok(None)
}

/// Where an authorization server's metadata may be, in the order to try (MCP 2025-11-25).
pub fn server_metadata_places(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    if path.is_empty() {
        return vec![
            at_path(issuer, "/.well-known/oauth-authorization-server"),
            at_path(issuer, "/.well-known/openid-configuration"),
        ];
    }
    vec![
        at_path(issuer, &format!("/.well-known/oauth-authorization-server{path}")),
        at_path(issuer, &format!("/.well-known/openid-configuration{path}")),
        at_path(issuer, &format!("{path}/.well-known/openid-configuration")),
    ]
}

/// The well-known URLs of `name` for `url`: with its path inserted, then (when `root`) at the
/// root.
pub fn well_known(url: &Url, name: &str, root: bool) -> Vec<Url> {
    let path = url.path().trim_end_matches('/');
    let mut places = Vec::new();
    if !path.is_empty() {
        places.push(at_path(url, &format!("/.well-known/{name}{path}")));
    }
    if root || path.is_empty() {
        places.push(at_path(url, &format!("/.well-known/{name}")));
    }
    places
}

fn at_path(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    url.set_path(path);
    url.set_query(None);
    url.set_fragment(None);
    url
}

fn origin(url: &Url) -> String {
    at_path(url, "/").to_string()
}

/// The metadata's `resource`, accepted only as the server's own URL or a prefix of it on the same
/// origin: a server may not have tokens issued for another.
pub fn check_resource(url: &Url, resource: &str) -> Result<Url, String> {
    let parsed =
        Url::parse(resource).map_err(|e| format!("its resource \"{resource}\" is not a URL ({e})"))?;
    let same_origin = parsed.scheme() == url.scheme()
        && parsed.host() == url.host()
        && parsed.port_or_known_default() == url.port_or_known_default();
    let own = parsed.path().trim_end_matches('/');
    let path = url.path().trim_end_matches('/');
    let prefix = path == own || path.starts_with(&format!("{own}/")) || own.is_empty();
    if !same_origin || !prefix || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "its metadata names the resource {resource}, which is not {url} or a part of it; \
             Keyport will not have tokens issued for another server"
        ));
    }
    Ok(parsed)
}

/// How discovery reaches what a server names: the client for its address space, and the space.
struct Reach<'a> {
    client: &'a reqwest::Client,
    space: AddressSpace,
}

impl Reach<'_> {
    /// A URL the server named, checked before it is used: a catalog URL's rules, and an address
    /// in it within the server's reach (a name is checked where it resolves).
    fn check(&self, url: &Url) -> Result<(), String> {
        check_endpoint(url)?;
        self.space.check_url(url)
    }
}

/// `T` from `url`, or `None` for a 404 (or another 4xx: not there).
async fn fetch_json<T: serde::de::DeserializeOwned>(url: &Url, at: &Reach<'_>) -> Result<Option<T>, String> {
    at.check(url)?;
    let (status, body) = http::send(at.client.get(url.clone()).header("accept", "application/json"))
        .await
        .map_err(|e| e.message)?;
    match status {
        200 => serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| format!("{} is not valid metadata: {e}", strip_query(url))),
        400..=499 => Ok(None),
        status => Err(format!("{} answered HTTP {status}", strip_query(url))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn challenges_are_read_quoted_or_not() {
        let c = parse_challenge(
            r#"Bearer error="invalid_token", resource_metadata="https://m.example/.well-known/oauth-protected-resource/mcp", scope="files:read files:write""#,
        )
        .unwrap();
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("https://m.example/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(c.scope.as_deref(), Some("files:read files:write"));
        assert_eq!(c.error.as_deref(), Some("invalid_token"));
        let bare = parse_challenge("bearer scope=read, resource_metadata=https://m.example/prm").unwrap();
        assert_eq!(bare.scope.as_deref(), Some("read"));
        assert_eq!(bare.resource_metadata.as_deref(), Some("https://m.example/prm"));
        assert_eq!(parse_challenge(r#"Basic realm="x""#), None);
        assert_eq!(parse_challenge("Bearer").unwrap(), Challenge::default());
    }

    #[test]
    fn metadata_is_looked_for_in_the_specs_order() {
        let strs = |v: Vec<Url>| v.into_iter().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            strs(well_known(
                &u("https://m.example/public/mcp"),
                "oauth-protected-resource",
                true
            )),
            [
                "https://m.example/.well-known/oauth-protected-resource/public/mcp",
                "https://m.example/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(
            strs(server_metadata_places(&u("https://auth.example/tenant1"))),
            [
                "https://auth.example/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example/.well-known/openid-configuration/tenant1",
                "https://auth.example/tenant1/.well-known/openid-configuration"
            ],
            "an issuer with a path: never the root"
        );
        assert_eq!(
            strs(server_metadata_places(&u("https://auth.example/"))),
            [
                "https://auth.example/.well-known/oauth-authorization-server",
                "https://auth.example/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn the_resource_must_be_the_servers_own_url_or_a_prefix_of_it() {
        let server = u("https://m.example/v1/mcp");
        for ok in [
            "https://m.example/v1/mcp",
            "https://m.example/v1",
            "https://m.example/",
            "https://m.example",
        ] {
            assert!(check_resource(&server, ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://other.example/v1/mcp",
            "http://m.example/v1/mcp",
            "https://m.example:8443/v1/mcp",
            "https://m.example/v2/mcp",
            "https://m.example/v1/mc",
            "https://m.example/v1/mcp/deeper",
            "not a url",
        ] {
            assert!(check_resource(&server, bad).is_err(), "{bad}");
        }
    }
}

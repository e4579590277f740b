//! What a catalog entry holds once validated: a [`Provider`], with the [`Quirks`] it declares
//! (plain data in `model/`), and how it redirects and asks for `{variables}`. The file format is documented in
//! `docs/providers.md`.

use crate::model::{EndpointSet, Integration, ProviderId, Quirks, TokenAuthMethod};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use url::Url;

/// Where the provider sends the browser back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RedirectKind {
    /// `http://127.0.0.1:<ephemeral port>/callback` (RFC 8252 §7.3).
    #[default]
    Loopback,
    /// `keyport://oauth/callback`, delivered to the desktop app by the OS.
    DeepLink,
}

/// A per-connection value written `{name}` in a provider's URLs: a tenant, a shop, a self-hosted
/// server. Asked for when connecting (`--var name=value`, or the app's Connect form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// What to type, in a few words ("Your shop's subdomain").
    pub description: String,
    /// Used when the user gives no value; without one, a value is required.
    pub default: Option<String>,
}

/// A provider, validated and ready to use.
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: ProviderId,
    pub display_name: String,
    pub registration_url: Option<String>,
    /// The endpoints, checked (https, or http on loopback), with `{variables}` filled in: their
    /// defaults here, the user's values in [`Provider::with_variables`].
    pub urls: EndpointSet<Option<Url>>,
    pub quirks: Quirks,
    pub integration: Integration,
    pub scopes: Vec<String>,
    /// Whether the provider issues refresh tokens at all. For the support matrix: Keyport copes
    /// with a grant without one either way (the account needs a reconnect once it expires).
    pub refresh_tokens: bool,
    pub token_request_auth_method: TokenAuthMethod,
    pub redirect: RedirectKind,
    pub client_id: Option<String>,
    /// A client secret written in the catalog file. Desktop apps cannot keep secrets, so providers
    /// that insist on one (Google, GitHub) treat it as non-confidential; the keychain copy set with
    /// `keyport providers set-secret` wins when both exist.
    pub client_secret: Option<Secret>,
    /// Whether the entry comes from (or overrides) the built-in presets.
    pub builtin: bool,
    pub variables: BTreeMap<String, Variable>,
    /// The endpoint fields as written, `{variables}` included.
    pub(super) templates: EndpointSet<Option<String>>,
}

impl Provider {
    /// The variables the user must give: those without a default.
    pub fn required_variables(&self) -> impl Iterator<Item = (&String, &Variable)> {
        self.variables.iter().filter(|(_, v)| v.default.is_none())
    }

    /// Whether it can be signed in to: it has a client id, or registers one (RFC 7591).
    pub fn is_set_up(&self) -> bool {
        self.client_id.as_deref().is_some_and(|c| !c.trim().is_empty()) || self.registers_itself()
    }

    /// Whether Keyport registers itself with the provider (RFC 7591), having no client id of its
    /// own there (the registration is then kept: `store/registrations.rs`).
    pub fn registers_itself(&self) -> bool {
        self.client_id.is_none() && self.urls.dynamic_registration_url.is_some()
    }

    /// Whether the client authenticates with a secret (then the keychain or the file has one).
    pub fn wants_client_secret(&self) -> bool {
        self.token_request_auth_method != TokenAuthMethod::None
    }
}

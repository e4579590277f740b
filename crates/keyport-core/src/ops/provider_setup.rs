//! Setting providers up: a client id in the user's `providers.toml`, a client secret in the
//! keychain, or a whole entry from an OpenID Connect issuer's discovery document.

use super::Keyport;
use crate::catalog::{Catalog, Provider};
use crate::error::{Error, Result};
use crate::provider::{discovered, discovery};
use crate::secret::Secret;
use url::Url;

/// What the user chose when adding a provider by its issuer URL; the rest comes from the
/// discovery document.
#[derive(Debug, Clone, Default)]
pub struct NewProvider {
    /// The catalog id; derived from the issuer's host when not given.
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub client_id: Option<String>,
}

impl Keyport {
    pub fn set_client_secret(&self, provider_id: &str, secret: &Secret) -> Result<()> {
        let provider = self.catalog()?.get(provider_id)?;
        self.keychain.set_client_secret(&provider.id, secret)
    }

    /// Adds a provider from its OpenID Connect discovery document to the user's catalog, and
    /// returns it (reloaded, with the user's whole file).
    pub async fn add_provider_from_issuer(&mut self, issuer: &str, choice: NewProvider) -> Result<Provider> {
        let url = Url::parse(issuer.trim())
            .map_err(|e| Error::Usage(format!("\"{issuer}\" is not a URL ({e})")))?;
        crate::model::check_endpoint(&url).map_err(Error::Usage)?;
        let id = choice.id.clone().unwrap_or_else(|| discovered::id_for(&url));
        let doc = discovery::discover(url.host_str().unwrap_or("the issuer"), &url, self.http()).await?;
        let name = choice
            .display_name
            .clone()
            .unwrap_or_else(|| url.host_str().unwrap_or(&id).to_string());
        let table = discovered::entry(&doc, &name, choice.client_id.as_deref());
        let catalog = Catalog::add_to_user_file(&self.home.providers_file(), &id, table)?;
        tracing::info!(provider = %id, issuer = %doc.issuer, "provider added from discovery");
        let added = catalog.get(&id)?.clone();
        self.catalog = catalog.into();
        Ok(added)
    }

    /// Gives a provider its client id (in the user's providers.toml) and, optionally, its client
    /// secret (in the keychain), as the app's setup form does. The secret goes first: a client id
    /// without its secret would look set up and then fail at the token endpoint.
    pub fn set_up_provider(
        &mut self,
        provider_id: &str,
        client_id: &str,
        secret: Option<&Secret>,
    ) -> Result<()> {
        let provider = self.catalog()?.get(provider_id)?.id.clone();
        if let Some(secret) = secret.filter(|s| !s.expose().trim().is_empty()) {
            self.keychain.check()?;
            self.keychain.set_client_secret(&provider, secret)?;
        }
        self.catalog = Catalog::set_client_id(&self.home.providers_file(), provider_id, client_id)?.into();
        Ok(())
    }
}

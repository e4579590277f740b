//! The clients Keyport registers itself as (RFC 7591) at servers that let it: which registration
//! a sign-in reuses, registering a new one (its secret in the keychain, the rest kept in
//! `store/registrations.rs`), forgetting one the server no longer knows, and deleting a
//! registered client's secret once nothing signs in as it. Used by sign-in, refresh and
//! disconnect.

use super::sign_in::Prepared;
use super::Keyport;
use crate::catalog::Provider;
use crate::error::{Error, Result};
use crate::model::tokens::now;
use crate::model::{Connection, Registration, TokenAuthMethod};
use std::sync::Arc;
use url::Url;

/// Where a provider that registers itself does so.
pub(super) fn registration_url(provider: &Provider) -> &Url {
    provider
        .urls
        .dynamic_registration_url
        .as_ref()
        .expect("a provider that registers itself has a registration URL")
}

/// Whether a sign-in's failure may mean the server no longer knows the client: it refused it by
/// name, or the browser never came back (such a server shows an error page of its own). A person
/// saying no, or a server's passing trouble, keeps the registration.
pub(super) fn refused_client(e: &Error) -> bool {
    match e {
        Error::Timeout(_) => true,
        Error::Provider(p) => matches!(
            p.code.as_deref(),
            Some("invalid_client" | "unauthorized_client" | "invalid_request")
        ),
        _ => false,
    }
}

/// Makes the sign-in's connection that of `registration`'s client.
pub(super) fn be_client(prepared: &mut Prepared<'_>, registration: &Registration) {
    let connection = Arc::make_mut(&mut prepared.connection);
    connection.client_id = registration.client_id.clone();
    connection.auth_method = registration.auth_method;
}

impl Keyport {
    /// `kept`, the client Keyport registered earlier at this sign-in's registration endpoint, if
    /// it can serve this sign-in (the same issuer and endpoints, its scopes, its kind of
    /// redirect, its secret unexpired and still in the keychain).
    pub(super) fn usable_registration(
        &self,
        prepared: &Prepared<'_>,
        kept: &Registration,
        loopback: bool,
    ) -> Result<Option<Registration>> {
        if !kept.serves(&prepared.connection, &prepared.scopes, loopback, now()) {
            return Ok(None);
        }
        if kept.auth_method != TokenAuthMethod::None
            && self.keychain.registered_secret(&kept.own_secret_key())?.is_none()
        {
            return Ok(None);
        }
        Ok(Some(kept.clone()))
    }

    /// The registration kept for the endpoint `url`. An unreadable registrations file counts as
    /// empty: Keyport then registers again.
    pub(super) fn kept_at(&self, url: &Url) -> Option<Registration> {
        self.registrations.find(url).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the kept registrations cannot be read: registering again");
            None
        })
    }

    /// Registers Keyport with the provider (RFC 7591), with the exact redirect this sign-in comes
    /// back to and the scopes of this sign-in and of `earlier`, the registration it replaces (if
    /// that was for the same server); the client secret, if the server gives one, goes to the
    /// keychain, the rest to the store for next time.
    ///
    /// Replacing a registration for the same server, it also asks for every scope the server's
    /// metadata lists: a server that asked for more once (a step-up) may ask again, and each new
    /// scope would otherwise be one more client registered there (servers keep them all, and some
    /// refuse a scope the client did not register).
    pub(super) async fn register_for(
        &self,
        prepared: &mut Prepared<'_>,
        redirect_uri: &Url,
        earlier: Option<&Registration>,
    ) -> Result<()> {
        let url = registration_url(&prepared.provider);
        let earlier = earlier.filter(|earlier| earlier.is_for(&prepared.connection));
        let mut scopes = earlier.map(|earlier| earlier.scopes.clone()).unwrap_or_default();
        super::add_scopes(&mut scopes, &prepared.scopes);
        if earlier.is_some() {
            super::add_scopes(&mut scopes, &prepared.offered_scopes);
        }
        let registered = crate::provider::registration::register(
            &prepared.provider.display_name,
            url,
            &prepared.connection,
            redirect_uri,
            &scopes,
            self.http_within(prepared.connection.quirks.address_space),
        )
        .await?;
        let registration = registered.registration;
        if let Some(secret) = &registered.client_secret {
            self.keychain
                .set_registered_secret(&registration.own_secret_key(), secret)?;
        }
        tracing::info!(provider = %prepared.provider.id, "registered with the provider");
        be_client(prepared, &registration);
        match self.registrations.keep(registration) {
            Ok(replaced) => {
                for old in replaced.iter().filter(|r| r.auth_method != TokenAuthMethod::None) {
                    self.drop_unused_secret(&old.registration_url, &old.own_secret_key());
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not keep the registration: the next sign-in registers again")
            }
        }
        Ok(())
    }

    /// Forgets the registration of `client_id` at `url` (the server no longer knows it): the next
    /// sign-in there registers again.
    pub(super) fn forget_registration(&self, url: &Url, client_id: &str) {
        match self.registrations.forget(url, client_id) {
            Ok(forgotten) => {
                for old in forgotten {
                    tracing::info!(
                        "the server refused the registered client: the next sign-in registers again"
                    );
                    if old.auth_method != TokenAuthMethod::None {
                        self.drop_unused_secret(&old.registration_url, &old.own_secret_key());
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not forget the registration"),
        }
    }

    /// Deletes the keychain secret of a client Keyport registered once nothing signs in as it:
    /// it is no longer the registration kept for its server, and no account was made with it.
    /// Called when a registration is replaced or forgotten and when an account is disconnected,
    /// so that secrets of clients nobody uses do not pile up in the keychain. A sign-in that
    /// began with a registration just replaced can still finish with it; its refresh is then
    /// refused as `invalid_client` and the account asks for a reconnect.
    pub(super) fn drop_unused_secret(&self, registration_url: &Url, key: &str) {
        let in_use = || -> Result<bool> {
            let kept = self.registrations.find(registration_url)?;
            if kept.is_some_and(|k| k.own_secret_key() == key) {
                return Ok(true);
            }
            Ok(self
                .accounts
                .load()?
                .iter()
                .any(|a| Registration::secret_key_of(&a.connection).as_deref() == Some(key)))
        };
        match in_use().and_then(|used| {
            if used {
                Ok(false)
            } else {
                self.keychain.delete_registered_secret(key).map(|()| true)
            }
        }) {
            Ok(true) => tracing::info!("deleted the secret of a registered client nothing uses any more"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not delete the secret of a registered client nothing uses")
            }
        }
    }

    /// [`Self::drop_unused_secret`] for the client `connection` signed in as, if Keyport
    /// registered it with a secret.
    pub(super) fn drop_unused_secret_of(&self, connection: &Connection) {
        let url = connection.endpoints.dynamic_registration_url.as_ref();
        if let (true, Some(url), Some(key)) = (
            connection.wants_client_secret(),
            url,
            Registration::secret_key_of(connection),
        ) {
            self.drop_unused_secret(url, &key);
        }
    }
}

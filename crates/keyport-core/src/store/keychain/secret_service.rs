//! Linux: the Secret Service (gnome-keyring, KeePassXC, KWallet's bridge) spoken to directly, in a
//! *plain* session. The `keyring` crate's store opens an encrypted one: a 1024-bit Diffie-Hellman
//! exchange that costs both sides more than the rest of a lookup together (measured: ~9 of the ~12
//! ms of `keyport token` on the keychain path, docs/BENCHMARKS.md). The session bus is a local
//! socket of this user; whoever could read a plain secret on it (a bus monitor of the same user)
//! could as well ask the keychain for it, so the encryption defends nothing here.
//!
//! Items are the ones `keyring` made and reads: attributes `service` and `username`, in the
//! `default` collection, content type `application/octet-stream`; `secret-tool` finds them by the
//! same attributes. An existing item is updated in place, as `keyring` does.

use secret_service::blocking::SecretService;
use secret_service::{EncryptionType, Error};
use std::collections::HashMap;
use std::sync::Mutex;

const CONTENT_TYPE: &str = "application/octet-stream";

/// One connection for the process, made on first use, and made again after a failure (the
/// Secret Service may have restarted).
static CONNECTION: Mutex<Option<SecretService<'static>>> = Mutex::new(None);

fn with_service<T>(f: impl FnOnce(&SecretService<'static>) -> Result<T, Error>) -> Result<T, Error> {
    let mut held = CONNECTION.lock().unwrap_or_else(|e| e.into_inner());
    if held.is_none() {
        *held = Some(SecretService::connect(EncryptionType::Plain)?);
    }
    let result = f(held.as_ref().expect("connected above"));
    if matches!(
        result,
        Err(Error::Zbus(_) | Error::ZbusFdo(_) | Error::Unavailable)
    ) {
        *held = None;
    }
    result
}

fn attributes<'a>(service: &'a str, user: &'a str) -> HashMap<&'a str, &'a str> {
    HashMap::from([("service", service), ("username", user)])
}

/// The secret of the item for `service` and `user`, if there is one (unlocking it if it must).
pub fn get(service: &str, user: &str) -> Result<Option<Vec<u8>>, Error> {
    with_service(|ss| {
        let found = ss.search_items(attributes(service, user))?;
        let Some(item) = found.unlocked.into_iter().chain(found.locked).next() else {
            return Ok(None);
        };
        item.ensure_unlocked()?;
        item.get_secret().map(Some)
    })
}

/// Stores `secret` in the item for `service` and `user`, made in the default collection when
/// there is none.
pub fn set(service: &str, user: &str, label: &str, secret: &[u8]) -> Result<(), Error> {
    with_service(|ss| {
        let found = ss.search_items(attributes(service, user))?;
        if let Some(item) = found.unlocked.into_iter().chain(found.locked).next() {
            item.ensure_unlocked()?;
            return item.set_secret(secret, CONTENT_TYPE);
        }
        let collection = ss.get_default_collection()?;
        collection.ensure_unlocked()?;
        collection.create_item(label, attributes(service, user), secret, true, CONTENT_TYPE)?;
        Ok(())
    })
}

/// Deletes every item for `service` and `user`; `Ok(false)` when there was none.
pub fn delete(service: &str, user: &str) -> Result<bool, Error> {
    with_service(|ss| {
        let found = ss.search_items(attributes(service, user))?;
        let items: Vec<_> = found.unlocked.into_iter().chain(found.locked).collect();
        for item in &items {
            item.ensure_unlocked()?;
            item.delete()?;
        }
        Ok(!items.is_empty())
    })
}

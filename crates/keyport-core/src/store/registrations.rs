//! The clients Keyport registered itself as (RFC 7591), one per authorization server:
//! `registrations.json` in the data directory. Their secrets, when a server gives one, are in the
//! keychain; this file says only who Keyport is there.
//!
//! Kept so that each sign-in at a server is not a new client there: servers keep every
//! registration they are sent, and some limit how many one address may make. Losing this file
//! loses nothing but that: the next sign-in registers again.

use crate::error::{Error, Result};
use crate::model::Registration;
use crate::store::lock::FileLock;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use url::Url;

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    version: u32,
    #[serde(default)]
    registrations: Vec<Registration>,
}

#[derive(Debug, Clone)]
pub struct Registrations {
    path: PathBuf,
    lock: PathBuf,
}

impl Registrations {
    pub fn new(data_dir: &Path, locks_dir: &Path) -> Self {
        Self {
            path: data_dir.join("registrations.json"),
            lock: locks_dir.join("registrations.lock"),
        }
    }

    /// The registration kept for the server whose registration endpoint is `url`.
    pub fn find(&self, url: &Url) -> Result<Option<Registration>> {
        Ok(self
            .read()?
            .registrations
            .into_iter()
            .find(|r| &r.registration_url == url))
    }

    /// Keeps `registration` as the one for its server, in place of any earlier one, which it
    /// returns.
    pub fn keep(&self, registration: Registration) -> Result<Vec<Registration>> {
        self.change(|all| {
            let (replaced, kept) = std::mem::take(all)
                .into_iter()
                .partition(|r| r.registration_url == registration.registration_url);
            *all = kept;
            all.push(registration);
            replaced
        })
    }

    /// Forgets the registration of `client_id` at `url` (the server refused it, or a sign-in with
    /// it failed), unless another has taken its place meanwhile; returns what it forgot.
    pub fn forget(&self, url: &Url, client_id: &str) -> Result<Vec<Registration>> {
        self.change(|all| {
            let (forgotten, kept) = std::mem::take(all)
                .into_iter()
                .partition(|r| &r.registration_url == url && r.client_id == client_id);
            *all = kept;
            forgotten
        })
    }

    fn read(&self) -> Result<File> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::CorruptData {
                path: self.path.clone(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(File::default()),
            Err(e) => Err(Error::io("read", &self.path, e)),
        }
    }

    /// Read, edit and write under the file's lock, so that two sign-ins at once keep both edits.
    fn change<T>(&self, edit: impl FnOnce(&mut Vec<Registration>) -> T) -> Result<T> {
        let _lock = FileLock::exclusive(&self.lock)?;
        let mut file = self.read()?;
        let out = edit(&mut file.registrations);
        file.version = 1;
        let mut bytes = serde_json::to_vec_pretty(&file).expect("registrations serialize");
        bytes.push(b'\n');
        crate::files::atomic::replace(&self.path, &bytes)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TokenAuthMethod;

    fn registration(url: &str, client_id: &str) -> Registration {
        Registration {
            registration_url: Url::parse(url).unwrap(),
            issuer: None,
            authorization_url: Url::parse("https://as.example/authorize").unwrap(),
            token_url: Url::parse("https://as.example/token").unwrap(),
            client_id: client_id.into(),
            auth_method: TokenAuthMethod::None,
            redirect_uri: Url::parse("http://127.0.0.1:4711/callback").unwrap(),
            scopes: vec![],
            expires_at: None,
            registered_at: 1,
        }
    }

    #[test]
    fn one_registration_per_server_kept_replaced_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Registrations::new(dir.path(), &dir.path().join("locks"));
        let a = Url::parse("https://a.example/register").unwrap();
        assert_eq!(store.find(&a).unwrap(), None);
        store
            .keep(registration("https://a.example/register", "one"))
            .unwrap();
        store
            .keep(registration("https://b.example/register", "other"))
            .unwrap();
        let replaced = store
            .keep(registration("https://a.example/register", "two"))
            .unwrap();
        assert_eq!(replaced, [registration("https://a.example/register", "one")]);
        assert_eq!(store.find(&a).unwrap().unwrap().client_id, "two");
        assert!(
            store.forget(&a, "one").unwrap().is_empty(),
            "a replaced client is not the kept one"
        );
        assert_eq!(store.forget(&a, "two").unwrap().len(), 1);
        assert_eq!(store.find(&a).unwrap(), None);
        let b = Url::parse("https://b.example/register").unwrap();
        assert_eq!(store.find(&b).unwrap().unwrap().client_id, "other");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("registrations.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

//! Linux: the Secret Service (gnome-keyring, KeePassXC, KWallet's `ksecretd`), spoken to over
//! D-Bus with the few calls Keyport needs, in an encrypted session (`session_crypto`).
//!
//! Two things the `keyring` crate's store did not let us choose, both measured
//! (docs/BENCHMARKS.md):
//! - **One Keyport client of the Secret Service at a time.** gnome-keyring has a race in its
//!   client bookkeeping that aborts the daemon, taking every secret of the desktop session with
//!   it, when several clients talk to it at once and come and go fast; upstream reports show it
//!   with many programs. Sixteen processes reading at once set it off about once in 20,000 reads
//!   (plain sessions nine times); the same reads taking turns, never. So every operation takes
//!   `locks/keychain.lock`, connects, works and closes its connection before giving the turn to
//!   the next process: the daemon never sees two Keyport clients at once.
//! - **The session's cost.** See `session_crypto`: ~5 ms of a ~13 ms lookup were our own
//!   Diffie-Hellman arithmetic.
//!
//! Items are the ones the `keyring` crate made before, and `secret-tool` finds: attributes
//! `service` and `username`, in the default collection, content type `application/octet-stream`.
//! An existing item is updated in place.

use super::session_crypto::{KeyPair, SessionKey, ALGORITHM};
use crate::error::{KeychainError, KeychainProblem};
use crate::store::lock::FileLock;
use futures_lite::future;
use std::collections::HashMap;
use std::path::Path;
use zbus::blocking::{Connection, MessageIterator};
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};
use zeroize::Zeroizing;

const DEST: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";
const SERVICE: &str = "org.freedesktop.Secret.Service";
const ITEM: &str = "org.freedesktop.Secret.Item";
const COLLECTION: &str = "org.freedesktop.Secret.Collection";
const PROMPT: &str = "org.freedesktop.Secret.Prompt";
const CONTENT_TYPE: &str = "application/octet-stream";

type Result<T> = std::result::Result<T, KeychainError>;

/// A secret as the Secret Service carries it: session, IV, ciphertext, content type.
type WireSecret = (OwnedObjectPath, Vec<u8>, Vec<u8>, String);

/// The secret of the item for `service` and `user`, if there is one (unlocked first if it must).
pub fn get(turn: &Path, service: &str, user: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let (client, found) = Client::open(turn, service, user)?;
    let Some(item) = found.into_iter().next() else {
        return Ok(None);
    };
    let reply: HashMap<OwnedObjectPath, WireSecret> = client.call(
        SERVICE_PATH,
        SERVICE,
        "GetSecrets",
        &(vec![item], &client.session),
    )?;
    let (_, iv, sealed, _) = reply
        .into_values()
        .next()
        .ok_or_else(|| failed("the keychain returned no secret for an item it listed"))?;
    client
        .key
        .decrypt(&iv, &sealed)
        .map(Some)
        .ok_or_else(|| failed("a secret from the keychain did not decrypt"))
}

/// Stores `secret` in the item for `service` and `user`, made in the default collection when
/// there is none.
pub fn set(turn: &Path, service: &str, user: &str, label: &str, secret: &[u8]) -> Result<()> {
    let (client, found) = Client::open(turn, service, user)?;
    client.store(found.into_iter().next(), service, user, label, secret)?;
    Ok(())
}

/// Deletes every item for `service` and `user`.
pub fn delete(turn: &Path, service: &str, user: &str) -> Result<()> {
    let (client, found) = Client::open(turn, service, user)?;
    client.delete_items(found)
}

/// Writes an item for `service` and `user`, then deletes it, in one turn and one session:
/// whether the keychain can store (a sign-in asks before it sends the person to the browser).
pub fn probe(turn: &Path, service: &str, user: &str, label: &str) -> Result<()> {
    let (client, found) = Client::open(turn, service, user)?;
    let stored = client.store(found.first().cloned(), service, user, label, b"probe")?;
    // An item made behind a prompt has no path until then: found again by its attributes.
    let items = match stored {
        Some(item) => vec![item],
        None => client.search(service, user)?,
    };
    client.delete_items(found.into_iter().chain(items).collect())
}

/// What an item is found by: the keychain service name and the user (as `secret-tool lookup
/// service … username …` reads them).
fn item_attributes<'a>(service: &'a str, user: &'a str) -> HashMap<&'a str, &'a str> {
    HashMap::from([("service", service), ("username", user)])
}

/// One connection with an open session, held while this process has the turn.
struct Client {
    conn: Option<Connection>,
    session: OwnedObjectPath,
    key: SessionKey,
    // Declared last: dropped after `Drop::drop` has closed the connection.
    _turn: FileLock,
}

impl Client {
    /// Takes the turn, connects, opens a session and finds the items for `service` and `user`
    /// (unlocked). The search is sent right behind `OpenSession`, not after its answer: it needs
    /// no session, and the daemon answers both in one go, a round trip less.
    fn open(turn: &Path, service: &str, user: &str) -> Result<(Self, Vec<OwnedObjectPath>)> {
        let turn = FileLock::exclusive(turn).map_err(|e| failed(&e.to_string()))?;
        // Our half of the key agreement is computed while the bus connection is made.
        let (conn, pair) = std::thread::scope(|scope| {
            let pair = scope.spawn(KeyPair::generate);
            let conn = Connection::session();
            (conn, pair.join().expect("generating a key pair does not panic"))
        });
        let conn = conn.map_err(|e| classify_connect(&e))?;
        let pair = pair.map_err(|e| failed(&e.to_string()))?;
        let attributes = item_attributes(service, user);
        let bus = conn.inner();
        let (opened, searched) = future::block_on(future::zip(
            bus.call_method(
                Some(DEST),
                SERVICE_PATH,
                Some(SERVICE),
                "OpenSession",
                &(ALGORITHM, Value::from(pair.public())),
            ),
            bus.call_method(
                Some(DEST),
                SERVICE_PATH,
                Some(SERVICE),
                "SearchItems",
                &(attributes,),
            ),
        ));
        let (output, session): (OwnedValue, OwnedObjectPath) = opened
            .and_then(|reply| reply.body().deserialize())
            .map_err(|e| classify(&e))?;
        let peer: Vec<u8> = output
            .try_into()
            .map_err(|_| failed("the keychain's session answer is not a public key"))?;
        let key = pair
            .agree(&peer)
            .ok_or_else(|| failed("the keychain's public key is not a valid one"))?;
        let (mut unlocked, locked): (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>) = searched
            .and_then(|reply| reply.body().deserialize())
            .map_err(|e| classify(&e))?;
        let client = Self {
            conn: Some(conn),
            session,
            key,
            _turn: turn,
        };
        if !locked.is_empty() {
            client.unlock(locked.clone())?;
            unlocked.extend(locked);
        }
        Ok((client, unlocked))
    }

    fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("open until dropped")
    }

    fn call<R>(
        &self,
        path: &str,
        interface: &str,
        method: &str,
        body: &(impl serde::Serialize + zbus::zvariant::DynamicType),
    ) -> Result<R>
    where
        R: for<'d> zbus::zvariant::DynamicDeserialize<'d>,
    {
        let path = ObjectPath::try_from(path).map_err(|e| failed(&e.to_string()))?;
        let reply = self
            .conn()
            .call_method(Some(DEST), path, Some(interface), method, body)
            .map_err(|e| classify(&e))?;
        reply.body().deserialize().map_err(|e| classify(&e))
    }

    /// Unlocks `objects`, through the keychain's own prompt when it needs one.
    fn unlock(&self, objects: Vec<OwnedObjectPath>) -> Result<()> {
        let (_, prompt): (Vec<OwnedObjectPath>, OwnedObjectPath) =
            self.call(SERVICE_PATH, SERVICE, "Unlock", &(objects,))?;
        self.complete(&prompt)
    }

    /// Runs the prompt an operation returned ("/" when it needed none) and waits for the person's
    /// answer; a dismissed prompt leaves the keychain locked.
    fn complete(&self, prompt: &OwnedObjectPath) -> Result<()> {
        if prompt.as_str() == "/" {
            return Ok(());
        }
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(PROMPT)
            .and_then(|b| b.member("Completed"))
            .and_then(|b| b.path(prompt.as_str()))
            .map_err(|e| classify(&e))?
            .build();
        // Subscribed before the prompt starts, so its answer cannot come first.
        let mut answers =
            MessageIterator::for_match_rule(rule, self.conn(), None).map_err(|e| classify(&e))?;
        self.call::<()>(prompt.as_str(), PROMPT, "Prompt", &("",))?;
        let answer = answers
            .next()
            .ok_or_else(|| failed("the keychain's prompt ended without an answer"))?
            .map_err(|e| classify(&e))?;
        let (dismissed, _result): (bool, OwnedValue) =
            answer.body().deserialize().map_err(|e| classify(&e))?;
        if dismissed {
            return Err(KeychainError {
                problem: KeychainProblem::Locked,
                detail: "the unlock prompt was dismissed".into(),
            });
        }
        Ok(())
    }

    /// Stores `secret` in `item`, or in a new item of the default collection when there is
    /// none; returns the item's path when the keychain gave one.
    fn store(
        &self,
        item: Option<OwnedObjectPath>,
        service: &str,
        user: &str,
        label: &str,
        secret: &[u8],
    ) -> Result<Option<OwnedObjectPath>> {
        let wire = self.seal(secret)?;
        if let Some(item) = item {
            self.call::<()>(item.as_str(), ITEM, "SetSecret", &(wire,))?;
            return Ok(Some(item));
        }
        let collection: OwnedObjectPath = self.call(SERVICE_PATH, SERVICE, "ReadAlias", &("default",))?;
        if collection.as_str() == "/" {
            return Err(failed("the keychain has no default collection to store in"));
        }
        let attributes = item_attributes(service, user);
        let properties: HashMap<&str, Value> = HashMap::from([
            ("org.freedesktop.Secret.Item.Label", Value::from(label)),
            ("org.freedesktop.Secret.Item.Attributes", Value::from(attributes)),
        ]);
        let create = || -> Result<(OwnedObjectPath, OwnedObjectPath)> {
            self.call(
                collection.as_str(),
                COLLECTION,
                "CreateItem",
                &(&properties, &wire, true),
            )
        };
        let (item, prompt) = match create() {
            Err(e) if e.problem == KeychainProblem::Locked => {
                self.unlock(vec![collection.clone()])?;
                create()?
            }
            other => other?,
        };
        self.complete(&prompt)?;
        Ok((item.as_str() != "/").then_some(item))
    }

    /// The items for `service` and `user`, unlocked or not.
    fn search(&self, service: &str, user: &str) -> Result<Vec<OwnedObjectPath>> {
        let attributes = item_attributes(service, user);
        let (mut unlocked, locked): (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>) =
            self.call(SERVICE_PATH, SERVICE, "SearchItems", &(attributes,))?;
        unlocked.extend(locked);
        Ok(unlocked)
    }

    fn delete_items(&self, items: Vec<OwnedObjectPath>) -> Result<()> {
        let mut done: Vec<OwnedObjectPath> = Vec::new();
        for item in items {
            if done.contains(&item) {
                continue;
            }
            let prompt: OwnedObjectPath = self.call(item.as_str(), ITEM, "Delete", &())?;
            self.complete(&prompt)?;
            done.push(item);
        }
        Ok(())
    }

    fn seal(&self, secret: &[u8]) -> Result<WireSecret> {
        let (iv, sealed) = self.key.encrypt(secret).map_err(|e| failed(&e.to_string()))?;
        Ok((self.session.clone(), iv, sealed, CONTENT_TYPE.into()))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // Closed before the turn passes on: the next Keyport client must find this one gone.
        if let Some(conn) = self.conn.take() {
            let _ = conn.close();
        }
    }
}

fn failed(detail: &str) -> KeychainError {
    KeychainError {
        problem: KeychainProblem::Failed,
        detail: detail.to_string(),
    }
}

/// Why the session bus could not be reached: zbus reports a missing or refusing socket in words,
/// not as an I/O error kind.
fn classify_connect(e: &zbus::Error) -> KeychainError {
    let mut error = classify(e);
    let words = error.detail.to_lowercase();
    if [
        "no such file or directory",
        "connection refused",
        "failed to connect to address",
    ]
    .iter()
    .any(|w| words.contains(w))
    {
        error.problem = KeychainProblem::NoSessionBus;
    }
    error
}

/// Turns a D-Bus failure into one of the problems we can explain.
fn classify(e: &zbus::Error) -> KeychainError {
    let problem = match e {
        zbus::Error::MethodError(name, _, _) => match name.as_str() {
            "org.freedesktop.DBus.Error.ServiceUnknown" | "org.freedesktop.DBus.Error.NameHasNoOwner" => {
                KeychainProblem::NoService
            }
            "org.freedesktop.Secret.Error.IsLocked" => KeychainProblem::Locked,
            _ => KeychainProblem::Failed,
        },
        zbus::Error::Address(_) => KeychainProblem::NoSessionBus,
        zbus::Error::InputOutput(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            KeychainProblem::NoSessionBus
        }
        _ => KeychainProblem::Failed,
    };
    KeychainError {
        problem,
        detail: e.to_string(),
    }
}

//! The local token agent. While the desktop app runs (or `keyport agent`), it holds tokens in
//! memory and answers `keyport token` over a Unix socket in the user's runtime directory, so a
//! token costs one local round trip instead of a keychain read. It is also the one refresher of
//! the accounts while it runs.
//!
//! Protocol: one JSON line each way. Request `{"account": "...", "min_ttl": 300}`; answer
//! `{"ok": true, "token": "...", "account": "...", "expires_at": 123}` or
//! `{"ok": false, "kind": "needs_reconnect", "message": "..."}`.
//!
//! Only processes of the same user may ask: the socket is mode 0600 inside a 0700 directory, and
//! the peer's uid is checked on every connection. The CLI falls back to the keychain path when no
//! agent answers, with the same output and exit codes.

use crate::accounts::{self, Account};
use crate::audit::{self, Use};
use crate::error::{describe, Error, ErrorKind, Result};
use crate::keyport::{Keyport, DEFAULT_MIN_TTL_SECS};
use crate::secret::Secret;
use crate::tokens::{now, TokenSet};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// The longest request line the agent reads.
const MAX_REQUEST_BYTES: u64 = 4096;
/// How often the agent looks for tokens to refresh ahead of their expiry.
const REFRESH_SWEEP: Duration = Duration::from_secs(30);

#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    pub account: String,
    pub min_ttl: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Answer {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default)]
    pub expires_at: Option<u64>,
    /// The account's kept token-response fields (`keep_fields`), for `token --json`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub metadata: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ErrorKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Asks a running agent for a token. `None` when no agent answers (then use the keychain).
pub fn ask(socket: &Path, account: &str, min_ttl: u64) -> Option<Answer> {
    let stream = std::os::unix::net::UnixStream::connect(socket).ok()?;
    // A refresh at the provider can take a while; the HTTP client gives up after 30 s.
    stream.set_read_timeout(Some(Duration::from_secs(45))).ok()?;
    let mut line = serde_json::to_vec(&Request {
        account: account.to_string(),
        min_ttl,
    })
    .ok()?;
    line.push(b'\n');
    (&stream).write_all(&line).ok()?;
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).ok()?;
    serde_json::from_str(&answer).ok()
}

/// Tokens held in memory, each with the account's metadata as it was when cached: any change to
/// the account (refresh, revoke, rename, reconnect by another process) invalidates it.
#[derive(Default)]
struct Cache {
    accounts: Vec<Account>,
    /// Identifies the account file's version: it is replaced by rename, so every write brings a
    /// new inode.
    accounts_stamp: Option<(u64, SystemTime, u64)>,
    tokens: HashMap<String, (Account, TokenSet)>,
}

pub struct Agent {
    keyport: Arc<Keyport>,
    cache: Mutex<Cache>,
    /// Serializes the slow path (keychain read, refresh): the per-account file lock underneath
    /// blocks a thread, which must not happen to every runtime worker at once.
    slow_path: tokio::sync::Mutex<()>,
    uid: u32,
}

impl Agent {
    pub fn new(keyport: Arc<Keyport>) -> Arc<Self> {
        Arc::new(Self {
            keyport,
            cache: Mutex::default(),
            slow_path: tokio::sync::Mutex::new(()),
            // SAFETY: geteuid has no preconditions and cannot fail.
            uid: unsafe { libc::geteuid() },
        })
    }

    /// Binds the socket (replacing a stale one) and serves until the task is dropped. Fails if
    /// another agent already answers there.
    pub async fn serve(self: Arc<Self>) -> Result<()> {
        let path = self.keyport.home().agent_socket();
        let listener = bind(&path)?;
        tracing::info!(socket = %path.display(), "token agent listening");
        let sweeper = tokio::spawn(self.clone().sweep());
        let result = loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(self.clone().connection(stream));
                }
                Err(e) => break Err(Error::io("accept on", &path, e)),
            }
        };
        sweeper.abort();
        result
    }

    async fn connection(self: Arc<Self>, stream: UnixStream) {
        let Ok(cred) = stream.peer_cred() else { return };
        if cred.uid() != self.uid {
            tracing::warn!(uid = cred.uid(), "refused a token request from another user");
            return;
        }
        let pid = cred.pid().and_then(|p| u32::try_from(p).ok());
        let (read, mut write) = stream.into_split();
        let mut reader = tokio::io::BufReader::new(tokio::io::AsyncReadExt::take(read, MAX_REQUEST_BYTES));
        let mut line = String::new();
        if reader.read_line(&mut line).await.is_err() {
            return;
        }
        let answer = match serde_json::from_str::<Request>(&line) {
            Ok(request) => self.answer(request, pid).await,
            Err(_) => failure(&Error::Usage("the agent could not read the request".into())),
        };
        let mut out = serde_json::to_vec(&answer).expect("answers serialize");
        out.push(b'\n');
        let _ = write.write_all(&out).await;
    }

    async fn answer(&self, request: Request, pid: Option<u32>) -> Answer {
        match self.token(&request.account, request.min_ttl).await {
            Ok((account, tokens)) => {
                let (program, pid) = match pid.map(audit::caller) {
                    Some((program, pid)) => (program, Some(pid)),
                    None => (None, None),
                };
                self.keyport.audit().record(&Use {
                    at: now(),
                    account: account.id.clone(),
                    program,
                    pid,
                    via: "agent".into(),
                });
                Answer {
                    ok: true,
                    token: Some(tokens.access_token),
                    account: Some(account.id),
                    expires_at: tokens.expires_at,
                    metadata: account.metadata,
                    kind: None,
                    message: None,
                }
            }
            Err(e) => failure(&e),
        }
    }

    /// From memory when the cached token is still good enough, else through the core (keychain,
    /// refresh under the account lock).
    pub async fn token(&self, reference: &str, min_ttl: u64) -> Result<(Account, TokenSet)> {
        if let Some(hit) = self.cached(reference, min_ttl)? {
            return Ok(hit);
        }
        let _gate = self.slow_path.lock().await;
        // Whoever held the gate before us may have done the work.
        if let Some(hit) = self.cached(reference, min_ttl)? {
            return Ok(hit);
        }
        let account = self.find(reference)?;
        let (account, tokens) = self.keyport.token_set(&account.id, min_ttl).await?;
        let mut cache = self.cache.lock().expect("cache lock");
        cache
            .tokens
            .insert(account.id.clone(), (account.clone(), tokens.clone()));
        Ok((account, tokens))
    }

    fn cached(&self, reference: &str, min_ttl: u64) -> Result<Option<(Account, TokenSet)>> {
        let account = self.find(reference)?;
        let cache = self.cache.lock().expect("cache lock");
        Ok(match cache.tokens.get(&account.id) {
            Some((seen, tokens)) if *seen == account && !tokens.needs_refresh(min_ttl, now()) => {
                Some((account, tokens.clone()))
            }
            _ => None,
        })
    }

    /// Resolves `reference` against the account file, re-read only when it changed on disk.
    fn find(&self, reference: &str) -> Result<Account> {
        let path = self.keyport.home().accounts_file();
        let stamp = std::fs::metadata(&path)
            .ok()
            .map(|m| (m.ino(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.accounts_stamp != stamp || stamp.is_none() {
            cache.accounts = self.keyport.accounts()?;
            cache.accounts_stamp = stamp;
            let live: Vec<String> = cache.accounts.iter().map(|a| a.id.clone()).collect();
            cache.tokens.retain(|id, _| live.contains(id));
        }
        accounts::resolve(&cache.accounts, reference).cloned()
    }

    /// Refreshes every account shortly before its token would expire, so callers rarely wait.
    async fn sweep(self: Arc<Self>) {
        let mut tick = tokio::time::interval(REFRESH_SWEEP);
        loop {
            tick.tick().await;
            let ids: Vec<String> = match self.keyport.accounts() {
                Ok(all) => all
                    .iter()
                    .filter(|a| a.has_refresh_token && a.lifecycle == accounts::Lifecycle::Active)
                    .map(|a| a.id.clone())
                    .collect(),
                Err(_) => continue,
            };
            for id in ids {
                // Ask for a margin of two sweeps, so the token is fresh before anyone needs it.
                let margin = DEFAULT_MIN_TTL_SECS + 2 * REFRESH_SWEEP.as_secs();
                if let Err(e) = self.token(&id, margin).await {
                    tracing::warn!(account = %id, error = %e, "background refresh failed");
                }
            }
        }
    }
}

fn failure(e: &Error) -> Answer {
    Answer {
        ok: false,
        token: None,
        account: None,
        expires_at: None,
        metadata: Default::default(),
        kind: Some(e.kind()),
        message: Some(describe(e)),
    }
}

/// Binds `path` with owner-only permissions, replacing a socket nobody answers on.
fn bind(path: &Path) -> Result<UnixListener> {
    let dir = path.parent().expect("the socket lives in a directory");
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io("restrict", dir, e))?;
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(Error::Usage(format!(
                "another Keyport agent already serves {}",
                path.display()
            )));
        }
        std::fs::remove_file(path).map_err(|e| Error::io("remove the stale socket", path, e))?;
    }
    let listener = UnixListener::bind(path).map_err(|e| Error::io("listen on", path, e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io("restrict", path, e))?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_never_debug_print_the_token() {
        let a = Answer {
            ok: true,
            token: Some(Secret::new("AT-SECRET")),
            account: Some("x-1".into()),
            expires_at: None,
            metadata: Default::default(),
            kind: None,
            message: None,
        };
        assert!(!format!("{a:?}").contains("AT-SECRET"));
        assert!(serde_json::to_string(&a).unwrap().contains("AT-SECRET"));
    }
}

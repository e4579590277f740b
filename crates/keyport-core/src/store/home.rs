//! Where Keyport keeps its files, and which keychain namespace it uses.
//!
//! `KEYPORT_HOME=<dir>` moves everything under `<dir>` and namespaces the keychain items with the
//! directory's absolute path, so two homes never see each other's secrets. Tests rely on this to run
//! side by side; users can rely on it to keep a separate profile.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The keychain service name of the default home.
pub const DEFAULT_KEYCHAIN_SERVICE: &str = "keyport";

#[derive(Debug, Clone)]
pub struct Home {
    config_dir: PathBuf,
    data_dir: PathBuf,
    keychain_service: String,
    agent_socket: PathBuf,
    /// Set for a `KEYPORT_HOME`: tells this home's desktop app apart from the default one's.
    home_hash: Option<u64>,
}

impl Home {
    /// `KEYPORT_HOME` when set, otherwise the platform's config and data directories.
    pub fn from_env() -> Result<Self> {
        match std::env::var_os("KEYPORT_HOME") {
            Some(dir) if !dir.is_empty() => Self::at(Path::new(&dir)),
            _ => {
                let dirs = directories::ProjectDirs::from("dev", "keyport", "keyport").ok_or_else(|| {
                    Error::Internal(
                        "cannot find a home directory for Keyport's files; set KEYPORT_HOME".into(),
                    )
                })?;
                Ok(Self {
                    config_dir: dirs.config_dir().to_path_buf(),
                    data_dir: dirs.data_dir().to_path_buf(),
                    keychain_service: DEFAULT_KEYCHAIN_SERVICE.to_string(),
                    agent_socket: socket_path(runtime_dir(), dirs.data_dir(), None),
                    home_hash: None,
                })
            }
        }
    }

    /// A self-contained home under `dir`, with its own keychain namespace.
    pub fn at(dir: &Path) -> Result<Self> {
        crate::files::private::create_dir(dir)?;
        let dir = dir.canonicalize().map_err(|e| Error::io("resolve", dir, e))?;
        let data_dir = dir.join("data");
        Ok(Self {
            config_dir: dir.join("config"),
            agent_socket: socket_path(runtime_dir(), &data_dir, Some(&dir.to_string_lossy())),
            data_dir,
            keychain_service: format!("{DEFAULT_KEYCHAIN_SERVICE}:{}", dir.display()),
            home_hash: Some(fnv1a(dir.to_string_lossy().as_bytes())),
        })
    }

    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The user's provider file: additions to and overrides of the built-in catalog.
    pub fn providers_file(&self) -> PathBuf {
        self.config_dir.join("providers.toml")
    }

    /// The user's settings beside the catalog: account rules (see [`crate::store::config`]).
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    /// The non-secret account metadata.
    pub fn accounts_file(&self) -> PathBuf {
        self.data_dir.join("accounts.json")
    }

    /// The record of which program used which account (see [`crate::store::audit`]).
    pub fn audit_file(&self) -> PathBuf {
        self.data_dir.join("audit.jsonl")
    }

    /// Lock files: one for the account file, one per account for refreshes.
    pub fn locks_dir(&self) -> PathBuf {
        self.data_dir.join("locks")
    }

    /// Held by an agent that asks the person before handing out tokens (the app's), for as long
    /// as it serves: while it is held, the CLI hands out tokens only through that agent.
    pub fn asking_agent_lock(&self) -> PathBuf {
        self.locks_dir().join("asking-agent.lock")
    }

    /// The Unix socket of this home's token agent (see [`crate::agent`]).
    pub fn agent_socket(&self) -> PathBuf {
        self.agent_socket.clone()
    }

    /// The standing forwarding socket for `host` (see [`crate::store::ssh_forwards`]), beside the
    /// agent's own: letters, digits, `.`, `-` and `_` kept, anything else a `_`, and a hash of
    /// the whole name so that two hosts never share one. Kept short: a socket path has ~100 bytes.
    pub fn standing_forward_socket(&self, host: &str) -> PathBuf {
        let plain: String = host
            .chars()
            .take(24)
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = format!("ssh-{plain}-{:08x}.sock", fnv1a(host.as_bytes()) as u32);
        self.agent_socket
            .parent()
            .expect("the socket lives in a directory")
            .join(name)
    }

    /// The name under which this home's desktop app is the single running instance: `app_id` for
    /// the default home, `app_id` plus a hash of the directory for a `KEYPORT_HOME`, so a demo or
    /// test home never hands its windows (or sign-in links) to the user's own Keyport.
    pub fn instance_name(&self, app_id: &str) -> String {
        match self.home_hash {
            None => app_id.to_string(),
            Some(h) => format!("{app_id}.h{h:016x}"),
        }
    }

    /// Refuses a config or data directory that another user owns or may write to (see
    /// [`crate::files::private`]); tightens one that others may only read.
    pub fn check(&self) -> Result<()> {
        for dir in [&self.config_dir, &self.data_dir] {
            if dir.exists() {
                crate::files::private::check_dir(dir)?;
            }
        }
        Ok(())
    }

    /// The keychain "service" attribute every item of this home carries.
    pub fn keychain_service(&self) -> &str {
        &self.keychain_service
    }
}

/// `$XDG_RUNTIME_DIR`: per-user, private, cleared at logout; the right place for a socket.
fn runtime_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

/// Where the agent of a home listens.
fn socket_path(runtime_dir: Option<PathBuf>, data_dir: &Path, home_id: Option<&str>) -> PathBuf {
    // The runtime directory is shared by every home of this user; the data directory is not.
    match (runtime_dir, home_id) {
        (Some(dir), None) => dir.join("keyport").join("agent.sock"),
        (Some(dir), Some(id)) => dir
            .join("keyport")
            .join(format!("agent-{:016x}.sock", fnv1a(id.as_bytes()))),
        (None, _) => data_dir.join("agent.sock"),
    }
}

/// A stable, short name for a home directory (FNV-1a, 64 bits).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100000001b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standing_forwards_are_plain_distinct_names_beside_the_agent() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path()).unwrap();
        let devbox = home.standing_forward_socket("devbox");
        assert_eq!(devbox.parent(), home.agent_socket().parent());
        assert!(devbox
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("ssh-devbox-"));
        assert_ne!(
            home.standing_forward_socket("a*b"),
            home.standing_forward_socket("a?b")
        );
        let odd = home.standing_forward_socket("../../x y");
        assert_eq!(odd.parent(), devbox.parent(), "{odd:?}");
    }

    #[test]
    fn homes_get_distinct_sockets() {
        let rt = Some(PathBuf::from("/run/user/1000"));
        let data = Path::new("/d");
        assert_eq!(
            socket_path(rt.clone(), data, None),
            Path::new("/run/user/1000/keyport/agent.sock")
        );
        let a = socket_path(rt.clone(), data, Some("/tmp/a"));
        let b = socket_path(rt, data, Some("/tmp/b"));
        assert_ne!(a, b);
        assert_eq!(socket_path(None, data, None), Path::new("/d/agent.sock"));
        // The example docs/protocol.md gives, which the Python client's tests check too.
        assert_eq!(
            socket_path(Some(PathBuf::from("/run/u")), data, Some("/")),
            Path::new("/run/u/keyport/agent-af63a24c860189fe.sock")
        );
    }

    #[test]
    fn explicit_homes_are_namespaced_apart() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let ha = Home::at(a.path()).unwrap();
        let hb = Home::at(b.path()).unwrap();
        assert_ne!(ha.keychain_service(), hb.keychain_service());
        assert!(ha.keychain_service().starts_with("keyport:"));
        assert!(ha.accounts_file().starts_with(a.path().canonicalize().unwrap()));
    }
}

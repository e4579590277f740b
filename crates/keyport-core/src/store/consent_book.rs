//! The user's answers to "Allow this program to use this account?": `consent.json` in the data
//! directory, one decision per executable path and account, and whether to ask at all.
//!
//! Like the account file it holds no secret but steers who gets one, so it is owner-only and
//! replaced atomically. It is a guard against surprises, not a sandbox: any program of the same
//! user could edit it, or read the keychain directly (docs/SECURITY.md).

use crate::error::{Error, Result};
use crate::model::AccountId;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One remembered answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Decision {
    /// The program's executable, as the kernel reports it (`/proc/<pid>/exe`).
    pub exe: String,
    /// The account's id.
    #[cfg_attr(feature = "ts", ts(as = "String"))]
    pub account: AccountId,
    /// `true` for "Always allow", `false` for "Deny".
    pub allow: bool,
    /// Unix seconds.
    pub at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct File {
    version: u32,
    /// Whether the app asks before a program it has not seen gets a token.
    ask: bool,
    #[serde(default)]
    decisions: Vec<Decision>,
}

/// The decisions, kept in memory by the running app and written through on every change.
#[derive(Debug)]
pub struct ConsentBook {
    path: PathBuf,
    file: Mutex<File>,
}

impl ConsentBook {
    /// Opens the book in `data_dir`. A first start writes it, asking by default only where no
    /// account existed yet (`has_accounts`, asked only then): an install that already served
    /// programs does not start prompting.
    pub fn open(data_dir: &Path, has_accounts: impl FnOnce() -> bool) -> Result<Self> {
        let path = data_dir.join("consent.json");
        let file = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::CorruptData {
                path: path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let file = File {
                    version: 1,
                    ask: !has_accounts(),
                    decisions: Vec::new(),
                };
                crate::files::private::create_dir(data_dir)?;
                write(&path, &file)?;
                file
            }
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        Ok(Self {
            path,
            file: Mutex::new(file),
        })
    }

    pub fn asks(&self) -> bool {
        self.lock().ask
    }

    /// The remembered answer for `exe` and `account`, if any.
    pub fn lookup(&self, exe: &str, account: &AccountId) -> Option<bool> {
        let file = self.lock();
        file.decisions
            .iter()
            .find(|d| d.exe == exe && d.account == *account)
            .map(|d| d.allow)
    }

    pub fn decisions(&self) -> Vec<Decision> {
        self.lock().decisions.clone()
    }

    pub fn remember(&self, exe: &str, account: &AccountId, allow: bool) -> Result<()> {
        self.change(|f| {
            f.decisions.retain(|d| !(d.exe == exe && d.account == *account));
            f.decisions.push(Decision {
                exe: exe.to_string(),
                account: account.clone(),
                allow,
                at: crate::model::tokens::now(),
            });
        })
    }

    /// Forgets an answer: the program is asked again next time.
    pub fn forget(&self, exe: &str, account: &AccountId) -> Result<()> {
        self.change(|f| f.decisions.retain(|d| !(d.exe == exe && d.account == *account)))
    }

    pub fn set_asking(&self, ask: bool) -> Result<()> {
        self.change(|f| f.ask = ask)
    }

    fn change(&self, edit: impl FnOnce(&mut File)) -> Result<()> {
        let mut file = self.lock();
        let mut next = file.clone();
        edit(&mut next);
        // Written before it takes effect: what the window shows is what is on disk.
        write(&self.path, &next)?;
        *file = next;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, File> {
        self.file.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn write(path: &Path, file: &File) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(file).expect("the consent file serializes");
    bytes.push(b'\n');
    crate::files::atomic::replace(path, &bytes)
}

/// The key an answer about a program on a machine reached over SSH is kept under, in place of an
/// executable's path (which always starts with `/`): the SSH destination and the program that
/// machine claims.
pub fn over_ssh_key(destination: &str, program: &str) -> String {
    format!("ssh:{destination}:{}", program.replace(':', "_"))
}

/// How an answer's key reads to a person: an executable's file name, or "python3 on devbox (over
/// SSH)".
pub fn program_label(key: &str) -> String {
    if let Some((destination, program)) = key.strip_prefix("ssh:").and_then(|k| k.rsplit_once(':')) {
        return format!("{program} on {destination} (over SSH)");
    }
    std::path::Path::new(key)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_kept_per_program_and_account_and_survive_a_restart() {
        let demo = AccountId::new("demo-1");
        let dir = tempfile::tempdir().unwrap();
        let book = ConsentBook::open(dir.path(), || false).unwrap();
        assert!(book.asks(), "a new install asks");
        book.remember("/usr/bin/python3", &demo, true).unwrap();
        book.remember("/usr/bin/curl", &demo, false).unwrap();
        book.remember("/usr/bin/python3", &demo, false).unwrap();
        let again = ConsentBook::open(dir.path(), || true).unwrap();
        assert_eq!(again.lookup("/usr/bin/python3", &demo), Some(false));
        assert_eq!(again.lookup("/usr/bin/curl", &demo), Some(false));
        assert_eq!(again.lookup("/usr/bin/python3", &AccountId::new("demo-2")), None);
        again.forget("/usr/bin/curl", &demo).unwrap();
        assert_eq!(again.lookup("/usr/bin/curl", &demo), None);
        assert_eq!(again.decisions().len(), 1);
    }

    #[test]
    fn an_install_with_accounts_does_not_start_asking() {
        let dir = tempfile::tempdir().unwrap();
        let book = ConsentBook::open(dir.path(), || true).unwrap();
        assert!(!book.asks());
        book.set_asking(true).unwrap();
        assert!(ConsentBook::open(dir.path(), || true).unwrap().asks());
    }

    #[test]
    fn a_damaged_file_is_an_error_and_stays() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("consent.json"), "{not json").unwrap();
        let e = ConsentBook::open(dir.path(), || false).unwrap_err();
        assert!(matches!(e, Error::CorruptData { .. }), "{e}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("consent.json")).unwrap(),
            "{not json"
        );
    }

    #[test]
    fn keys_read_as_a_program_here_or_over_ssh() {
        assert_eq!(program_label("/usr/bin/python3.11"), "python3.11");
        let key = over_ssh_key("ada@devbox:2222", "odd:name");
        assert_eq!(key, "ssh:ada@devbox:2222:odd_name");
        assert_eq!(program_label(&key), "odd_name on ada@devbox:2222 (over SSH)");
    }
}

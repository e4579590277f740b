//! Who used which account's token, and when: a bounded local log (`audit.jsonl` in the data
//! directory) that the desktop app shows as "recently used by".
//!
//! Entries hold no secret: a time, an account id, and the calling program as `crate::process`
//! found it (the agent's peer, or the parent of a `keyport token` that read the keychain itself):
//! its name, the path of its executable and of its parent's, and its pid. Writers append single
//! lines; when the file outgrows its bound, the older half is dropped.

use crate::error::Result;
use crate::model::AccountId;
use crate::process::Program;
use crate::store::lock::FileLock;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file is compacted to half this size when it grows past it (~2,000 entries).
const MAX_BYTES: u64 = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Use {
    /// Unix seconds.
    pub at: u64,
    /// Empty for a sign-in asked for from another machine (no account yet).
    #[cfg_attr(feature = "ts", ts(as = "String"))]
    pub account: AccountId,
    /// The calling program's executable name, when it could be found.
    pub program: Option<String>,
    /// The path of the calling program's executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// The path of the executable of the program that started it (a shell, an editor, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_exe: Option<String>,
    pub pid: Option<u32>,
    /// `agent` when the desktop app answered from memory, `keychain` when the CLI read it itself.
    pub via: String,
    /// The SSH destination a forwarded request came through; then `program` is what that machine
    /// claims, and `exe` the key its consent is kept under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_ssh: Option<String>,
    /// The shells and launchers the program asked through ("sh", "env, sh"), which `program`
    /// names the program behind (see [`crate::process`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub through: Option<String>,
    /// The terminal session it runs in (see [`Program::terminal`]): not kept, since only the
    /// question asked now depends on it.
    #[serde(skip)]
    pub terminal: Option<crate::process::Terminal>,
    /// Run from another root (see [`Program::in_another_root`]): asked every time.
    #[serde(skip)]
    pub in_another_root: bool,
}

impl Use {
    /// `program`'s use of `account` now, answered `via` the agent or the keychain.
    pub fn of(account: &AccountId, via: &str, program: Program) -> Use {
        Use {
            at: crate::model::tokens::now(),
            account: account.clone(),
            program: program.name,
            exe: program.exe,
            parent_exe: program.parent_exe,
            pid: program.pid,
            via: via.into(),
            over_ssh: None,
            through: program.through,
            terminal: program.terminal,
            in_another_root: program.in_another_root,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    lock: PathBuf,
    /// The log, kept open between appends: the agent appends for every token it hands out, and
    /// checking the directory and opening the file each time was most of its own work on that
    /// path (docs/BENCHMARKS.md). Shared by the clones, so one process keeps one descriptor.
    kept: std::sync::Arc<std::sync::Mutex<Option<std::fs::File>>>,
}

impl AuditLog {
    /// The log at `path` (a home's [`crate::store::home::Home::audit_file`]).
    pub fn new(path: PathBuf, locks_dir: &Path) -> Self {
        Self {
            path,
            lock: locks_dir.join("audit.lock"),
            kept: Default::default(),
        }
    }

    /// Records a use. Failing to record never fails the token request: it is logged instead.
    pub fn record(&self, entry: &Use) {
        if let Err(e) = self.append(entry) {
            tracing::warn!(error = %e, "could not record a token use in the audit log");
        }
    }

    fn append(&self, entry: &Use) -> Result<()> {
        let mut line = serde_json::to_vec(entry).expect("audit entries serialize");
        line.push(b'\n');
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        // A kept descriptor can outlive its file: compaction (here or in another process)
        // replaces it, and someone may delete it. A line written into a file no longer in the
        // directory is written again into the one that is, so no record is lost to the reuse.
        let size = loop {
            let reopened = kept.is_none();
            let file = match kept.as_mut() {
                Some(file) => file,
                None => kept.insert(self.open()?),
            };
            // One write of a whole line: concurrent appenders never interleave within a line.
            let meta = file
                .write_all(&line)
                .and_then(|_| file.metadata())
                .map_err(|e| crate::error::Error::io("append to", &self.path, e))?;
            if reopened || still_linked(&meta) {
                break meta.len();
            }
            *kept = None;
        };
        if !cfg!(unix) {
            *kept = None; // a replaced file cannot be told there: never reuse the descriptor
        }
        if size > MAX_BYTES {
            *kept = None;
            drop(kept);
            self.compact()?;
        }
        Ok(())
    }

    /// Opens the log to append, after checking its directory is private.
    fn open(&self) -> Result<std::fs::File> {
        if let Some(dir) = self.path.parent() {
            crate::files::private::create_dir(dir)?;
        }
        crate::files::private::open_file(&self.path, true)
    }

    fn compact(&self) -> Result<()> {
        let _lock = FileLock::exclusive(&self.lock)?;
        let Ok(bytes) = std::fs::read(&self.path) else {
            return Ok(());
        };
        if (bytes.len() as u64) <= MAX_BYTES {
            return Ok(()); // another process compacted it meanwhile
        }
        // Bytes, not a string slice: the cut may fall inside a multi-byte character.
        let keep_from = bytes.len() - (MAX_BYTES as usize / 2);
        let start = bytes[keep_from..]
            .iter()
            .position(|b| *b == b'\n')
            .map(|i| keep_from + i + 1)
            .unwrap_or(bytes.len());
        crate::files::atomic::replace(&self.path, &bytes[start..])
    }

    /// The most recent uses, newest first, at most `limit`.
    pub fn recent(&self, limit: usize) -> Vec<Use> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        text.lines()
            .rev()
            .filter_map(|l| serde_json::from_str(l).ok())
            .take(limit)
            .collect()
    }
}

/// Whether the file behind an open descriptor still has a name in its directory (only asked
/// where that can be told: elsewhere the descriptor is not kept).
fn still_linked(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    return std::os::unix::fs::MetadataExt::nlink(meta) > 0;
    #[cfg(not(unix))]
    return true;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u64) -> Use {
        Use {
            at: n,
            account: AccountId::new(format!("demo-{}", n % 3)),
            program: Some("gït-ø".into()),
            exe: None,
            parent_exe: None,
            pid: Some(1),
            via: "keychain".into(),
            over_ssh: None,
            through: None,
            terminal: None,
            in_another_root: false,
        }
    }

    #[test]
    fn a_line_written_while_the_file_was_replaced_or_deleted_lands_in_the_new_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::new(dir.path().join("audit.jsonl"), &dir.path().join("locks"));
        let ats = |log: &AuditLog| log.recent(10).iter().map(|u| u.at).collect::<Vec<_>>();
        log.record(&entry(1));
        log.record(&entry(2));
        // As compaction by another process does: a new file renamed over the log.
        let other = dir.path().join("compacted");
        std::fs::write(&other, format!("{}\n", serde_json::to_string(&entry(2)).unwrap())).unwrap();
        std::fs::rename(&other, &path).unwrap();
        log.record(&entry(3));
        assert_eq!(ats(&log), vec![3, 2]);
        std::fs::remove_file(&path).unwrap();
        log.record(&entry(4));
        log.record(&entry(5));
        assert_eq!(ats(&log), vec![5, 4]);
    }

    #[test]
    fn records_newest_first_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.jsonl"), &dir.path().join("locks"));
        for n in 0..5000 {
            log.record(&entry(n));
        }
        let size = std::fs::metadata(dir.path().join("audit.jsonl")).unwrap().len();
        assert!(size <= MAX_BYTES, "{size}");
        let recent = log.recent(3);
        assert_eq!(
            recent.iter().map(|u| u.at).collect::<Vec<_>>(),
            vec![4999, 4998, 4997]
        );
    }
}

//! Who used which account's token, and when: a bounded local log (`audit.jsonl` in the data
//! directory) that the desktop app shows as "recently used by".
//!
//! Entries hold no secret: a time, an account id, and the calling program's name and pid (the
//! agent's peer, or the parent of a `keyport token` that read the keychain itself). Writers append
//! single lines; when the file outgrows its bound, the older half is dropped.

use crate::error::Result;
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
    pub account: String,
    /// The calling program's executable name, when it could be found.
    pub program: Option<String>,
    pub pid: Option<u32>,
    /// `agent` when the desktop app answered from memory, `keychain` when the CLI read it itself.
    pub via: String,
}

impl Use {
    /// A use by the program that started this process: `keyport token` reading the keychain
    /// itself, on behalf of the script or tool that ran it.
    pub fn by_parent_of_this_process(account: &str) -> Use {
        #[cfg(unix)]
        let caller = Some(std::os::unix::process::parent_id());
        #[cfg(not(unix))]
        let caller: Option<u32> = None;
        Use {
            at: crate::store::tokens::now(),
            account: account.to_string(),
            program: caller.and_then(program_name),
            pid: caller,
            via: "keychain".into(),
        }
    }

    /// A use by process `pid`, answered by the agent from memory.
    pub fn by_agent_peer(account: &str, pid: Option<u32>) -> Use {
        let (program, pid) = match pid.map(caller) {
            Some((program, pid)) => (program, Some(pid)),
            None => (None, None),
        };
        Use {
            at: crate::store::tokens::now(),
            account: account.to_string(),
            program,
            pid,
            via: "agent".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    lock: PathBuf,
}

impl AuditLog {
    pub fn new(data_dir: &Path, locks_dir: &Path) -> Self {
        Self {
            path: data_dir.join("audit.jsonl"),
            lock: locks_dir.join("audit.lock"),
        }
    }

    /// Records a use. Failing to record never fails the token request: it is logged instead.
    pub fn record(&self, entry: &Use) {
        if let Err(e) = self.append(entry) {
            tracing::warn!(error = %e, "could not record a token use in the audit log");
        }
    }

    fn append(&self, entry: &Use) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut line = serde_json::to_vec(entry).expect("audit entries serialize");
        line.push(b'\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        // One write of a whole line: concurrent appenders never interleave within a line.
        file.write_all(&line)?;
        if file.metadata()?.len() > MAX_BYTES {
            drop(file);
            self.compact().map_err(std::io::Error::other)?;
        }
        Ok(())
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
        crate::store::atomic_file::replace(&self.path, &bytes[start..])
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

/// The executable name of process `pid` (Linux: `/proc/<pid>/exe`, else its `comm`).
fn program_name(pid: u32) -> Option<String> {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    if let Ok(exe) = std::fs::read_link(proc_dir.join("exe")) {
        if let Some(name) = exe.file_name() {
            return Some(name.to_string_lossy().trim_end_matches(" (deleted)").to_string());
        }
    }
    std::fs::read_to_string(proc_dir.join("comm"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The program a token request comes from. When that is a `keyport token` process talking to the
/// agent, the interesting caller is its parent (the script or tool that ran `keyport`).
fn caller(pid: u32) -> (Option<String>, u32) {
    let name = program_name(pid);
    if name.as_deref() == Some("keyport") {
        if let Some(parent) = parent_pid(pid) {
            return (program_name(parent), parent);
        }
    }
    (name, pid)
}

fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces; fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u64) -> Use {
        Use {
            at: n,
            account: format!("demo-{}", n % 3),
            program: Some("gït-ø".into()),
            pid: Some(1),
            via: "keychain".into(),
        }
    }

    #[test]
    fn records_newest_first_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path(), &dir.path().join("locks"));
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

    #[test]
    #[cfg(unix)]
    fn names_this_process_and_its_parent() {
        let name = program_name(std::process::id()).unwrap();
        assert!(!name.is_empty());
        assert_eq!(
            parent_pid(std::process::id()),
            Some(std::os::unix::process::parent_id())
        );
    }
}

//! Who used which account's token, and when: a bounded local log (`audit.jsonl` in the data
//! directory) that the desktop app shows as "recently used by".
//!
//! Entries hold no secret: a time, an account id, and the calling program (the agent's peer, or
//! the parent of a `keyport token` that read the keychain itself): its name, the path of its
//! executable and of its parent's, and its pid. A process may call itself anything, so the path is
//! what tells a real `git` from a copy of python named `git`; and Keyport's own CLI, whose caller
//! is the interesting one, is recognised by its executable file, not by its name. Writers append
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
    /// The path of the calling program's executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// The path of the executable of the program that started it (a shell, an editor, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_exe: Option<String>,
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
        Use::by(account, caller, "keychain")
    }

    /// A use by process `pid`, answered by the agent from memory. When that is Keyport's own
    /// CLI, the use is its caller's.
    pub fn by_agent_peer(account: &str, pid: Option<u32>) -> Use {
        let caller = pid.map(|pid| match exe_path(pid) {
            Some(exe) if is_keyport_cli(&exe) => parent_pid(pid).unwrap_or(pid),
            _ => pid,
        });
        Use::by(account, caller, "agent")
    }

    fn by(account: &str, pid: Option<u32>, via: &str) -> Use {
        let exe = pid.and_then(exe_path);
        let parent_exe = pid.and_then(parent_pid).and_then(exe_path);
        let path = |p: &PathBuf| p.to_string_lossy().into_owned();
        Use {
            at: crate::store::tokens::now(),
            account: account.to_string(),
            program: pid.and_then(program_name),
            exe: exe.as_ref().map(path),
            parent_exe: parent_exe.as_ref().map(path),
            pid,
            via: via.into(),
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

    fn append(&self, entry: &Use) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            crate::store::private::create_dir(dir)?;
        }
        let mut line = serde_json::to_vec(entry).expect("audit entries serialize");
        line.push(b'\n');
        let mut file = crate::store::private::open_file(&self.path, true)?;
        // One write of a whole line: concurrent appenders never interleave within a line.
        let written = file.write_all(&line).and_then(|_| file.metadata());
        let size = written
            .map_err(|e| crate::error::Error::io("append to", &self.path, e))?
            .len();
        if size > MAX_BYTES {
            drop(file);
            self.compact()?;
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

/// The executable of process `pid` (Linux: `/proc/<pid>/exe`).
fn exe_path(pid: u32) -> Option<PathBuf> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let text = exe.to_string_lossy();
    Some(match text.strip_suffix(" (deleted)") {
        Some(kept) => PathBuf::from(kept),
        None => exe,
    })
}

/// The executable name of process `pid`, else its `comm`.
fn program_name(pid: u32) -> Option<String> {
    if let Some(name) = exe_path(pid).and_then(|e| e.file_name().map(|n| n.to_string_lossy().into_owned())) {
        return Some(name);
    }
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Whether `exe` is Keyport's own CLI: this very executable (`keyport agent`), or the `keyport`
/// installed beside it (the desktop app's agent, next to the CLI in the same directory). Compared
/// as files, so a copy of another program named `keyport` is not taken for it.
fn is_keyport_cli(exe: &Path) -> bool {
    let Ok(me) = std::env::current_exe() else {
        return false;
    };
    let candidates = [Some(me.clone()), me.parent().map(|d| d.join("keyport"))];
    candidates.into_iter().flatten().any(|c| same_file(&c, exe))
}

fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        a == b
    }
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
            exe: None,
            parent_exe: None,
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

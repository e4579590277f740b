//! The sign-ins `keyport mcp` opened in the browser on its own, per MCP server, over the last
//! [`PERIOD_SECS`]: `unasked-sign-ins.json` in the data directory. A server decides when the
//! bridge signs in (a 401, a 403 asking for a new scope, a grant it revoked), so without a count
//! one that asks for something new at every request would open the browser, and register a client,
//! for ever. Kept in a file, not in one bridge's memory: each MCP client runs a bridge of its own,
//! and a client may start it again.
//!
//! Holds URLs and times, nothing secret. A damaged file is reported and left as it is (no sign-in
//! happens on its own until it is fixed or removed).

use crate::error::{Error, Result};
use crate::store::lock::FileLock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Sign-ins the bridge may open for one server without the person asking, within a period.
pub const MAX_PER_PERIOD: usize = 3;
/// That period.
pub const PERIOD_SECS: u64 = 10 * 60;

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    version: u32,
    /// Times (Unix seconds) of the sign-ins of the period, by server URL.
    #[serde(default)]
    servers: BTreeMap<String, Vec<u64>>,
}

/// The server had its count: the sign-ins of the period, and when the oldest leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capped {
    pub count: usize,
    pub until: u64,
}

#[derive(Debug, Clone)]
pub struct UnaskedSignIns {
    path: PathBuf,
    lock: PathBuf,
}

impl UnaskedSignIns {
    pub fn new(data_dir: &Path, locks_dir: &Path) -> Self {
        Self {
            path: data_dir.join("unasked-sign-ins.json"),
            lock: locks_dir.join("unasked-sign-ins.lock"),
        }
    }

    /// Counts a sign-in for `server` at `now`, unless it had [`MAX_PER_PERIOD`] already within the
    /// period: then nothing is counted, and the answer says until when.
    pub fn take(&self, server: &str, now: u64) -> Result<std::result::Result<(), Capped>> {
        self.change(now, |servers| {
            let times = servers.entry(server.to_string()).or_default();
            if times.len() >= MAX_PER_PERIOD {
                let oldest = times.iter().min().copied().unwrap_or(now);
                return Err(Capped {
                    count: times.len(),
                    until: oldest + PERIOD_SECS,
                });
            }
            times.push(now);
            Ok(())
        })
    }

    /// Forgets `server`'s count: the person asked to sign in to it.
    pub fn forget(&self, server: &str, now: u64) -> Result<()> {
        self.change(now, |servers| {
            servers.remove(server);
        })
    }

    /// Read, drop what left the period, edit and write, under the file's lock: bridges of several
    /// clients count together.
    fn change<T>(&self, now: u64, edit: impl FnOnce(&mut BTreeMap<String, Vec<u64>>) -> T) -> Result<T> {
        let _lock = FileLock::exclusive(&self.lock)?;
        let mut file = match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice::<File>(&bytes).map_err(|e| Error::CorruptData {
                path: self.path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File::default(),
            Err(e) => return Err(Error::io("read", &self.path, e)),
        };
        for times in file.servers.values_mut() {
            // A clock set back counts as now: the period cannot be escaped by it.
            times.retain(|&t| t + PERIOD_SECS > now);
        }
        file.servers.retain(|_, times| !times.is_empty());
        let out = edit(&mut file.servers);
        file.version = 1;
        let mut bytes = serde_json::to_vec_pretty(&file).expect("the counts serialize");
        bytes.push(b'\n');
        crate::files::atomic::replace(&self.path, &bytes)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_gets_its_count_per_period_and_the_person_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = UnaskedSignIns::new(dir.path(), &dir.path().join("locks"));
        let (a, b) = ("https://a.example/mcp", "https://b.example/mcp");
        for t in [100, 110, 120] {
            assert_eq!(store.take(a, t).unwrap(), Ok(()));
        }
        let capped = Capped {
            count: MAX_PER_PERIOD,
            until: 100 + PERIOD_SECS,
        };
        assert_eq!(store.take(a, 130).unwrap(), Err(capped));
        assert_eq!(store.take(b, 130).unwrap(), Ok(()), "each server has its own");
        // Another process (another Keyport on the same files) sees the same count.
        let again = UnaskedSignIns::new(dir.path(), &dir.path().join("locks"));
        assert_eq!(again.take(a, 140).unwrap(), Err(capped));
        assert_eq!(
            again.take(a, 100 + PERIOD_SECS).unwrap(),
            Ok(()),
            "the oldest left"
        );
        assert!(again.take(a, 100 + PERIOD_SECS).unwrap().is_err());
        again.forget(a, 101 + PERIOD_SECS).unwrap();
        assert_eq!(again.take(a, 102 + PERIOD_SECS).unwrap(), Ok(()));
        std::fs::write(dir.path().join("unasked-sign-ins.json"), "{").unwrap();
        assert!(matches!(store.take(a, 1000), Err(Error::CorruptData { .. })));
    }
}

//! What `/proc` said of the processes one request involves, each fact read once: naming the
//! caller (`asker.rs`), asking whether it was typed at a terminal (`terminal.rs`) and pinning it
//! (`pin.rs`) look at the same few processes, and the agent does this for every request it
//! serves. Only the pin's last check, whether the caller is still what it was, reads afresh.

use super::proc_fs::{exe_file, exe_path, same_mount_namespace, ExeFile, Stat};
use std::path::PathBuf;

/// The facts read so far, by process. A request looks at a handful of processes (the caller,
/// what it came through, their parents), so a list is all it needs.
#[derive(Default)]
pub struct Snapshot {
    seen: Vec<Seen>,
}

/// What is known of one process; `None` until read, then what the read gave.
struct Seen {
    pid: u32,
    stat: Option<Option<Stat>>,
    exe: Option<Option<PathBuf>>,
    file: Option<Option<ExeFile>>,
    same_mounts: Option<bool>,
}

impl Snapshot {
    fn of(&mut self, pid: u32) -> &mut Seen {
        let at = match self.seen.iter().position(|s| s.pid == pid) {
            Some(at) => at,
            None => {
                self.seen.push(Seen {
                    pid,
                    stat: None,
                    exe: None,
                    file: None,
                    same_mounts: None,
                });
                self.seen.len() - 1
            }
        };
        &mut self.seen[at]
    }

    /// `/proc/<pid>/stat`: its name, parent, session and terminal.
    pub fn stat(&mut self, pid: u32) -> Option<Stat> {
        self.of(pid).stat.get_or_insert_with(|| Stat::read(pid)).clone()
    }

    /// Its parent's pid.
    pub fn parent(&mut self, pid: u32) -> Option<u32> {
        self.stat(pid).map(|s| s.ppid)
    }

    /// The path of its executable.
    pub fn exe(&mut self, pid: u32) -> Option<PathBuf> {
        self.of(pid).exe.get_or_insert_with(|| exe_path(pid)).clone()
    }

    /// The file it runs.
    pub fn file(&mut self, pid: u32) -> Option<ExeFile> {
        *self.of(pid).file.get_or_insert_with(|| exe_file(pid))
    }

    /// Whether it sees the same files as this process.
    pub fn same_mounts(&mut self, pid: u32) -> bool {
        *self
            .of(pid)
            .same_mounts
            .get_or_insert_with(|| same_mount_namespace(pid))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn each_fact_is_what_proc_says_and_is_kept() {
        let me = std::process::id();
        let mut seen = Snapshot::default();
        assert_eq!(seen.parent(me), Some(std::os::unix::process::parent_id()));
        assert_eq!(seen.exe(me), Some(std::env::current_exe().unwrap()));
        assert!(seen.file(me).is_some());
        assert!(seen.same_mounts(me));
        // Kept: a fact changed by hand is what comes back, not a second read.
        seen.of(me).exe = Some(Some(PathBuf::from("/kept")));
        assert_eq!(seen.exe(me), Some(PathBuf::from("/kept")));
        assert_eq!(seen.seen.len(), 1);
        assert_eq!(seen.exe(u32::MAX), None);
        assert_eq!(seen.stat(u32::MAX).map(|s| s.ppid), None);
    }
}

//! Who asked for a token, as the kernel knew it when the request came: the program behind the
//! shells and launchers it came through (`asker.rs`), its executable and its parent's, and
//! the terminal session it runs in (`terminal.rs`). The audit records
//! it, the consent question names it, the window shows it; none of them reads `/proc` itself.
//!
//! A process may call itself anything, so the path is what tells a real `git` from a copy of
//! python named `git`; Keyport's own CLI, whose caller is the one that matters, is recognised by
//! its executable file, not by its name.

use super::asker::asker;
use super::proc_fs::comm;
use super::snapshot::Snapshot;
use super::terminal::{terminal_of, Terminal};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Program {
    /// The executable's file name (or the process's command name when its executable is hidden).
    pub name: Option<String>,
    /// The path of its executable.
    pub exe: Option<String>,
    /// The path of the executable of the program that started it (a shell, an editor, …).
    pub parent_exe: Option<String>,
    pub pid: Option<u32>,
    /// The shells and launchers it asked through ("sh", "env, sh").
    pub through: Option<String>,
    /// Keyport's CLI process that asked on its behalf, when one did.
    pub cli_pid: Option<u32>,
    /// The terminal session Keyport's CLI (or the program that connected) runs in, if any
    /// (`terminal.rs`): the person may allow everything run in it until it ends.
    pub terminal: Option<Terminal>,
    /// It sees other files than Keyport does (another mount namespace: a container, a sandbox):
    /// its executable's path names a file of that other root, which may be another file than the
    /// one at that path here, so no answer kept for the path may stand for it.
    pub in_another_root: bool,
}

impl Program {
    /// The program that started this process: `keyport token` reading the keychain itself, on
    /// behalf of the script or tool that ran it.
    pub fn parent_of_this_process() -> Program {
        #[cfg(unix)]
        let parent = Some(std::os::unix::process::parent_id());
        #[cfg(not(unix))]
        let parent: Option<u32> = None;
        Program::behind(&mut Snapshot::default(), parent, Some(std::process::id()))
    }

    /// The program at the other end of an agent connection from process `pid`. When that is
    /// Keyport's own CLI, the program is its caller.
    pub fn agent_peer(pid: Option<u32>) -> Program {
        Program::agent_peer_seen(&mut Snapshot::default(), pid)
    }

    /// [`Program::agent_peer`], keeping what it read of the processes in `seen` (the agent pins
    /// the same processes next).
    pub fn agent_peer_seen(seen: &mut Snapshot, pid: Option<u32>) -> Program {
        let Some(pid) = pid else {
            return Program::default();
        };
        match is_keyport_cli(seen, pid) {
            true => {
                let parent = seen.parent(pid).or(Some(pid));
                Program::behind(seen, parent, Some(pid))
            }
            false => Program::behind(seen, Some(pid), None),
        }
    }

    /// The program behind process `direct` (looked for through shells and launchers), which
    /// Keyport's CLI `cli` may have been started by.
    fn behind(seen: &mut Snapshot, direct: Option<u32>, cli: Option<u32>) -> Program {
        let Some(direct) = direct else {
            return Program {
                cli_pid: cli,
                ..Program::default()
            };
        };
        let asker = asker(seen, direct);
        let exe = seen.exe(asker.pid);
        let path = |p: &PathBuf| p.to_string_lossy().into_owned();
        Program {
            name: match exe.as_ref().and_then(|e| e.file_name()) {
                Some(name) => Some(name.to_string_lossy().into_owned()),
                None => comm(asker.pid),
            },
            exe: exe.as_ref().map(path),
            parent_exe: seen
                .parent(asker.pid)
                .and_then(|p| seen.exe(p))
                .as_ref()
                .map(path),
            pid: Some(asker.pid),
            through: asker.through_text(),
            cli_pid: cli,
            terminal: terminal_of(seen, cli.unwrap_or(direct)),
            in_another_root: !seen.same_mounts(asker.pid),
        }
    }
}

/// Whether process `pid` runs Keyport's own CLI: this very executable (`keyport agent`), or one
/// of the CLI's two executables installed beside it (`keyport`, and `keyport-full`, which it runs
/// for the forms it does not answer itself; the desktop app sits in the same directory). Compared
/// as files, through the kernel's link to what the process runs, so that a copy of another
/// program named `keyport` is not taken for it, and Keyport's CLI mounted into a container
/// (under a path that means nothing here) is.
fn is_keyport_cli(seen: &mut Snapshot, pid: u32) -> bool {
    // Looked up once per process: the agent asks for every request, and the files only change
    // when Keyport is reinstalled, which stops it.
    static CLI: std::sync::OnceLock<Vec<FileId>> = std::sync::OnceLock::new();
    let cli = CLI.get_or_init(|| {
        let Ok(me) = std::env::current_exe() else {
            return Vec::new();
        };
        crate::executables::own_clis(&me)
            .iter()
            .filter_map(|p| file_id(p))
            .collect()
    });
    running_id(seen, pid).is_some_and(|id| cli.contains(&id))
}

#[cfg(unix)]
fn running_id(seen: &mut Snapshot, pid: u32) -> Option<FileId> {
    seen.file(pid).map(|f| f.id)
}

#[cfg(not(unix))]
fn running_id(seen: &mut Snapshot, pid: u32) -> Option<FileId> {
    seen.exe(pid)
}

/// What tells two paths of the same file apart from two files: device and inode on Unix.
#[cfg(unix)]
type FileId = (u64, u64);
#[cfg(not(unix))]
type FileId = PathBuf;

#[cfg(unix)]
fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(path: &Path) -> Option<FileId> {
    Some(path.to_path_buf())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn names_this_process_and_its_parent() {
        let me = Program::behind(&mut Snapshot::default(), Some(std::process::id()), None);
        let exe = std::env::current_exe().unwrap();
        // Asking the agent, this very executable is taken for Keyport's CLI: its caller is named.
        let by_parent = Program::agent_peer(Some(std::process::id()));
        assert_eq!(by_parent.pid, Some(std::os::unix::process::parent_id()));
        assert_eq!(by_parent.cli_pid, Some(std::process::id()));
        assert_eq!(me.name.as_deref(), exe.file_name().and_then(|n| n.to_str()));
        assert_eq!(me.exe.as_deref(), exe.to_str());
        assert!(me.parent_exe.is_some());
        assert_eq!(
            me.terminal.as_ref().map(|t| t.session),
            terminal_of(&mut Snapshot::default(), std::process::id()).map(|t| t.session)
        );
        assert!(comm(std::process::id()).is_some_and(|c| !c.is_empty()));
        assert_eq!(Program::agent_peer(None), Program::default());
    }
}

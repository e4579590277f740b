//! The program behind the shells and launchers that a request came through.
//!
//! git runs its credential helper `!keyport git-credential` through `/bin/sh`, Python's
//! `os.system` through `sh -c`, a unit file through `env` or `nice`: the process that started
//! `keyport` is then a shell interpreter or a launcher, which says nothing of who asked. So a
//! non-interactive shell (`sh -c …`, `sh script`) and a launcher (`env`, `nice`, `timeout`,
//! `xargs`, …) are looked through to the first other program, and named as what it came through
//! ("git, through sh"). Only the system's own are looked through (the file the kernel runs is
//! root's): a program of the user's named `env` could
//! otherwise hand its request to whichever program started it. A program started by another
//! can still ask in that one's name through the system's `sh`; the consent question names both.

use super::proc_fs::arguments;
use super::snapshot::Snapshot;
use std::path::Path;

/// Shell interpreters, by executable file name.
pub const SHELLS: &[&str] = &[
    "bash", "sh", "dash", "zsh", "fish", "ksh", "mksh", "tcsh", "csh", "ash", "busybox", "nu", "elvish",
    "xonsh",
];

/// Programs that only run another (with a changed environment, priority, time limit or input).
const LAUNCHERS: &[&str] = &[
    "env",
    "nice",
    "ionice",
    "timeout",
    "xargs",
    "nohup",
    "stdbuf",
    "setsid",
    "chrt",
    "taskset",
    "time",
    "flock",
    "unbuffer",
    "chronic",
    "systemd-run",
];

/// How many shells and launchers are looked through at most.
const MAX_DEPTH: usize = 8;

/// Whether `exe` is a shell interpreter (by its file name).
pub fn is_shell(exe: &Path) -> bool {
    named_in(exe, SHELLS)
}

/// The program that asked, looked for from process `pid` (the one that started `keyport`, or
/// that connected to the agent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asker {
    pub pid: u32,
    /// The shells and launchers looked through, nearest to the program first.
    pub through: Vec<String>,
}

impl Asker {
    /// "sh" or "env, sh": what the program came through, if anything.
    pub fn through_text(&self) -> Option<String> {
        (!self.through.is_empty()).then(|| self.through.join(", "))
    }
}

/// Looks through non-interactive shells and launchers from process `pid` up to the first other
/// program (see the module's comment).
pub fn asker(seen: &mut Snapshot, pid: u32) -> Asker {
    let mut current = pid;
    let mut through = Vec::new();
    for _ in 0..MAX_DEPTH {
        let Some(exe) = seen.exe(current) else { break };
        let launcher = named_in(&exe, LAUNCHERS);
        // The name first: most callers are neither, and need no more reads.
        let passes = (launcher || is_shell(&exe))
            && seen.file(current).is_some_and(|f| f.uid == 0)
            && (launcher || !interactive(&arguments(current)));
        match (passes, seen.parent(current).filter(|p| *p > 1)) {
            (true, Some(parent)) => {
                through.insert(0, file_name(&exe));
                current = parent;
            }
            _ => break,
        }
    }
    Asker {
        pid: current,
        through,
    }
}

fn file_name(exe: &Path) -> String {
    exe.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn named_in(exe: &Path, names: &[&str]) -> bool {
    exe.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| names.contains(&n))
}

/// Whether a shell with these arguments reads commands from a person: not when it runs a command
/// string (`-c`, also in a cluster as `-ec`) or a script file, unless told `-i`.
fn interactive(args: &[String]) -> bool {
    let mut told_interactive = false;
    for arg in args {
        if arg == "--" {
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            told_interactive |= long == "interactive";
            continue;
        }
        match arg.strip_prefix(['-', '+']) {
            Some(flags) => {
                told_interactive |= flags.contains('i') && arg.starts_with('-');
                if flags.contains('c') && arg.starts_with('-') {
                    return told_interactive;
                }
            }
            // A script to run.
            None => return told_interactive,
        }
    }
    true
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::process::pid_written_to;
    use crate::process::proc_fs::exe_path;

    #[test]
    fn shells_that_run_a_command_or_a_script_are_not_a_person() {
        let a = |args: &[&str]| interactive(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(a(&[]));
        assert!(a(&["-l"]));
        assert!(a(&["--login"]));
        assert!(!a(&["-c", "keyport git-credential get"]));
        assert!(!a(&["-ec", "x"]));
        assert!(!a(&["-e", "deploy.sh"]));
        assert!(!a(&["./deploy.sh", "arg"]));
        assert!(a(&["-i", "-c", "x"]));
    }

    #[test]
    fn a_program_is_found_behind_the_shells_and_launchers_it_ran() {
        // python3 → sh -c → env → sh -c: from the innermost shell, the asker is python3.
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let mut python = std::process::Command::new("python3")
            .arg("-c")
            .arg(format!(
                "import os; os.system('env sh -c \"echo $$ > {}; sleep 30; :\"')",
                pid_file.display()
            ))
            .spawn()
            .unwrap();
        let inner_sh = pid_written_to(&pid_file);
        let found = asker(&mut Snapshot::default(), inner_sh);
        let python_exe = exe_path(python.id());
        let found_exe = exe_path(found.pid);
        let _ = python.kill();
        let _ = python.wait();
        // `env` and the shells exec what they run last where they can; what is left between is
        // named by the file the kernel runs (`/bin/sh` is dash on Debian).
        assert_eq!(found_exe, python_exe, "{found:?}");
        assert!(!found.through.is_empty(), "{found:?}");
        assert!(
            found.through.iter().all(|t| SHELLS.contains(&t.as_str())),
            "{found:?}"
        );
        assert_eq!(found.through_text(), Some(found.through.join(", ")));
        // A program that is no shell or launcher is its own asker.
        assert_eq!(
            asker(&mut Snapshot::default(), std::process::id()).pid,
            std::process::id()
        );
    }
}

//! Whether a caller is the person at a terminal: `keyport token` typed at a shell prompt passes
//! consent without a question in the window, as the person's own command.
//!
//! A controlling terminal alone proves nothing: any program can make a pseudo-terminal and run a
//! shell on it (`setsid script -qc "bash -c 'keyport token …'"`). So the terminal must be hosted
//! by a program made for people to look at: the process that opened it and started its session
//! (the session leader's parent) runs a terminal emulator installed on the system (the file it
//! runs, as the kernel knows it, owned by root, in the agent's own mount namespace, so that no
//! program of the user can pass its own under that name), or it is sshd or `login`. Terminal
//! multiplexers (tmux, screen) and terminal servers that run without a window (`urxvtd`,
//! `ptyxis-agent`) do not count: any program can start a detached one, which nobody sees.
//!
//! This is a convenience that keeps the person's own commands unasked, not a boundary: whatever
//! runs in the person's terminal counts as them (a build script, a package's install hook), and
//! a program can still start a real terminal emulator where nobody looks (a display of its own,
//! a window started iconified) or log in over SSH with a key it adds. docs/SECURITY.md says so.

#[cfg(target_os = "linux")]
use super::proc_fs::real_uid;
use super::snapshot::Snapshot;

/// Terminal emulators by executable file name. Those built on a browser runtime (VS Code, Hyper,
/// Tabby) are left out: their terminal host can be started without a window.
const TERMINAL_EMULATORS: &[&str] = &[
    "gnome-terminal-server",
    "kgx",
    "konsole",
    "xterm",
    "uxterm",
    "xfce4-terminal",
    "mate-terminal",
    "lxterminal",
    "qterminal",
    "tilix",
    "terminology",
    "deepin-terminal",
    "alacritty",
    "kitty",
    "wezterm-gui",
    "foot",
    "st",
    "urxvt",
    "rxvt",
    "ghostty",
    "contour",
    "rio",
    "Terminal",
    "iTerm2",
];

/// Processes that run as root and host a login's terminal: their names cannot be taken by a
/// program of the user (it cannot run as root).
const LOGIN_HOSTS: &[&str] = &["sshd", "sshd-session", "login"];

/// Whether process `pid` runs on a terminal that a person sees (see the module's comment).
#[cfg(target_os = "linux")]
pub fn typed_in_a_terminal(seen: &mut Snapshot, pid: u32) -> bool {
    let Some(caller) = seen.stat(pid) else {
        return false;
    };
    if caller.tty == 0 {
        return false;
    }
    // The session leader is the first process on the terminal (the shell the emulator started);
    // its parent opened the terminal.
    let Some(leader) = seen.stat(caller.session) else {
        return false;
    };
    leader.tty == caller.tty && hosts_a_visible_terminal(seen, leader.ppid)
}

#[cfg(not(target_os = "linux"))]
pub fn typed_in_a_terminal(_seen: &mut Snapshot, _pid: u32) -> bool {
    false
}

/// Whether process `pid` is the first of its session: what a terminal emulator starts on its
/// terminal (`xterm -e keyport token …` starts Keyport's CLI there with no shell).
#[cfg(target_os = "linux")]
pub fn leads_its_session(seen: &mut Snapshot, pid: u32) -> bool {
    seen.stat(pid).is_some_and(|s| s.session == pid)
}

#[cfg(not(target_os = "linux"))]
pub fn leads_its_session(_seen: &mut Snapshot, _pid: u32) -> bool {
    false
}

#[cfg(target_os = "linux")]
fn hosts_a_visible_terminal(seen: &mut Snapshot, pid: u32) -> bool {
    // A terminal emulator of the system: the file it runs, through the kernel's own link (not
    // the path the link names, which another mount namespace can put another file under), in
    // our mount namespace.
    if let Some(exe) = seen.exe(pid) {
        let named = exe
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| TERMINAL_EMULATORS.contains(&n));
        if named && seen.same_mounts(pid) && seen.file(pid).is_some_and(|f| f.uid == 0) {
            return true;
        }
    }
    // sshd's per-session process runs as the user and hides its executable (it is not dumpable);
    // the process above it, sshd's monitor, runs as root, and root's names are its own.
    fn login_host(seen: &mut Snapshot, pid: u32) -> bool {
        seen.stat(pid)
            .is_some_and(|s| LOGIN_HOSTS.contains(&s.name.as_str()))
            && real_uid(pid) == Some(0)
    }
    if login_host(seen, pid) {
        return true;
    }
    seen.stat(pid)
        .is_some_and(|s| s.name.starts_with("sshd") && login_host(seen, s.ppid))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::process::pid_written_to;
    use crate::process::proc_fs::Stat;

    #[test]
    fn stat_lines_are_read_past_a_name_with_spaces_and_parentheses() {
        let stat = Stat::parse("4242 (a (b) c) S 17 4242 4242 34816 4242 4194560 0").unwrap();
        assert_eq!(stat.name, "a (b) c");
        assert_eq!((stat.ppid, stat.session, stat.tty), (17, 4242, 34816));
        assert!(Stat::parse("garbage").is_none());
        assert!(
            !typed_in_a_terminal(&mut Snapshot::default(), 1),
            "init has no terminal"
        );
        assert!(!typed_in_a_terminal(&mut Snapshot::default(), u32::MAX));
    }

    #[test]
    fn a_shell_on_a_terminal_that_a_program_made_is_not_the_person() {
        // `script` in a new session: the shell it starts has a controlling terminal (a
        // pseudo-terminal), and nobody sees it.
        if std::process::Command::new("script")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: no `script` (util-linux) on this machine");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let mut child = std::process::Command::new("setsid")
            .args(["script", "-qc"])
            .arg(format!("sh -c 'echo $$ > {}; sleep 5'", pid_file.display()))
            .arg("/dev/null")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let shell = pid_written_to(&pid_file);
        let stat = Stat::read(shell).unwrap();
        let verdict = typed_in_a_terminal(&mut Snapshot::default(), shell);
        let _ = child.kill();
        let _ = child.wait();
        assert_ne!(stat.tty, 0, "the shell has a controlling terminal");
        assert!(!verdict, "but `script` is no terminal a person sees");
    }
}

//! The terminal a caller runs on, as the kernel says: its controlling terminal and the session on
//! it (one window or tab's shell, one login). The person answers for a terminal once ("Allow in
//! this terminal", `agent::asking`), and until that session ends whatever runs in it asks no
//! more: `keyport token` typed at the prompt, `git push`, a script started there.
//!
//! Nothing here judges a terminal by the program that hosts it. Which emulator opened it (or
//! sshd, or `script`, or tmux) is only shown, so that the person can tell their own window from
//! a pseudo-terminal a program made for itself, and a program may call itself anything. What
//! decides is the person's answer for this session, and the session leader's pidfd says when it
//! has ended, so that a session id used again later is not taken for it.

use super::snapshot::Snapshot;

/// A terminal session a caller runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    /// The terminal's device number.
    pub tty: i64,
    /// The session: its leader's pid.
    pub session: u32,
    /// The terminal in words: "pts/3, opened by xterm".
    pub described: String,
}

/// The terminal session process `pid` runs in: `None` without a controlling terminal, or when
/// its session's leader is gone or on another terminal (the session no longer has the terminal
/// it started on).
pub fn terminal_of(seen: &mut Snapshot, pid: u32) -> Option<Terminal> {
    let caller = seen.stat(pid)?;
    if caller.tty == 0 {
        return None;
    }
    let leader = seen.stat(caller.session)?;
    if leader.tty != caller.tty {
        return None;
    }
    // The leader's parent opened the terminal (an emulator, sshd, `script`, tmux): named for the
    // person to judge, by its executable's file name, else its command name.
    let host = seen
        .exe(leader.ppid)
        .and_then(|e| e.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| seen.stat(leader.ppid).map(|s| s.name));
    let name = tty_name(caller.tty);
    Some(Terminal {
        tty: caller.tty,
        session: caller.session,
        described: match host {
            Some(host) => format!("{name}, opened by {host}"),
            None => name,
        },
    })
}

/// The terminal's name from its device number (Linux's numbering: pseudo-terminals on majors
/// 136–143, virtual consoles on 4).
fn tty_name(device: i64) -> String {
    let major = (device >> 8) & 0xfff;
    let minor = (device & 0xff) | ((device >> 12) & 0xfff00);
    match major {
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        4 if minor < 64 => format!("tty{minor}"),
        _ => format!("terminal {major}:{minor}"),
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::process::pid_written_to;
    use crate::process::proc_fs::Stat;

    #[test]
    fn terminals_are_named_by_their_device() {
        assert_eq!(tty_name(136 << 8 | 3), "pts/3");
        assert_eq!(tty_name(137 << 8 | 1), "pts/257");
        assert_eq!(tty_name(4 << 8 | 2), "tty2");
        assert_eq!(tty_name(5 << 8 | 1), "terminal 5:1");
        assert_eq!(
            terminal_of(&mut Snapshot::default(), 1),
            None,
            "init has no terminal"
        );
        assert_eq!(terminal_of(&mut Snapshot::default(), u32::MAX), None);
    }

    #[test]
    fn a_shell_on_a_pseudo_terminal_is_in_that_terminals_session_and_its_host_is_named() {
        // `script` in a new session: the shell it starts has a controlling terminal (a
        // pseudo-terminal) and leads the session `script` opened it for.
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
        let terminal = terminal_of(&mut Snapshot::default(), shell);
        let _ = child.kill();
        let _ = child.wait();
        let terminal = terminal.expect("the shell runs on a terminal");
        assert_eq!(terminal.tty, stat.tty);
        assert_eq!(terminal.session, stat.session);
        assert!(
            terminal.described.starts_with("pts/") && terminal.described.ends_with("opened by script"),
            "{terminal:?}"
        );
    }
}

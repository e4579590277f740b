//! Who asked the agent, pinned when the connection was accepted: the program the audit and the
//! consent question name is the one the kernel reported then, and the answer goes out only if it
//! is still that program. A process that connects and then replaces itself (`execve`) with an
//! allowed program, during the question or after, gets nothing; so does one whose caller (when
//! the peer is Keyport's own CLI) does the same.
//!
//! Each pinned process is held by a pidfd on Linux, so that a pid reused by another process
//! after the first one ended is not taken for it; its executable is compared by device and inode.
//!
//! When the peer is the `ssh` client, the request came from another machine through a forwarded
//! socket: the kernel then knows only the SSH connection (named by its destination, from `ssh`'s
//! command line), and who asks over there is that machine's claim.

use crate::agent_link::protocol::Claim;
use crate::store::audit::Use;
#[cfg(target_os = "linux")]
use std::os::fd::{FromRawFd, OwnedFd};

/// The program at the other end of a connection, as it was when the agent accepted it.
pub struct Caller {
    /// The use to record and judge, without its account (the request names that later).
    usage: Use,
    pins: Vec<Pin>,
    /// The SSH destination, when the peer is the `ssh` client forwarding a remote request.
    over_ssh: Option<String>,
    /// Whether ssh's command line named it (answers are remembered only then).
    destination_known: bool,
}

struct Pin {
    pid: u32,
    #[cfg(target_os = "linux")]
    pidfd: Option<OwnedFd>,
    exe: Option<(u64, u64)>,
}

impl Caller {
    /// Reads the caller of the connection from process `pid` now.
    pub fn at_accept(pid: Option<u32>) -> Caller {
        let usage = Use::by_agent_peer("", pid);
        let mut pids: Vec<u32> = pid.into_iter().collect();
        // When the peer is Keyport's CLI, the use is its caller's: pin that one too.
        if let Some(caller) = usage.pid.filter(|c| Some(*c) != pid) {
            pids.push(caller);
        }
        let pins = pids.into_iter().map(Pin::new).collect();
        let peer_is_ssh = pid.filter(|p| usage.pid == Some(*p) && is_ssh(usage.exe.as_deref()));
        // A connection multiplexed through a persisted master (ControlPersist) shows no
        // destination on ssh's command line: then nothing is remembered for it.
        let destination = peer_is_ssh.and_then(ssh_destination);
        let over_ssh = peer_is_ssh.map(|_| {
            destination
                .clone()
                .unwrap_or_else(|| "an SSH connection (destination unknown)".into())
        });
        Caller {
            usage,
            pins,
            over_ssh,
            destination_known: destination.is_some(),
        }
    }

    /// The SSH destination a forwarded request came through.
    pub fn over_ssh(&self) -> Option<&str> {
        self.over_ssh.as_deref()
    }

    /// The use of `account` by this caller, dated now. Over SSH, the program is what the other
    /// machine claims (written out safely), and the answer is kept for it on that destination.
    pub fn usage(&self, account: &str, claim: Option<&Claim>) -> Use {
        let mut usage = Use {
            at: crate::model::tokens::now(),
            account: account.to_string(),
            ..self.usage.clone()
        };
        if let Some(destination) = &self.over_ssh {
            let program = claim
                .and_then(|c| c.program.as_deref())
                .map(shorten)
                .unwrap_or_else(|| "a program".into());
            usage.exe = self
                .destination_known
                .then(|| crate::store::consent_book::over_ssh_key(destination, &program));
            usage.program = Some(program);
            usage.parent_exe = None;
            usage.via = "ssh".into();
            usage.over_ssh = Some(destination.clone());
        }
        usage
    }

    /// Whether every pinned process still lives and runs the executable it ran at accept.
    pub fn unchanged(&self) -> bool {
        self.pins.iter().all(Pin::unchanged)
    }
}

impl Pin {
    fn new(pid: u32) -> Pin {
        #[cfg(target_os = "linux")]
        let pidfd = {
            // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
            // SAFETY: a non-negative result is a descriptor this process now owns.
            (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
        };
        Pin {
            pid,
            #[cfg(target_os = "linux")]
            pidfd,
            exe: exe_id(pid),
        }
    }

    fn unchanged(&self) -> bool {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.pidfd {
            use std::os::fd::AsRawFd;
            // Signal 0 checks without sending: it fails once the pinned process has ended, even
            // if its pid now belongs to another.
            // SAFETY: a plain system call on a descriptor we own.
            let alive = unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    0,
                    std::ptr::null::<u8>(),
                    0,
                )
            } == 0;
            if !alive {
                return false;
            }
        }
        exe_id(self.pid) == self.exe
    }
}

/// Whether `exe` is an OpenSSH client installed by the system: named `ssh`, and it and its
/// directory root's, closed to others' writes, so that no program of the user's can pose as one
/// (an executable of its own called `ssh`) to be taken for another machine's request.
fn is_ssh(exe: Option<&str>) -> bool {
    let Some(exe) = exe.map(std::path::Path::new) else {
        return false;
    };
    let system_owned = |path: &std::path::Path| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(path).is_ok_and(|m| m.uid() == 0 && m.mode() & 0o022 == 0)
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            false
        }
    };
    exe.file_name().is_some_and(|n| n == "ssh") && system_owned(exe) && exe.parent().is_some_and(system_owned)
}

/// A claim or destination as shown and kept: control characters and invisible formatting (which
/// could reorder or hide the words around it in the question) written out, and not too long.
fn shorten(text: &str) -> String {
    let visible: String = text
        .chars()
        .map(|c| {
            if is_invisible(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect();
    let escaped = crate::text::escape_controls(&visible);
    match escaped.char_indices().nth(64) {
        Some((at, _)) => format!("{}…", &escaped[..at]),
        None => escaped.into_owned(),
    }
}

/// Unicode's formatting characters that change how text around them shows without showing
/// themselves: bidirectional overrides and isolates, zero-width characters.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{ad}' | '\u{61c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

/// The destination on `ssh`'s command line: its first argument that is neither an option nor an
/// option's value.
fn ssh_destination(pid: u32) -> Option<String> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .skip(1)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    destination_in(&args)
        .filter(|d| !d.trim().is_empty())
        .map(shorten)
}

fn destination_in(args: &[String]) -> Option<&str> {
    // The options of OpenSSH's ssh(1) that take a value.
    const WITH_VALUE: &str = "BbcDEeFIiJLlmOoPpQRSWw";
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            return args.next().map(String::as_str);
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return Some(arg);
        };
        for (i, flag) in flags.char_indices() {
            if WITH_VALUE.contains(flag) {
                if i + flag.len_utf8() == flags.len() {
                    args.next();
                }
                break;
            }
        }
    }
    None
}

/// The device and inode of process `pid`'s executable.
fn exe_id(pid: u32) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(format!("/proc/{pid}/exe"))
            .ok()
            .map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_process_that_runs_another_program_or_ends_is_no_longer_the_caller() {
        // A child that waits, then replaces itself with another program.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "read line; exec sleep 30"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let caller = Caller::at_accept(Some(child.id()));
        assert!(caller.unchanged());
        assert_eq!(caller.usage("x-1", None).account, "x-1");
        assert_eq!(caller.over_ssh(), None);
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"go\n").unwrap();
        let start = std::time::Instant::now();
        while caller.unchanged() && start.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!caller.unchanged(), "the exec was not noticed");
        let pinned = Caller::at_accept(Some(child.id()));
        assert!(pinned.unchanged());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!pinned.unchanged(), "an ended process is not the caller");
    }

    #[test]
    fn the_destination_is_sshs_first_word_that_is_no_option_or_value() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let d = |a: &[&str]| destination_in(&args(a)).map(str::to_string);
        assert_eq!(d(&["devbox"]), Some("devbox".into()));
        assert_eq!(
            d(&[
                "-R",
                "/tmp/keyport-forward-x.sock:/run/a.sock",
                "-p",
                "2222",
                "-t",
                "ada@devbox",
                "git",
                "pull"
            ]),
            Some("ada@devbox".into())
        );
        assert_eq!(
            d(&["-oBatchMode=yes", "-4Cp2222", "devbox"]),
            Some("devbox".into())
        );
        assert_eq!(
            d(&["-i", "key", "-l", "ada", "--", "-weird"]),
            Some("-weird".into())
        );
        assert_eq!(d(&["-N"]), None);
        assert_eq!(shorten("dev\u{1b}[31mbox"), "dev\\x1b[31mbox");
        assert_eq!(shorten("git\u{202e}HSS revo"), "git\\u{202e}HSS revo");
        assert!(!is_ssh(Some("/nonexistent/ssh")));
        assert!(!is_ssh(Some("/usr/bin/python3")));
        assert!(shorten(&"x".repeat(100)).ends_with('…'));
    }
}

//! Who asked the agent, pinned when the connection was accepted: the program the audit and the
//! consent question name is the one the kernel reported then, and the answer goes out only if it
//! is still that program. A process that connects and then replaces itself (`execve`) with an
//! allowed program, during the question or after, gets nothing; so does one whose caller (when
//! the peer is Keyport's own CLI) does the same.
//!
//! Each pinned process is held by a pidfd on Linux, so that a pid reused by another process
//! after the first one ended is not taken for it; its executable is compared by device and inode.
//! Keyport's own CLI may hide its executable later: `keyport mcp` holds its connection and makes
//! itself non-dumpable once pinned (`ops::held_agent`). Hidden, it is still the program pinned,
//! as long as its pidfd says it lives: running another program would have closed the connection
//! (Keyport opens it close-on-exec) and shown that program's executable again (an `execve`
//! makes a process dumpable, but for a set-id program, which runs as another user or group).
//!
//! A request that arrived on a forwarding socket came from another machine: which socket it came
//! through is all that decides it (never which program connected: an `ssh` of the person's own,
//! from conda or `~/bin`, forwards as well as the system's). The kernel then knows only the SSH
//! connection, named by the destination fixed when its socket was made, and who asks over there
//! is that machine's claim.

use crate::agent_link::protocol::Claim;
use crate::model::AccountId;
use crate::process::{Pin, Program, Snapshot};
use crate::store::audit::Use;

/// The program at the other end of a connection, as it was when the agent accepted it.
pub struct Caller {
    /// The use to record and judge, without its account (the request names that later).
    usage: Use,
    pins: Vec<Pin>,
    /// The SSH destination, when the request came through a forwarding socket.
    over_ssh: Option<String>,
}

impl Caller {
    /// Reads the caller of the connection from process `pid` now.
    pub fn at_accept(pid: Option<u32>) -> Caller {
        let mut seen = Snapshot::default();
        let usage = Use::of(
            &AccountId::default(),
            "agent",
            Program::agent_peer_seen(&mut seen, pid),
        );
        // When the peer is Keyport's CLI, the use is its caller's: pin that one too.
        let caller = usage.pid.filter(|c| Some(*c) != pid);
        let peer = pid.map(|pid| Pin::new(&mut seen, pid, caller.is_some()));
        let pins = peer
            .into_iter()
            .chain(caller.map(|c| Pin::new(&mut seen, c, false)))
            .collect();
        Caller {
            usage,
            pins,
            over_ssh: None,
        }
    }

    /// A request that came through the forwarding socket made for `destination`: the process
    /// that connected is the SSH client, whoever it is; nothing of it is pinned or judged.
    pub fn forwarded(destination: &str) -> Caller {
        Caller {
            usage: Use::of(&AccountId::default(), "agent", Program::default()),
            pins: Vec::new(),
            over_ssh: Some(shorten(destination)),
        }
    }

    /// The SSH destination a forwarded request came through.
    pub fn over_ssh(&self) -> Option<&str> {
        self.over_ssh.as_deref()
    }

    /// The use of `account` by this caller, dated now. Over SSH, the program is what the other
    /// machine claims (written out safely), and the answer is kept for it on that destination.
    pub fn usage(&self, account: &AccountId, claim: Option<&Claim>) -> Use {
        let mut usage = Use {
            at: crate::model::tokens::now(),
            account: account.clone(),
            ..self.usage.clone()
        };
        if let Some(destination) = &self.over_ssh {
            let program = claim
                .and_then(|c| c.program.as_deref())
                .map(shorten)
                .unwrap_or_else(|| "a program".into());
            usage.exe = Some(crate::store::consent_book::over_ssh_key(destination, &program));
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
        assert_eq!(caller.usage(&AccountId::new("x-1"), None).account.as_str(), "x-1");
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
    fn claims_and_destinations_are_shown_safely() {
        assert_eq!(shorten("dev\u{1b}[31mbox"), "dev\\x1b[31mbox");
        assert_eq!(shorten("git\u{202e}HSS revo"), "git\\u{202e}HSS revo");
        assert!(shorten(&"x".repeat(100)).ends_with('…'));
        let caller = Caller::forwarded("dev\u{7}box");
        assert_eq!(caller.over_ssh(), Some("dev\\x07box"));
        let usage = caller.usage(&AccountId::new("x-1"), None);
        assert_eq!(
            (usage.via.as_str(), usage.program.as_deref()),
            ("ssh", Some("a program"))
        );
        assert!(caller.unchanged());
    }
}

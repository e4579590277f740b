//! Asking a running agent for a token: what `keyport token` tries before the keychain.
//!
//! Whoever can place a socket where ours should be could learn which account is asked for and
//! hand back a token of their choosing. So before sending anything the client checks that the
//! socket's directory is this user's alone (for a socket forwarded over SSH, see `address`), and
//! that the process answering runs as this user.

use super::address::AgentAddress;
use super::protocol::{Answer, Claim, ConnectAsk, DeviceCode, ForwardAsk, GitAsk, HoldAsk, Request};
use crate::error::{Error, Result};
use crate::model::TokenUse;
#[cfg(unix)]
use std::path::Path;

/// Asks the agent for a token. `Ok(None)` when no local agent answers (then use the keychain);
/// an error when the socket or the process behind it is not this user's, or when a desktop's
/// agent across SSH does not answer (there is no keychain here to fall back on).
#[cfg(unix)]
pub fn ask_agent(
    agent: &AgentAddress,
    account: &str,
    min_ttl: u64,
    token_use: TokenUse,
) -> Result<Option<Answer>> {
    let request = Request {
        account: account.to_string(),
        min_ttl,
        token_use,
        claim: agent.is_remote().then(Claim::here),
        rejected: None,
    };
    match exchange(agent, &request, ANSWER_WAIT_SECS)? {
        // An agent older than the question hands out the access token for an ID token.
        Some(Answer::Token(issued)) if issued.token_use != token_use => Err(Error::Unsupported(
            "the running Keyport agent is older than this keyport and hands out no ID token; restart it \
             (or Keyport's app)"
                .into(),
        )),
        answer => Ok(answer),
    }
}

/// Asks a desktop's agent across SSH for git's credential: the desktop picks the account.
#[cfg(unix)]
pub fn ask_git(agent: &AgentAddress, mut ask: GitAsk) -> Result<Option<Answer>> {
    #[derive(serde::Serialize)]
    struct Message<'a> {
        git: &'a GitAsk,
    }
    ask.claim = Claim::here();
    exchange(agent, &Message { git: &ask }, ANSWER_WAIT_SECS)
}

/// Asks a desktop's agent across SSH which of its accounts this machine may use.
#[cfg(unix)]
pub fn ask_list(agent: &AgentAddress) -> Result<Option<Answer>> {
    #[derive(serde::Serialize)]
    struct Message {
        list: Claim,
    }
    exchange(agent, &Message { list: Claim::here() }, 10)
}

/// Asks a desktop's agent across SSH to run a sign-in there (after asking the person).
#[cfg(unix)]
pub fn ask_connect(agent: &AgentAddress, mut ask: ConnectAsk) -> Result<Option<Answer>> {
    #[derive(serde::Serialize)]
    struct Message<'a> {
        connect: &'a ConnectAsk,
    }
    ask.claim = Claim::here();
    let wait = ask.timeout + ANSWER_WAIT_SECS;
    exchange(agent, &Message { connect: &ask }, wait)
}

/// A refresh at the provider can take a while (the HTTP client gives up after 30 s), and the
/// app may be asking the user whether this program may have the token.
#[cfg(unix)]
const ANSWER_WAIT_SECS: u64 = 45 + super::DEFAULT_CONSENT_TIMEOUT.as_secs();

/// Tells a running app the code of a device sign-in, for its window. `Ok(true)` when a window
/// showed it; `Ok(false)` when no agent, or one without a window, answers.
#[cfg(unix)]
pub fn show_device_code(socket: &Path, code: &DeviceCode) -> Result<bool> {
    #[derive(serde::Serialize)]
    struct Message<'a> {
        device_code: &'a DeviceCode,
    }
    let agent = AgentAddress::Local(socket.to_path_buf());
    Ok(matches!(
        exchange(&agent, &Message { device_code: code }, 5)?,
        Some(Answer::Shown)
    ))
}

impl Claim {
    /// What this process can say about who runs it: its parent's program name and this host.
    pub fn here() -> Claim {
        #[cfg(target_os = "linux")]
        {
            let parent = std::os::unix::process::parent_id();
            let program = crate::process::exe_path(parent)
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .or_else(|| crate::process::comm(parent));
            let host = crate::process::host_name();
            Claim { program, host }
        }
        #[cfg(not(target_os = "linux"))]
        Claim::default()
    }
}

/// One line out, one line back, once the socket and the process answering are known to be this
/// user's.
#[cfg(unix)]
fn exchange(
    agent: &AgentAddress,
    message: &impl serde::Serialize,
    timeout_secs: u64,
) -> Result<Option<Answer>> {
    use std::os::unix::net::UnixStream;
    let (socket, stream) = match agent {
        AgentAddress::Local(socket) => {
            if std::fs::symlink_metadata(socket).is_err() {
                return Ok(None);
            }
            crate::files::private::check_dir(socket.parent().expect("the socket lives in a directory"))?;
            let Ok(stream) = UnixStream::connect(socket) else {
                return Ok(None);
            };
            (socket.as_path(), stream)
        }
        AgentAddress::Named(socket) => {
            super::address::check_forwarded(socket)?;
            let stream = UnixStream::connect(socket).map_err(|e| Error::ForwardUnanswered {
                socket: socket.clone(),
                reason: format!("{e} (a socket left by an SSH session that has ended?)"),
            })?;
            (socket.as_path(), stream)
        }
        AgentAddress::Forwarded(candidates) => match connect_forwarded(candidates)? {
            Some(found) => found,
            // Only what ended sessions left (now removed): as if SSH had forwarded nothing.
            None => return Ok(None),
        },
    };
    check_peer(socket, &stream)?;
    match talk(&stream, message, timeout_secs) {
        Ok(Some(answer)) => Ok(Some(answer)),
        // A local agent that says nothing sensible is as good as none: the keychain answers.
        _ if !agent.is_remote() => Ok(None),
        Ok(None) => Err(Error::ForwardUnanswered {
            socket: socket.to_path_buf(),
            reason: "the desktop sent no answer: Keyport's agent is not running there, or the SSH \
                     connection closed"
                .into(),
        }),
        Err(e) => Err(Error::ForwardUnanswered {
            socket: socket.to_path_buf(),
            reason: if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) {
                format!("no answer from the desktop within {timeout_secs} s")
            } else {
                format!("the connection to the desktop failed: {e}")
            },
        }),
    }
}

/// Refuses an agent that runs as another user.
#[cfg(unix)]
fn check_peer(socket: &Path, stream: &std::os::unix::net::UnixStream) -> Result<()> {
    let server = peer_uid(stream).map_err(|e| Error::io("identify the agent at", socket, e))?;
    let me = crate::files::private::euid();
    if server != me {
        return Err(Error::UnsafePath {
            path: socket.to_path_buf(),
            reason: format!("the agent there runs as user {server}, not as you ({me})"),
        });
    }
    Ok(())
}

/// Sends `message` as one line and reads one line back.
#[cfg(unix)]
fn talk(
    stream: &std::os::unix::net::UnixStream,
    message: &impl serde::Serialize,
    timeout_secs: u64,
) -> std::io::Result<Option<Answer>> {
    use std::io::Write;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(timeout_secs)))?;
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    (&*stream).write_all(&line)?;
    let answer = read_line(&mut &*stream, MAX_ANSWER_BYTES)?;
    // The line (a token, perhaps) is wiped when dropped; what it parses into keeps the token as
    // a `Secret`.
    Ok(serde_json::from_slice(&answer).ok())
}

/// The most an answer line may hold: `list` with thousands of accounts fits many times over.
#[cfg(unix)]
const MAX_ANSWER_BYTES: usize = 64 << 20;

/// Reads one answer line, in as few reads as the kernel allows (the token path's time is mostly
/// system calls; a byte at a time cost one per byte). The agent answers each request with one
/// line and sends nothing unasked, so bytes after the newline break the protocol and are an
/// error, never kept for a next answer. Every buffer that held the line is wiped: it may hold a
/// token.
#[cfg(unix)]
fn read_line(from: &mut impl std::io::Read, limit: usize) -> std::io::Result<zeroize::Zeroizing<Vec<u8>>> {
    use std::io::{Error, ErrorKind};
    use zeroize::Zeroizing;
    let mut line = Zeroizing::new(Vec::with_capacity(4096));
    loop {
        if line.len() == line.capacity() {
            // Grown by hand: a Vec that reallocates itself leaves the old copy unwiped.
            let mut bigger = Zeroizing::new(Vec::with_capacity(line.capacity() * 2));
            bigger.extend_from_slice(&line);
            line = bigger;
        }
        let filled = line.len();
        let room = line.capacity() - filled;
        line.resize(filled + room, 0);
        let read = from.read(&mut line[filled..]);
        line.truncate(filled + *read.as_ref().unwrap_or(&0));
        match read {
            Ok(0) => {
                return Err(Error::new(
                    ErrorKind::UnexpectedEof,
                    "the agent closed before its answer's end",
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if let Some(end) = line[filled..].iter().position(|b| *b == b'\n') {
            if filled + end + 1 != line.len() {
                return Err(Error::new(
                    ErrorKind::InvalidData,
                    "the agent sent more than its answer",
                ));
            }
            line.truncate(filled + end);
            return Ok(line);
        }
        if line.len() > limit {
            return Err(Error::new(
                ErrorKind::InvalidData,
                "the agent's answer is too long",
            ));
        }
    }
}

/// A connection to this home's agent held for several token requests, by a process that stays
/// and holds tokens (`keyport mcp`): the agent pinned who calls when it accepted it, so the
/// process may make itself non-dumpable afterwards (which hides its `/proc/<pid>/exe`, by which
/// the agent knows Keyport's CLI and so names the program that ran it) and still be named as it
/// was. The socket was checked as [`ask_agent`] checks it.
#[cfg(unix)]
pub struct HeldAgent {
    stream: std::os::unix::net::UnixStream,
}

/// Connects to this home's agent and asks it to hold the connection. `Ok(None)` when no local
/// agent answers, or one that does not hold connections; an error when the socket or the process
/// behind it is not this user's.
#[cfg(unix)]
pub fn hold_agent(agent: &AgentAddress) -> Result<Option<HeldAgent>> {
    use std::os::unix::net::UnixStream;
    // Across SSH the desktop knows its caller by the forwarding socket, never by this process.
    let AgentAddress::Local(socket) = agent else {
        return Ok(None);
    };
    if std::fs::symlink_metadata(socket).is_err() {
        return Ok(None);
    }
    crate::files::private::check_dir(socket.parent().expect("the socket lives in a directory"))?;
    let Ok(stream) = UnixStream::connect(socket) else {
        return Ok(None);
    };
    check_peer(socket, &stream)?;
    #[derive(serde::Serialize)]
    struct Message {
        hold: HoldAsk,
    }
    match talk(&stream, &Message { hold: HoldAsk {} }, 10) {
        Ok(Some(Answer::Held)) => Ok(Some(HeldAgent { stream })),
        _ => Ok(None),
    }
}

#[cfg(unix)]
impl HeldAgent {
    /// Asks for a token on the held connection. `None` when the connection broke (the agent
    /// stopped or restarted): it is of no further use.
    pub fn ask(&self, account: &str, min_ttl: u64) -> Option<Answer> {
        let request = Request {
            account: account.to_string(),
            min_ttl,
            token_use: TokenUse::Access,
            claim: None,
            rejected: None,
        };
        talk(&self.stream, &request, ANSWER_WAIT_SECS).ok().flatten()
    }
}

/// A forwarding socket made by this desktop's agent for one SSH connection (or, `standing`, for
/// a `RemoteForward` in `~/.ssh/config`): whatever arrives on it is judged as a request from
/// `destination`. A per-connection one lasts as long as this value.
#[cfg(unix)]
pub struct Forwarding {
    pub socket: std::path::PathBuf,
    /// The connection that asked: the agent removes the socket when it closes.
    _held: std::os::unix::net::UnixStream,
}

/// Asks this desktop's agent (at `socket`) for a forwarding socket to `destination`.
#[cfg(unix)]
pub fn open_forward(socket: &Path, destination: &str, standing: bool) -> Result<Forwarding> {
    #[derive(serde::Serialize)]
    struct Message<'a> {
        forward: &'a ForwardAsk,
    }
    let none_runs = || {
        Error::Unsupported(
            "no Keyport agent runs on this machine to forward: start the Keyport app, or run \
             `keyport agent` in another terminal"
                .into(),
        )
    };
    if std::fs::symlink_metadata(socket).is_err() {
        return Err(none_runs());
    }
    crate::files::private::check_dir(socket.parent().expect("the socket lives in a directory"))?;
    let stream = std::os::unix::net::UnixStream::connect(socket).map_err(|_| none_runs())?;
    check_peer(socket, &stream)?;
    let ask = ForwardAsk {
        destination: destination.to_string(),
        standing,
    };
    match talk(&stream, &Message { forward: &ask }, 10) {
        Ok(Some(Answer::Forwarding { socket })) => Ok(Forwarding { socket, _held: stream }),
        Ok(Some(Answer::Error { kind, message })) => Err(Error::AgentAnswered { kind, message }),
        _ => Err(Error::Unsupported(
            "the agent made no forwarding socket: it may be an older Keyport; restart the app or `keyport agent`"
                .into(),
        )),
    }
}

/// Whether an agent on another machine is there to ask (a forward that leads somewhere). A
/// local agent is not counted.
#[cfg(unix)]
pub fn reaches_another_machine(agent: &AgentAddress) -> Result<bool> {
    Ok(match agent {
        AgentAddress::Local(_) => false,
        AgentAddress::Named(socket) => {
            super::address::check_forwarded(socket)?;
            std::os::unix::net::UnixStream::connect(socket).is_ok()
        }
        AgentAddress::Forwarded(candidates) => connect_forwarded(candidates)?.is_some(),
    })
}

#[cfg(not(unix))]
pub fn reaches_another_machine(_agent: &AgentAddress) -> Result<bool> {
    Ok(false)
}

/// The newest forward that still leads somewhere; `None` when there is none. A socket nobody
/// listens on is what an ended SSH session leaves behind: it is removed, so that it misleads no
/// one again.
#[cfg(unix)]
fn connect_forwarded(
    candidates: &[std::path::PathBuf],
) -> Result<Option<(&Path, std::os::unix::net::UnixStream)>> {
    for socket in candidates {
        super::address::check_forwarded(socket)?;
        match std::os::unix::net::UnixStream::connect(socket) {
            Ok(stream) => return Ok(Some((socket.as_path(), stream))),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                tracing::info!(socket = %socket.display(), "removing a forwarded socket left by an ended SSH session");
                let _ = std::fs::remove_file(socket);
            }
            Err(_) => continue,
        }
    }
    Ok(None)
}

/// The user id of the process at the other end of `stream`.
#[cfg(target_os = "linux")]
fn peer_uid(stream: &std::os::unix::net::UnixStream) -> std::io::Result<u32> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes given; the fd is open.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(cred.uid)
}

#[cfg(all(unix, not(target_os = "linux")))]
fn peer_uid(stream: &std::os::unix::net::UnixStream) -> std::io::Result<u32> {
    use std::os::fd::AsRawFd;
    let (mut uid, mut gid) = (0, 0);
    // SAFETY: `uid` and `gid` are valid for writes; the fd is open.
    if unsafe { libc::getpeereid(stream.as_raw_fd(), &mut uid, &mut gid) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(uid)
}

/// Without Unix sockets there is no agent to ask.
#[cfg(not(unix))]
pub fn ask_agent(
    _agent: &AgentAddress,
    _account: &str,
    _min_ttl: u64,
    _token_use: TokenUse,
) -> Result<Option<Answer>> {
    Ok(None)
}

#[cfg(not(unix))]
pub fn ask_git(_agent: &AgentAddress, _ask: GitAsk) -> Result<Option<Answer>> {
    Ok(None)
}

#[cfg(not(unix))]
pub fn ask_connect(_agent: &AgentAddress, _ask: ConnectAsk) -> Result<Option<Answer>> {
    Ok(None)
}

#[cfg(not(unix))]
pub fn ask_list(_agent: &AgentAddress) -> Result<Option<Answer>> {
    Ok(None)
}

#[cfg(not(unix))]
pub fn show_device_code(_socket: &std::path::Path, _code: &DeviceCode) -> Result<bool> {
    Ok(false)
}

#[cfg(all(test, unix))]
mod tests {
    use super::read_line;
    use std::io::Read;

    /// Hands out what it holds a few bytes per read, as a socket may.
    struct Trickle<'a>(&'a [u8], usize, bool);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            // The first read has room for a whole token answer: one system call, not one per
            // byte (as it once was, which cost a fifth of `keyport token`'s time with an agent).
            assert!(self.2 || buf.len() >= 4096, "a first read of {} bytes", buf.len());
            self.2 = true;
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn an_answer_line_is_read_whole_in_pieces_and_nothing_past_it_is_taken() {
        let line =
            |bytes: &[u8], step| read_line(&mut Trickle(bytes, step, false), 1 << 20).map(|l| l.to_vec());
        assert_eq!(
            line(b"{\"answer\":\"held\"}\n", 3).unwrap(),
            b"{\"answer\":\"held\"}"
        );
        // Longer than the first buffer: it grows, and the line comes out whole.
        let long = format!("{}\n", "x".repeat(10_000));
        assert_eq!(line(long.as_bytes(), 4096).unwrap().len(), 10_000);
        // Bytes after the answer would belong to no request: an error, not a next answer.
        assert!(line(b"one\ntwo\n", 64).is_err());
        // Closed before the newline.
        assert!(line(b"{\"answer\"", 64).is_err());
        assert!(line(b"", 64).is_err());
        // Too long.
        assert!(read_line(&mut Trickle(long.as_bytes(), 4096, false), 5000).is_err());
    }
}

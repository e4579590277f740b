//! Asking a running agent for a token: what `keyport token` tries before the keychain.
//!
//! Whoever can place a socket where ours should be could learn which account is asked for and
//! hand back a token of their choosing. So before sending anything the client checks that the
//! socket's directory is this user's alone, and that the process answering runs as this user.

use super::protocol::{Answer, DeviceCode, Request};
use crate::error::{Error, Result};
use std::path::Path;

/// Asks the agent at `socket` for a token. `Ok(None)` when no agent answers (then use the
/// keychain); an error when the socket or the process behind it is not this user's.
#[cfg(unix)]
pub fn ask_agent(socket: &Path, account: &str, min_ttl: u64) -> Result<Option<Answer>> {
    let request = Request {
        account: account.to_string(),
        min_ttl,
    };
    // A refresh at the provider can take a while (the HTTP client gives up after 30 s), and the
    // app may be asking the user whether this program may have the token.
    let wait = 45 + super::DEFAULT_CONSENT_TIMEOUT.as_secs();
    exchange(socket, &request, wait)
}

/// Tells a running app the code of a device sign-in, for its window. `Ok(true)` when a window
/// showed it; `Ok(false)` when no agent, or one without a window, answers.
#[cfg(unix)]
pub fn show_device_code(socket: &Path, code: &DeviceCode) -> Result<bool> {
    #[derive(serde::Serialize)]
    struct Message<'a> {
        device_code: &'a DeviceCode,
    }
    Ok(matches!(
        exchange(socket, &Message { device_code: code }, 5)?,
        Some(Answer::Shown)
    ))
}

/// One line out, one line back, once the socket's directory and the process answering are known
/// to be this user's.
#[cfg(unix)]
fn exchange(socket: &Path, message: &impl serde::Serialize, timeout_secs: u64) -> Result<Option<Answer>> {
    use std::io::{BufRead, BufReader, Write};
    if std::fs::symlink_metadata(socket).is_err() {
        return Ok(None);
    }
    crate::files::private::check_dir(socket.parent().expect("the socket lives in a directory"))?;
    let Ok(stream) = std::os::unix::net::UnixStream::connect(socket) else {
        return Ok(None);
    };
    let server = peer_uid(&stream).map_err(|e| Error::io("identify the agent at", socket, e))?;
    let me = crate::files::private::euid();
    if server != me {
        return Err(Error::UnsafePath {
            path: socket.to_path_buf(),
            reason: format!("the agent there runs as user {server}, not as you ({me})"),
        });
    }
    let talk = || -> std::io::Result<Option<Answer>> {
        stream.set_read_timeout(Some(std::time::Duration::from_secs(timeout_secs)))?;
        let mut line = serde_json::to_vec(message)?;
        line.push(b'\n');
        (&stream).write_all(&line)?;
        let mut answer = String::new();
        BufReader::new(&stream).read_line(&mut answer)?;
        Ok(serde_json::from_str(&answer).ok())
    };
    Ok(talk().ok().flatten())
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
pub fn ask_agent(_socket: &Path, _account: &str, _min_ttl: u64) -> Result<Option<Answer>> {
    Ok(None)
}

#[cfg(not(unix))]
pub fn show_device_code(_socket: &Path, _code: &DeviceCode) -> Result<bool> {
    Ok(false)
}

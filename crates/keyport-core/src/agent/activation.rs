//! Socket activation: the agent's listening socket handed over by systemd (`LISTEN_FDS`,
//! `LISTEN_PID`, the first passed descriptor is 3), so that the first `keyport token` after login
//! starts the agent and the socket is there before it is. Checked before it is served: a Unix
//! stream socket, listening, at this home's agent path; anything else is refused in words rather
//! than served (another program's socket, a unit pointing at another home).

use crate::error::{Error, Result};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::Path;

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;

/// The listening socket systemd passed to this process, if it did; the variables are removed
/// either way, so that no program the agent starts takes them for its own.
pub fn passed_listener(expected: &Path) -> Result<Option<UnixListener>> {
    let pid = std::env::var("LISTEN_PID").ok();
    let fds = std::env::var("LISTEN_FDS").ok();
    for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(name);
    }
    // Meant for this process, not inherited from the one that was activated.
    if pid.and_then(|p| p.parse::<u32>().ok()) != Some(std::process::id()) {
        return Ok(None);
    }
    let refuse = |why: String| Error::UnsafePath {
        path: expected.to_path_buf(),
        reason: format!("the socket systemd passed {why}; check keyport-agent.socket's ListenStream"),
    };
    if fds.as_deref() != Some("1") {
        return Err(refuse(format!(
            "came with LISTEN_FDS={} where Keyport takes exactly one",
            fds.unwrap_or_default()
        )));
    }
    let int_option = |option| {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `value` and `len` are valid for writes of their sizes; a bad fd is an error.
        let r = unsafe {
            libc::getsockopt(
                FIRST_FD,
                libc::SOL_SOCKET,
                option,
                (&raw mut value).cast(),
                &mut len,
            )
        };
        (r == 0).then_some(value)
    };
    if int_option(libc::SO_TYPE) != Some(libc::SOCK_STREAM) {
        return Err(refuse("is not a stream socket".into()));
    }
    if int_option(libc::SO_ACCEPTCONN) != Some(1) {
        return Err(refuse("is not listening".into()));
    }
    // SAFETY: descriptor 3 is a listening stream socket passed to this process, owned from here.
    let listener = unsafe { UnixListener::from_raw_fd(FIRST_FD) };
    // SAFETY: plain fcntl on an open descriptor; close-on-exec keeps it from programs run later.
    unsafe { libc::fcntl(FIRST_FD, libc::F_SETFD, libc::FD_CLOEXEC) };
    let at = listener
        .local_addr()
        .map_err(|e| refuse(format!("has no address ({e})")))?;
    match at.as_pathname() {
        Some(path) if path == expected => Ok(Some(listener)),
        Some(path) => Err(refuse(format!(
            "listens at {}, not at this home's agent socket",
            path.display()
        ))),
        None => Err(refuse("is not a Unix socket with a path".into())),
    }
}

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

/// The socket an agent that asks (the app's) serves at the path, by inode, once it does.
static SERVED_BY_THE_APP: std::sync::OnceLock<(std::path::PathBuf, u64)> = std::sync::OnceLock::new();

/// Notes that the app's agent now serves `path` (bound there, or taken over from an activated
/// agent, whose systemd socket still listens, on a file no longer at the path).
pub fn served_by_the_app(path: &Path, inode: u64) {
    let _ = SERVED_BY_THE_APP.set((path.to_path_buf(), inode));
}

/// When the app quits: systemd is asked to listen at the path again if its socket unit is on, and
/// the app's socket file goes if it is still there (nothing will answer on it), so that the next `keyport token` starts the
/// agent as it did after login, instead of reading the keychain until the next login. Without
/// systemd, or with the unit off, `try-restart` does nothing.
pub fn give_the_socket_back() {
    give_back_with(Path::new("systemctl"));
}

fn give_back_with(systemctl: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Some((path, inode)) = SERVED_BY_THE_APP.get() else {
        return;
    };
    // systemd first, while the app's agent still answers at the path: restarted, the unit puts
    // its own socket there, so no program finds the path empty while the app still holds its
    // lock (which would refuse it: the app runs, its agent does not answer).
    let _ = std::process::Command::new(systemctl)
        .args(["--user", "try-restart", "keyport-agent.socket"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    // Only the app's own file: systemd's, or another agent's, may be at the path now.
    if std::fs::metadata(path).is_ok_and(|m| m.ino() == *inode) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod give_back_tests {
    use super::*;

    #[test]
    fn the_apps_socket_goes_and_systemd_is_asked_to_listen_again() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        // A stand-in for systemctl that notes what it was asked (unit test: no user manager here).
        let asked = dir.path().join("asked");
        let systemctl = dir.path().join("systemctl");
        std::fs::write(
            &systemctl,
            format!("#!/bin/sh\necho \"$@\" >> {}\n", asked.display()),
        )
        .unwrap();
        std::fs::set_permissions(&systemctl, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.path().join("agent.sock");
        let _listener = UnixListener::bind(&path).unwrap();
        served_by_the_app(&path, std::fs::metadata(&path).unwrap().ino());
        give_back_with(&systemctl);
        assert!(!path.exists(), "the app's socket file stayed");
        assert_eq!(
            std::fs::read_to_string(&asked).unwrap(),
            "--user try-restart keyport-agent.socket\n"
        );
        // Another agent's file at the path is left alone.
        let _other = UnixListener::bind(&path).unwrap();
        give_back_with(&systemctl);
        assert!(path.exists(), "another agent's socket was removed");
    }
}

//! Which agent a `keyport` asks: this home's own, or a desktop's, forwarded over SSH.
//!
//! `keyport ssh` (or a plain `ssh -R`) makes a socket on the remote machine that leads back to
//! the desktop's agent. OpenSSH creates it but never removes it, and cannot make a directory for
//! it, so every connection gets a fresh name directly in `/tmp`
//! (`/tmp/keyport-forward-<random>.sock`): an old session's socket is never in the way of a new
//! one. The remote `keyport` tries the ones that are its user's, newest first, and removes those
//! nobody answers on any more. `KEYPORT_AGENT` names one instead.
//!
//! Whoever owns a socket there could learn which account is asked for and answer with a token
//! of their choosing, so a forwarded socket is used only when it is this user's, reachable by
//! nobody else, in a directory where no one else can replace it; and the process answering must
//! run as this user (sshd's, for a forward).

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Where SSH forwards land on the remote machine: a directory that always exists.
pub const FORWARD_DIR: &str = "/tmp";
/// The start of a forwarded socket's file name.
pub const FORWARD_PREFIX: &str = "keyport-forward-";
/// Names the agent socket to ask, overriding the search.
pub const AGENT_VAR: &str = "KEYPORT_AGENT";
/// Names this machine's agent at a path other than the home's: its socket mounted into a
/// container or a sandbox. Asked as the home's own agent is (no claim: the agent knows the
/// program inside by the kernel's word).
pub const LOCAL_AGENT_VAR: &str = "KEYPORT_LOCAL_AGENT";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentAddress {
    /// This home's own agent, in a directory only this user can enter.
    Local(PathBuf),
    /// The socket `KEYPORT_AGENT` names.
    Named(PathBuf),
    /// Sockets forwarded to this machine over SSH, newest first.
    Forwarded(Vec<PathBuf>),
}

impl AgentAddress {
    /// The agent to ask: this machine's at the path `KEYPORT_LOCAL_AGENT` names; the one
    /// `KEYPORT_AGENT` names (across SSH); else this home's when it runs, when the
    /// home keeps accounts of its own (a desktop never sends its requests across SSH), or when
    /// it was named with `KEYPORT_HOME` (a home set up on purpose); else a forwarded one, if SSH
    /// left any here.
    /// `home_has_accounts` is asked last, and only when the answer turns on it: `keyport token`
    /// comes this way on every call.
    pub fn find(local: PathBuf, home_named: bool, home_has_accounts: impl FnOnce() -> bool) -> AgentAddress {
        if let Some(mounted) = std::env::var_os(LOCAL_AGENT_VAR).filter(|v| !v.is_empty()) {
            return AgentAddress::Local(PathBuf::from(mounted));
        }
        if let Some(named) = std::env::var_os(AGENT_VAR).filter(|v| !v.is_empty()) {
            return AgentAddress::Named(PathBuf::from(named));
        }
        if home_named || std::fs::symlink_metadata(&local).is_ok() || home_has_accounts() {
            return AgentAddress::Local(local);
        }
        match forwarded_sockets(Path::new(FORWARD_DIR)) {
            found if !found.is_empty() => AgentAddress::Forwarded(found),
            _ => AgentAddress::Local(local),
        }
    }

    /// Whether the agent is on another machine: then there is no keychain here to fall back on,
    /// and requests say who asks.
    pub fn is_remote(&self) -> bool {
        !matches!(self, AgentAddress::Local(_))
    }

    /// The path to name in messages.
    pub fn shown(&self) -> PathBuf {
        match self {
            AgentAddress::Local(p) | AgentAddress::Named(p) => p.clone(),
            AgentAddress::Forwarded(all) => all
                .first()
                .cloned()
                .unwrap_or_else(|| Path::new(FORWARD_DIR).join(format!("{FORWARD_PREFIX}*.sock"))),
        }
    }
}

/// A fresh path for one SSH connection's forward (what `keyport ssh` gives `ssh -R`).
#[cfg(unix)]
pub fn fresh_forward_path() -> Result<PathBuf> {
    Ok(Path::new(FORWARD_DIR).join(format!("{FORWARD_PREFIX}{}.sock", random_tag()?)))
}

/// 24 random hex digits, for names nobody can guess or reuse.
#[cfg(unix)]
pub(crate) fn random_tag() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 12];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| Error::io("read", Path::new("/dev/urandom"), e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// This user's sockets in `dir` that look like forwards, newest first. Others' are ignored: sshd
/// makes a forward as the user who logged in.
fn forwarded_sockets(dir: &Path) -> Vec<PathBuf> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let me = crate::files::private::euid();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut found: Vec<((i64, i64), PathBuf)> = entries
            .flatten()
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with(FORWARD_PREFIX) && name.ends_with(".sock")
            })
            .filter_map(|e| {
                let meta = std::fs::symlink_metadata(e.path()).ok()?;
                (meta.file_type().is_socket() && meta.uid() == me)
                    .then(|| ((meta.mtime(), meta.mtime_nsec()), e.path()))
            })
            .collect();
        found.sort_by_key(|(mtime, _)| std::cmp::Reverse(*mtime));
        found.into_iter().map(|(_, p)| p).collect()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Vec::new()
    }
}

/// Refuses a socket on another machine's side that someone else could have made or replaced: it
/// must be a socket of this user's, open to nobody else, in a directory that is this user's or
/// root's and that others cannot rename things in (private, or sticky like `/tmp`).
#[cfg(unix)]
pub fn check_forwarded(socket: &Path) -> Result<()> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let me = crate::files::private::euid();
    let unsafe_path = |path: &Path, reason: String| Error::UnsafePath {
        path: path.to_path_buf(),
        reason,
    };
    let dir = socket
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let d = std::fs::metadata(dir).map_err(|e| Error::io("inspect", dir, e))?;
    if d.uid() != me && d.uid() != 0 {
        return Err(unsafe_path(
            dir,
            format!("it belongs to user {}, not to you ({me}) or root", d.uid()),
        ));
    }
    const STICKY: u32 = 0o1000;
    if d.mode() & 0o022 != 0 && d.mode() & STICKY == 0 {
        return Err(unsafe_path(
            dir,
            "other users may replace what is in it".to_string(),
        ));
    }
    let s = match std::fs::symlink_metadata(socket) {
        Ok(s) => s,
        Err(e) => {
            return Err(Error::ForwardUnanswered {
                socket: socket.to_path_buf(),
                reason: format!("{e}"),
            })
        }
    };
    if !s.file_type().is_socket() {
        return Err(unsafe_path(socket, "it is not a socket".to_string()));
    }
    if s.uid() != me {
        return Err(unsafe_path(
            socket,
            format!("it belongs to user {}, not to you ({me})", s.uid()),
        ));
    }
    if s.mode() & 0o077 != 0 {
        return Err(unsafe_path(
            socket,
            format!("other users may connect to it (mode {:03o})", s.mode() & 0o777),
        ));
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn forwards_are_this_users_sockets_with_the_prefix_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(format!("{FORWARD_PREFIX}old.sock"));
        let _a = std::os::unix::net::UnixListener::bind(&old).unwrap();
        let new = dir.path().join(format!("{FORWARD_PREFIX}new.sock"));
        let _b = std::os::unix::net::UnixListener::bind(&new).unwrap();
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        // Sockets cannot be opened to set their time; the old one is aged through its path.
        filetime_set(&old, past).unwrap();
        std::fs::write(dir.path().join(format!("{FORWARD_PREFIX}plain.sock")), "").unwrap();
        let _other = std::os::unix::net::UnixListener::bind(dir.path().join("other.sock")).unwrap();
        assert_eq!(forwarded_sockets(dir.path()), vec![new, old]);
    }

    /// Sets a path's modification time without following it (utimensat).
    fn filetime_set(path: &Path, at: std::time::SystemTime) -> std::io::Result<()> {
        use std::os::unix::ffi::OsStrExt;
        let secs = at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as libc::time_t;
        let times = [
            libc::timespec {
                tv_sec: secs,
                tv_nsec: 0,
            },
            libc::timespec {
                tv_sec: secs,
                tv_nsec: 0,
            },
        ];
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid C string and two timespecs.
        let rc = unsafe {
            libc::utimensat(
                libc::AT_FDCWD,
                c.as_ptr(),
                times.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    #[test]
    fn a_forward_must_be_a_private_socket_in_a_directory_nobody_else_can_rearrange() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("s.sock");
        let _l = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).unwrap();
        check_forwarded(&socket).unwrap();
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(check_forwarded(&socket), Err(Error::UnsafePath { .. })));
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(check_forwarded(&socket), Err(Error::UnsafePath { .. })));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        check_forwarded(&socket).unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").unwrap();
        assert!(matches!(check_forwarded(&plain), Err(Error::UnsafePath { .. })));
        assert!(matches!(
            check_forwarded(&dir.path().join("gone.sock")),
            Err(Error::ForwardUnanswered { .. })
        ));
        assert!(fresh_forward_path().unwrap() != fresh_forward_path().unwrap());
    }
}

//! Files and directories only this user may touch, whatever the umask: every directory Keyport
//! creates is 0700 and every file 0600, existing ones are tightened, and a directory that another
//! user owns or may write to is refused rather than used. The account file holds no secret, but
//! it says where refresh tokens are sent, so another user who could replace it could have them
//! sent to a server of theirs.
//!
//! Files are opened without following a symbolic link at the last component, so a link planted at
//! `audit.jsonl` or a lock file cannot make Keyport append to or create someone else's file.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::path::Path;

/// Creates `dir` (and missing parents) owner-only, or checks the one that is there.
pub fn create_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io("create", dir, e))?;
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    check_dir(dir)
}

/// Checks a directory Keyport keeps things in: it must be this user's and writable by nobody
/// else. One readable by others is tightened to 0700.
pub fn check_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::metadata(dir).map_err(|e| Error::io("inspect", dir, e))?;
        if !meta.is_dir() {
            return Err(unsafe_path(dir, "it is not a directory"));
        }
        let me = euid();
        if meta.uid() != me {
            return Err(unsafe_path(
                dir,
                &format!("it belongs to user {}, not to you ({me})", meta.uid()),
            ));
        }
        let mode = meta.mode() & 0o777;
        if mode & 0o022 != 0 {
            return Err(unsafe_path(
                dir,
                &format!(
                    "other users may write to it (mode {mode:03o}); make it yours alone with `chmod 700`"
                ),
            ));
        }
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io("restrict", dir, e))?;
        }
    }
    Ok(())
}

/// Opens (creating it 0600 if missing) a file for writing, appending when `append`. A symbolic
/// link at `path` is refused; an existing file readable by others is tightened to 0600.
pub fn open_file(path: &Path, append: bool) -> Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).write(true);
    if append {
        options.append(true);
    } else {
        options.truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    }
    let file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return unsafe_path(path, "it is a symbolic link");
        }
        Error::io("open", path, e)
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = file.metadata().map_err(|e| Error::io("inspect", path, e))?;
        if meta.uid() != euid() {
            return Err(unsafe_path(path, &format!("it belongs to user {}", meta.uid())));
        }
        if meta.mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::io("restrict", path, e))?;
        }
    }
    Ok(file)
}

fn unsafe_path(path: &Path, why: &str) -> Error {
    Error::UnsafePath {
        path: path.to_path_buf(),
        reason: why.to_string(),
    }
}

/// This process's effective user id.
#[cfg(unix)]
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o777
    }

    #[test]
    fn directories_and_files_are_owner_only_whatever_was_there() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!((mode(&dir), mode(&tmp.path().join("a"))), (0o700, 0o700));
        // Readable by others (an older Keyport under umask 022): tightened.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        check_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        // Writable by others (umask 000, or someone else's doing): refused, and left as it is.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = check_dir(&dir).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Unsafe, "{e}");
        assert!(e.to_string().contains("other users may write"), "{e}");
        assert_eq!(mode(&dir), 0o777);

        let file = tmp.path().join("audit.jsonl");
        std::fs::write(&file, "").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        open_file(&file, true).unwrap();
        assert_eq!(mode(&file), 0o600);
        let fresh = tmp.path().join("fresh.lock");
        open_file(&fresh, false).unwrap();
        assert_eq!(mode(&fresh), 0o600);
    }

    #[test]
    fn a_symbolic_link_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("someone-elses-file");
        std::fs::write(&target, "theirs").unwrap();
        let link = tmp.path().join("audit.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = open_file(&link, true).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Unsafe, "{e}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "theirs");
    }

    #[test]
    fn another_users_directory_is_refused() {
        if euid() != 0 {
            eprintln!("skipped: giving a directory to another user needs root");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("home");
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        let e = create_dir(&dir).unwrap_err();
        assert!(e.to_string().contains("belongs to user 65534"), "{e}");
    }
}

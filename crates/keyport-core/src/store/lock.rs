//! Advisory file locks that serialize work across processes: the CLI, many at once, and the app.
//!
//! The OS drops a lock when its process dies, so a crashed `keyport` never wedges the others.

use crate::error::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Held until dropped.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    path: PathBuf,
}

impl FileLock {
    /// Blocks until this process holds the exclusive lock on `path` (created if missing).
    pub fn exclusive(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            crate::files::private::create_dir(dir)?;
        }
        let file = crate::files::private::open_file(path, false)?;
        file.lock().map_err(|e| Error::io("lock", path, e))?;
        tracing::trace!(path = %path.display(), "lock taken");
        Ok(Self {
            _file: file,
            path: path.to_path_buf(),
        })
    }
}

impl FileLock {
    /// The exclusive lock on `path` if nobody holds it now; `None` when somebody does.
    pub fn try_exclusive(path: &Path) -> Result<Option<Self>> {
        if let Some(dir) = path.parent() {
            crate::files::private::create_dir(dir)?;
        }
        let file = crate::files::private::open_file(path, false)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self {
                _file: file,
                path: path.to_path_buf(),
            })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", path, e)),
        }
    }

    /// Whether some process holds the lock on `path` now (a missing file: nobody).
    pub fn is_held(path: &Path) -> Result<bool> {
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io("open", path, e)),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(false),
            Err(std::fs::TryLockError::WouldBlock) => Ok(true),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", path, e)),
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        tracing::trace!(path = %self.path.display(), "lock released");
    }
}

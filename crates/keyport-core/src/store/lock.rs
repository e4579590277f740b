//! Advisory file locks that serialize work across processes: the CLI, many at once, and the app.
//!
//! The OS drops a lock when its process dies, so a crashed `keyport` never wedges the others.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
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
            std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io("open the lock file", path, e))?;
        file.lock().map_err(|e| Error::io("lock", path, e))?;
        tracing::trace!(path = %path.display(), "lock taken");
        Ok(Self {
            _file: file,
            path: path.to_path_buf(),
        })
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        tracing::trace!(path = %self.path.display(), "lock released");
    }
}

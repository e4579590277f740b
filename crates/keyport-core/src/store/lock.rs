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

impl Drop for FileLock {
    fn drop(&mut self) {
        tracing::trace!(path = %self.path.display(), "lock released");
    }
}

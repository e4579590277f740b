//! Replacing a file atomically: readers see the old content or the new, never a torn write, and a
//! crash mid-write leaves the old file in place. The new file is 0600 (tempfile creates it so)
//! in an owner-only directory.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames it over `path`.
pub fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().expect("Keyport's files live in a directory");
    crate::files::private::create_dir(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io("create a file in", dir, e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io("write", tmp.path().to_path_buf(), e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("replace", path, e.error))?;
    Ok(())
}

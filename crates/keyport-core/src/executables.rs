//! Where Keyport's own executables sit, written once: the CLI's handoff finds `keyport-full` by
//! it, and the agent's audit recognises Keyport's CLI among its callers by it.
//!
//! `keyport` is on PATH (`/usr/bin`, or a build's target directory); `keyport-full` is a helper
//! people should not tab-complete, so a package installs it where helpers live,
//! `<prefix>/lib/keyport/`; a build or `cargo install` leaves it beside `keyport`. Both are found
//! from the running executable's own path, never through PATH or the working directory.
//!
//! A `keyport` kept one level under a shared directory (an unpacked release in `/tmp/keyport/`)
//! would look for its helper in `/tmp/lib/keyport/`, where anyone may have put one. So a helper
//! runs only when it and every directory on the way to it belong to root or this user and no one
//! else may write to them (as OpenSSH's StrictModes), a sticky directory (`/tmp`) excepted, since
//! there no one can replace what another put. A helper that fails this is passed over for the
//! next place, and named when none is left.

use std::path::{Path, PathBuf};

/// The executable programs run for a token; it answers from the agent or runs [`FULL_CLI`].
pub const CLI: &str = "keyport";
/// The executable with the whole command line.
pub const FULL_CLI: &str = "keyport-full";

/// Keyport's executable `name` as installed beside `exe`.
fn beside(exe: &Path, name: &str) -> PathBuf {
    exe.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Where `keyport-full` may be for a Keyport executable at `exe`, in the order looked at: the
/// helpers' directory of a package, then beside it.
pub fn full_cli_places(exe: &Path) -> [PathBuf; 2] {
    let helpers = exe
        .parent()
        .and_then(Path::parent)
        .map(|prefix| prefix.join("lib").join("keyport"))
        .unwrap_or_default();
    [beside(&helpers.join(CLI), FULL_CLI), beside(exe, FULL_CLI)]
}

/// What the search for `keyport-full` found.
#[derive(Debug, PartialEq, Eq)]
pub enum FullCli {
    Found(PathBuf),
    Missing,
    /// Only files that are not safe to run, the first with why.
    Refused {
        path: PathBuf,
        reason: String,
    },
}

/// `keyport-full` for a Keyport executable at `exe`: the first of [`full_cli_places`] that is a
/// file safe to run.
pub fn full_cli(exe: &Path) -> FullCli {
    let mut refused = None;
    for place in full_cli_places(exe) {
        if !place.is_file() {
            continue;
        }
        match safe_to_run(&place) {
            Ok(()) => return FullCli::Found(place),
            Err(reason) => {
                tracing::warn!(helper = %place.display(), %reason, "passed over an unsafe keyport-full");
                refused.get_or_insert(FullCli::Refused { path: place, reason });
            }
        }
    }
    refused.unwrap_or(FullCli::Missing)
}

/// Whether the file at `path`, and each directory on the way to it (by the path given and by
/// the one its links lead to), belong to root or this user, with no one else able to change them.
#[cfg(unix)]
fn safe_to_run(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let me = crate::files::private::euid();
    let real = path
        .canonicalize()
        .map_err(|e| format!("{} cannot be resolved: {e}", path.display()))?;
    let check = |p: &Path, is_dir: bool| -> Result<(), String> {
        let m = std::fs::metadata(p).map_err(|e| format!("{} cannot be read: {e}", p.display()))?;
        if m.uid() != 0 && m.uid() != me {
            return Err(format!(
                "{} belongs to user {}, not to you ({me}) or root",
                p.display(),
                m.uid()
            ));
        }
        const STICKY: u32 = 0o1000;
        if m.mode() & 0o022 != 0 && !(is_dir && m.mode() & STICKY != 0) {
            return Err(format!("others may change {}", p.display()));
        }
        Ok(())
    };
    for file in [path, real.as_path()] {
        check(file, false)?;
        for dir in file.ancestors().skip(1).filter(|d| !d.as_os_str().is_empty()) {
            check(dir, true)?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn safe_to_run(_path: &Path) -> Result<(), String> {
    Ok(())
}

/// Every file that may be Keyport's CLI for a Keyport executable at `exe` (itself included).
pub fn own_clis(exe: &Path) -> Vec<PathBuf> {
    let mut all = vec![exe.to_path_buf(), beside(exe, CLI)];
    all.extend(full_cli_places(exe));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyport_full_is_found_in_the_helpers_directory_first_then_beside() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        let helpers = dir.path().join("lib/keyport");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&helpers).unwrap();
        let me = bin.join("keyport");
        assert_eq!(full_cli(&me), FullCli::Missing);
        std::fs::write(bin.join("keyport-full"), "").unwrap();
        assert_eq!(full_cli(&me), FullCli::Found(bin.join("keyport-full")));
        std::fs::write(helpers.join("keyport-full"), "").unwrap();
        assert_eq!(full_cli(&me), FullCli::Found(helpers.join("keyport-full")));
        assert!(own_clis(&bin.join("keyport-app")).contains(&helpers.join("keyport-full")));
    }

    #[cfg(unix)]
    #[test]
    fn a_helper_others_may_change_is_passed_over_then_named() {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (bin, helpers) = (dir.path().join("bin"), dir.path().join("lib/keyport"));
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&helpers).unwrap();
        let me = bin.join("keyport");
        std::fs::write(helpers.join("keyport-full"), "").unwrap();
        // A directory on the way that others may write to (and that is not sticky).
        mode(&dir.path().join("lib"), 0o777);
        assert!(matches!(
            full_cli(&me),
            FullCli::Refused { ref reason, .. } if reason.contains("others may change") && reason.ends_with("/lib")
        ));
        std::fs::write(bin.join("keyport-full"), "").unwrap();
        assert_eq!(full_cli(&me), FullCli::Found(bin.join("keyport-full")));
        // Sticky, as /tmp: no one can replace what another put there.
        mode(&dir.path().join("lib"), 0o1777);
        assert_eq!(full_cli(&me), FullCli::Found(helpers.join("keyport-full")));
        // The helper itself writable by others.
        mode(&helpers.join("keyport-full"), 0o666);
        assert_eq!(full_cli(&me), FullCli::Found(bin.join("keyport-full")));
    }
}

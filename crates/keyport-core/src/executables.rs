//! Where Keyport's own executables sit, written once: the CLI's handoff finds `keyport-full` by
//! it, and the agent's audit recognises Keyport's CLI among its callers by it.
//!
//! `keyport` is on PATH (`/usr/bin`, or a build's target directory); `keyport-full` is a helper
//! people should not tab-complete, so a package installs it where helpers live,
//! `<prefix>/lib/keyport/`; a build or `cargo install` leaves it beside `keyport`. Both are found
//! from the running executable's own path, never through PATH or the working directory.

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

/// `keyport-full` for a Keyport executable at `exe`: the first of [`full_cli_places`] that is a
/// file.
pub fn full_cli(exe: &Path) -> Option<PathBuf> {
    full_cli_places(exe).into_iter().find(|p| p.is_file())
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
        assert_eq!(full_cli(&me), None);
        std::fs::write(bin.join("keyport-full"), "").unwrap();
        assert_eq!(full_cli(&me), Some(bin.join("keyport-full")));
        std::fs::write(helpers.join("keyport-full"), "").unwrap();
        assert_eq!(full_cli(&me), Some(helpers.join("keyport-full")));
        assert!(own_clis(&bin.join("keyport-app")).contains(&helpers.join("keyport-full")));
    }
}

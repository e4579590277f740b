//! Handing a command line to `keyport-full` (found as `keyport_core::full_cli` says: where a
//! package keeps helpers, else beside `keyport`), and checking that the two come from the same
//! build: `keyport` says its version, and `keyport-full` refuses another.

use crate::exit::Exit;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

/// Runs `keyport-full` with these arguments in this process's place (on Unix, `exec`: same pid,
/// same streams, its exit status is ours).
pub fn run_full(argv: &[OsString]) -> u8 {
    let full = match full_path() {
        Ok(path) => path,
        Err(why) => {
            crate::note!("keyport: {why}");
            return Exit::Failure as u8;
        }
    };
    let mut command = Command::new(&full);
    command.args(argv.iter().skip(1));
    command.env(FRONT_VERSION, env!("CARGO_PKG_VERSION"));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Usage lines and completion scripts name the command as it was typed.
        if let Some(arg0) = argv.first() {
            command.arg0(arg0);
        }
        let e = command.exec();
        crate::note!("keyport: could not run {}: {e}", full.display());
        Exit::Failure as u8
    }
    #[cfg(not(unix))]
    match command.status() {
        Ok(status) => status.code().map_or(1, |c| c as u8),
        Err(e) => {
            crate::note!("keyport: could not run {}: {e}", full.display());
            Exit::Failure as u8
        }
    }
}

/// Set by `keyport` for the `keyport-full` it runs: its own version.
const FRONT_VERSION: &str = "KEYPORT_FRONT_VERSION";

fn full_path() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find its own executable: {e}"))?;
    match keyport_core::full_cli(&me) {
        keyport_core::FullCli::Found(path) => Ok(path),
        keyport_core::FullCli::Refused { path, reason } => Err(format!(
            "will not run {}: {reason}. Someone else could have put it there; keep Keyport where only you \
             or root can change it (or reinstall it)",
            keyport_core::escape_controls(&path.to_string_lossy())
        )),
        keyport_core::FullCli::Missing => {
            let [helpers, beside] = keyport_core::full_cli_places(&me);
            Err(format!(
                "keyport-full is missing (looked in {} and {}): keyport needs it for everything but a \
                 token from the running agent. Reinstall Keyport.",
                helpers.display(),
                beside.display()
            ))
        }
    }
}

/// In `keyport-full`: refuses to go on for a `keyport` of another version (a half-finished
/// upgrade, or two installs mixed), whose arguments it might take differently. Run directly, it
/// has nothing to compare. The variable is removed, so that programs it starts do not see it.
pub fn check_front_version() -> Result<(), String> {
    let front = std::env::var(FRONT_VERSION).ok();
    std::env::remove_var(FRONT_VERSION);
    match front {
        Some(v) if v != env!("CARGO_PKG_VERSION") => Err(format!(
            "keyport {v} and keyport-full {} are from different installs; reinstall Keyport so \
             that both are the same version",
            env!("CARGO_PKG_VERSION")
        )),
        _ => Ok(()),
    }
}

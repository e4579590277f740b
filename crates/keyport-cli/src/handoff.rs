//! Handing a command line to `keyport-full`, the executable installed beside `keyport`.

use crate::exit::Exit;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// Runs `keyport-full` with these arguments in this process's place (on Unix, `exec`: same pid,
/// same streams, its exit status is ours).
pub fn run_full(argv: &[OsString]) -> ExitCode {
    let full = match full_path() {
        Ok(path) => path,
        Err(why) => {
            crate::note!("keyport: {why}");
            return Exit::Failure.into();
        }
    };
    let mut command = Command::new(&full);
    command.args(argv.iter().skip(1));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Usage lines and completion scripts name the command as it was typed.
        if let Some(arg0) = argv.first() {
            command.arg0(arg0);
        }
        let e = command.exec();
        crate::note!("keyport: could not run {}: {e}", full.display());
        Exit::Failure.into()
    }
    #[cfg(not(unix))]
    match command.status() {
        Ok(status) => ExitCode::from(status.code().map_or(1, |c| c as u8)),
        Err(e) => {
            crate::note!("keyport: could not run {}: {e}", full.display());
            Exit::Failure.into()
        }
    }
}

fn full_path() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find its own executable: {e}"))?;
    let full = keyport_core::executable_beside(&me, keyport_core::FULL_CLI);
    if full.is_file() {
        Ok(full)
    } else {
        Err(format!(
            "{} is missing: keyport needs it beside itself for everything but a token from the \
             running agent. Reinstall Keyport.",
            full.display()
        ))
    }
}

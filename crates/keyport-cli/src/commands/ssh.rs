//! `keyport ssh` and `keyport forwarding`: this desktop's agent, forwarded to a machine reached
//! over SSH, and which accounts may be used from there.
//!
//! Each connection forwards to a fresh socket name on the remote (`/tmp/keyport-forward-*.sock`):
//! OpenSSH never removes a forwarded socket when the connection ends, and a fixed name would
//! then block the next connection's forward.

use keyport_core::{Error, Keyport, Result};
use std::ffi::OsString;

/// Runs ssh (in this process's place) with the agent forwarded.
pub fn connect(keyport: &Keyport, ssh_args: Vec<OsString>) -> Result<()> {
    if ssh_args.is_empty() {
        return Err(Error::Usage(
            "name the machine to connect to: keyport ssh [ssh options] HOST [command]".into(),
        ));
    }
    let local = keyport.home().agent_socket();
    if std::os::unix::net::UnixStream::connect(&local).is_err() {
        return Err(Error::Unsupported(
            "no Keyport agent runs on this machine to forward: start the Keyport app, or run \
             `keyport agent` in another terminal"
                .into(),
        ));
    }
    let remote = keyport_core::fresh_forward_path()?;
    let forward = forward_spec(&remote, &local)?;
    let allowed: Vec<String> = keyport
        .accounts()?
        .iter()
        .filter(|a| a.over_ssh)
        .map(|a| a.label())
        .collect();
    if allowed.is_empty() {
        crate::note!(
            "keyport: no account may be used over SSH yet; allow one with `keyport forwarding ACCOUNT on`"
        );
    } else {
        crate::note!(
            "keyport: forwarding the agent; usable there: {}",
            allowed.join(", ")
        );
    }
    let mut ssh = std::process::Command::new("ssh");
    ssh.arg("-R").arg(forward).args(&ssh_args);
    use std::os::unix::process::CommandExt;
    let e = ssh.exec();
    Err(Error::Unsupported(format!("could not run ssh: {e}")))
}

/// `REMOTE:LOCAL`, as `ssh -R` and `RemoteForward` take it (no colon may be in either path).
fn forward_spec(remote: &std::path::Path, local: &std::path::Path) -> Result<String> {
    let (remote, local) = (remote.to_string_lossy(), local.to_string_lossy());
    if local.contains([':', ' ', '\n']) {
        return Err(Error::Unsupported(format!(
            "the agent's socket path ({local}) has a character ssh cannot forward; set \
             XDG_RUNTIME_DIR to a plain path"
        )));
    }
    Ok(format!("{remote}:{local}"))
}

/// A `~/.ssh/config` entry for `host` that forwards the agent on every connection.
pub fn config(keyport: &Keyport, host: &str) -> Result<()> {
    if host.is_empty()
        || host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '#')
    {
        return Err(Error::Usage(format!(
            "\"{}\" is not a host pattern for ~/.ssh/config",
            keyport_core::escape_controls(host)
        )));
    }
    let local = keyport.home().agent_socket();
    // %C (a hash of this host, that host, its port and user) keeps forwards to several machines
    // apart; ssh has no token that changes with each connection.
    let forward =
        forward_spec(std::path::Path::new("/tmp/keyport-forward-%C.sock"), &local)?.replacen(':', " ", 1);
    crate::out!(
        "# Keyport: programs on {host} get this desktop's tokens (accounts allowed with\n\
         # `keyport forwarding ACCOUNT on`). ssh cannot pick a fresh socket name for each\n\
         # connection, so the socket an ended connection leaves behind blocks the next forward\n\
         # unless the server's sshd_config says `StreamLocalBindUnlink yes`; `keyport ssh {host}`\n\
         # needs neither this entry nor that setting.\n\
         Host {host}\n    RemoteForward {forward}"
    );
    Ok(())
}

/// `keyport forwarding ACCOUNT on|off`.
pub fn set(keyport: &Keyport, account: &str, on: bool) -> Result<()> {
    let a = keyport.set_over_ssh(account, on)?;
    if on {
        crate::out!(
            "{} may now be used over SSH (`keyport ssh`); while the app runs, it asks you before each new \
             program there gets its token.",
            a.label()
        );
    } else {
        crate::out!("{} is no longer offered over SSH.", a.label());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_are_written_as_ssh_takes_them() {
        let spec = forward_spec(
            std::path::Path::new("/tmp/keyport-forward-ab.sock"),
            std::path::Path::new("/run/user/1000/keyport/agent.sock"),
        )
        .unwrap();
        assert_eq!(
            spec,
            "/tmp/keyport-forward-ab.sock:/run/user/1000/keyport/agent.sock"
        );
        assert!(forward_spec(
            std::path::Path::new("/tmp/x"),
            std::path::Path::new("/odd:dir/a.sock")
        )
        .is_err());
    }
}

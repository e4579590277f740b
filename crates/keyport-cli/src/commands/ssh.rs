//! `keyport ssh` and `keyport forwarding`: this desktop's agent, forwarded to a machine reached
//! over SSH, and which accounts may be used from there.
//!
//! Each connection forwards to a fresh socket name on the remote (`/tmp/keyport-forward-*.sock`):
//! OpenSSH never removes a forwarded socket when the connection ends, and a fixed name would
//! then block the next connection's forward.
//!
//! What is forwarded is not the agent's own socket but a forwarding socket the agent makes for
//! this connection, its destination fixed when it is made: whatever arrives there is judged as
//! that machine's request, whichever `ssh` carries it (the system's, or one from conda, Nix or
//! `~/bin`). So `ssh` runs as a child that this process outlives, holding the connection that
//! keeps the socket open.

use keyport_core::{Error, Keyport, Result};
use std::ffi::OsString;

/// Runs ssh with the agent forwarded through a socket of this connection's own, and exits with
/// ssh's status.
pub fn connect(keyport: &Keyport, ssh_args: Vec<OsString>) -> Result<()> {
    if ssh_args.is_empty() {
        return Err(Error::Usage(
            "name the machine to connect to: keyport ssh [ssh options] HOST [command]".into(),
        ));
    }
    let args: Vec<String> = ssh_args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let Some(destination) = destination_in(&args).filter(|d| !d.trim().is_empty()) else {
        return Err(Error::Usage(
            "name the machine to connect to: keyport ssh [ssh options] HOST [command]".into(),
        ));
    };
    let forwarding = keyport_core::open_forward(&keyport.home().agent_socket(), destination, false)?;
    let remote = keyport_core::fresh_forward_path()?;
    let forward = forward_spec(&remote, &forwarding.socket)?;
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
    let mut child = std::process::Command::new("ssh")
        .arg("-R")
        .arg(forward)
        .args(&ssh_args)
        .spawn()
        .map_err(|e| Error::Unsupported(format!("could not run ssh: {e}")))?;
    // Ctrl-C and Ctrl-\ at the terminal are ssh's (it is in the same process group): this
    // process only waits, as a shell does for the command it runs.
    // SAFETY: setting a signal's disposition to ignored has no preconditions.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
    }
    let status = child
        .wait()
        .map_err(|e| Error::Unsupported(format!("could not wait for ssh: {e}")))?;
    drop(forwarding);
    use std::os::unix::process::ExitStatusExt;
    std::process::exit(
        status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
    );
}

/// The destination on ssh's command line: its first argument that is neither an option nor an
/// option's value.
fn destination_in(args: &[String]) -> Option<&str> {
    // The options of OpenSSH's ssh(1) that take a value.
    const WITH_VALUE: &str = "BbcDEeFIiJLlmOoPpQRSWw";
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            return args.next().map(String::as_str);
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return Some(arg);
        };
        for (i, flag) in flags.char_indices() {
            if WITH_VALUE.contains(flag) {
                if i + flag.len_utf8() == flags.len() {
                    args.next();
                }
                break;
            }
        }
    }
    None
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
    // ssh cannot ask the agent for a socket per connection, so this host gets a standing one,
    // opened now if the agent runs and whenever it starts.
    keyport_core::add_ssh_forward(keyport.home(), host)?;
    let local = keyport.home().standing_forward_socket(host);
    if std::os::unix::net::UnixStream::connect(keyport.home().agent_socket()).is_ok() {
        keyport_core::open_forward(&keyport.home().agent_socket(), host, true)?;
    }
    // %C (a hash of this host, that host, its port and user) keeps forwards to several machines
    // apart; ssh has no token that changes with each connection.
    let forward =
        forward_spec(std::path::Path::new("/tmp/keyport-forward-%C.sock"), &local)?.replacen(':', " ", 1);
    crate::out!(
        "# Keyport: programs on {host} get this desktop's tokens (accounts allowed with\n\
         # `keyport forwarding ACCOUNT on`), through a socket the agent keeps for {host}\n\
         # alone while it runs. ssh cannot pick a fresh socket name for each\n\
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

    #[test]
    fn the_destination_is_sshs_first_word_that_is_no_option_or_value() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let d = |a: &[&str]| destination_in(&args(a)).map(str::to_string);
        assert_eq!(d(&["devbox"]), Some("devbox".into()));
        assert_eq!(
            d(&["-p", "2222", "-t", "ada@devbox", "git", "pull"]),
            Some("ada@devbox".into())
        );
        assert_eq!(
            d(&["-oBatchMode=yes", "-4Cp2222", "devbox"]),
            Some("devbox".into())
        );
        assert_eq!(
            d(&["-i", "key", "-l", "ada", "--", "-weird"]),
            Some("-weird".into())
        );
        assert_eq!(d(&["-N"]), None);
    }
}

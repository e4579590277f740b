//! `keyport exec`: a command with fresh tokens in its environment. The tokens never reach a
//! command line (another user could read it), and Keyport replaces itself with the command, so
//! the command's exit code and signals are its caller's to see, untouched.

use crate::token_answer::reference;
use keyport_core::{EnvRequest, Error, Keyport, Result};
use std::ffi::OsString;

pub async fn run(
    keyport: &Keyport,
    accounts: Vec<String>,
    env: Vec<String>,
    header_env: Option<String>,
    min_ttl: u64,
    command: Vec<OsString>,
) -> Result<()> {
    let accounts = if accounts.is_empty() {
        vec![reference(keyport.home(), None)?]
    } else {
        accounts
    };
    let requests = plan(&accounts, &env, header_env.as_deref())?;
    let vars = keyport.exec_env(&requests, min_ttl).await?;
    let mut cmd = std::process::Command::new(&command[0]);
    cmd.args(&command[1..]);
    for (name, value) in &vars {
        cmd.env(name, value.expose());
    }
    replace_with(cmd, &command[0])
}

/// Which variable each account's token goes into: `--env NAME` (for the one account),
/// `--env NAME=ACCOUNT`, else the provider's name for it; `--header-env` adds a header line.
fn plan(accounts: &[String], env: &[String], header_env: Option<&str>) -> Result<Vec<EnvRequest>> {
    let mut requests = Vec::new();
    let mut named: Vec<&str> = Vec::new();
    for spec in env {
        let (name, account) = match spec.split_once('=') {
            Some((name, account)) => (name, account.to_string()),
            None if accounts.len() == 1 => (spec.as_str(), accounts[0].clone()),
            None => {
                return Err(Error::Usage(format!(
                    "--env {spec}: with several accounts, say whose token it gets: --env {spec}=ACCOUNT"
                )))
            }
        };
        named.push(if spec.contains('=') {
            spec.split_once('=').unwrap().1
        } else {
            &accounts[0]
        });
        requests.push(EnvRequest {
            account,
            name: Some(name.to_string()),
            header: false,
        });
    }
    for account in accounts {
        if !named.contains(&account.as_str()) {
            requests.push(EnvRequest {
                account: account.clone(),
                name: None,
                header: false,
            });
        }
    }
    if let Some(name) = header_env {
        if accounts.len() != 1 {
            return Err(Error::Usage(
                "--header-env takes the token of exactly one account".into(),
            ));
        }
        requests.push(EnvRequest {
            account: accounts[0].clone(),
            name: Some(name.to_string()),
            header: true,
        });
    }
    Ok(requests)
}

#[cfg(unix)]
fn replace_with(mut cmd: std::process::Command, program: &OsString) -> Result<()> {
    use std::os::unix::process::CommandExt;
    // Only returns when the command could not be started.
    let e = cmd.exec();
    Err(Error::Usage(format!(
        "could not run {}: {e}",
        keyport_core::escape_controls(&program.to_string_lossy())
    )))
}

#[cfg(not(unix))]
fn replace_with(mut cmd: std::process::Command, program: &OsString) -> Result<()> {
    let status = cmd.status().map_err(|e| {
        Error::Usage(format!(
            "could not run {}: {e}",
            keyport_core::escape_controls(&program.to_string_lossy())
        ))
    })?;
    std::process::exit(status.code().unwrap_or(1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_named_per_account() {
        let one = vec!["github".to_string()];
        let r = plan(&one, &["GH_TOKEN".into()], Some("AUTH")).unwrap();
        let names: Vec<_> = r
            .iter()
            .map(|r| (r.account.as_str(), r.name.as_deref(), r.header))
            .collect();
        assert_eq!(
            names,
            [
                ("github", Some("GH_TOKEN"), false),
                ("github", Some("AUTH"), true)
            ]
        );
        let two = vec!["github".to_string(), "gitlab".to_string()];
        let r = plan(&two, &["GL=gitlab".into()], None).unwrap();
        let names: Vec<_> = r
            .iter()
            .map(|r| (r.account.as_str(), r.name.as_deref()))
            .collect();
        assert_eq!(names, [("gitlab", Some("GL")), ("github", None)]);
        assert!(plan(&two, &["X".into()], None).is_err());
        assert!(plan(&two, &[], Some("AUTH")).is_err());
    }
}

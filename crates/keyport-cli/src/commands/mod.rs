//! One function per subcommand: call the core, print the result. Grouped by what they act on:
//! `providers`, `connect`, `accounts` (list, refresh, revoke, disconnect, rename), `token` (the
//! hot path, through the agent or the keychain), `exec` and `git` (tokens for other programs).

mod accounts;
mod connect;
mod exec;
mod git;
mod mcp;
mod providers;
#[cfg(unix)]
mod ssh;
#[cfg(debug_assertions)]
mod stand_in_person;
pub mod token;

use crate::args::{Args, Command, Format, OnOff, ProvidersAction};
use crate::output::print_json;
use keyport_core::{
    now, relative, Catalog, ConnectOptions, Home, Keyport, NewProvider, Result, RevocationOutcome,
};
use std::time::Duration;

pub async fn run(args: Args) -> Result<()> {
    let mut keyport = Keyport::open(Home::from_env()?)?;
    // Every command that hands out a token (token, exec, git-credential) goes through the running
    // agent, so that its consent holds on every path.
    keyport.set_token_route(token::route_from_env());
    desktop_only(&keyport, &args.command)?;
    match args.command {
        Command::Providers {
            action: None,
            matrix: true,
            ..
        } => {
            crate::out!(
                "{}",
                keyport_core::support_matrix(&Catalog::builtin()?).trim_end()
            );
            Ok(())
        }
        Command::Providers {
            action: None, json, ..
        } => providers::list(&keyport, json),
        Command::Providers {
            action: Some(ProvidersAction::SetSecret { provider }),
            ..
        } => providers::set_secret(&keyport, &provider),
        Command::Providers {
            action:
                Some(ProvidersAction::Add {
                    issuer,
                    id,
                    name,
                    client_id,
                    json,
                }),
            ..
        } => {
            let choice = NewProvider {
                id,
                display_name: name,
                client_id,
            };
            providers::add(&mut keyport, &issuer, choice, json).await
        }
        Command::Connect {
            mut provider,
            scopes,
            nickname,
            vars,
            no_browser,
            paste,
            device,
            timeout,
            json,
            client,
        } => {
            if keyport.uses_another_machines_accounts()? {
                let opts = ConnectOptions {
                    scopes: (!scopes.is_empty()).then_some(scopes),
                    nickname,
                    timeout: Duration::from_secs(timeout),
                    variables: vars.into_iter().collect(),
                };
                return connect::on_the_desktop(&keyport, &provider, &opts, device, json);
            }
            // A URL is a remote MCP server: found, and added as a provider, before the sign-in.
            // Its account is named after what the server says it is (the core asks it).
            let own = own_client(&client)?;
            if provider.starts_with("https://") || provider.starts_with("http://") {
                let server = keyport.mcp_provider(&provider, own.as_ref()).await?;
                provider = server.id.into();
            } else if own.is_some() {
                return Err(keyport_core::Error::Usage(
                    "--client-id and --client-metadata-url are for a remote MCP server's URL; give a catalog \
                     provider its client id in providers.toml"
                        .into(),
                ));
            }
            let opts = ConnectOptions {
                scopes: (!scopes.is_empty()).then_some(scopes),
                nickname,
                timeout: Duration::from_secs(timeout),
                variables: vars.into_iter().collect(),
            };
            if device {
                connect::device(&keyport, &provider, opts, no_browser, json).await
            } else {
                connect::browser(&keyport, &provider, opts, no_browser, paste, json).await
            }
        }
        Command::List { json } => accounts::list(&keyport, json),
        Command::Token {
            account,
            min_ttl,
            json,
            format,
            token_use,
            user,
            resource,
        } => {
            let format = if json { Format::Json } else { format }.resolve(token_use)?;
            let account = match resource {
                Some(url) => Some(keyport.account_for_resource(&url)?),
                None => account,
            };
            token::keychain_path(&keyport, account.as_deref(), min_ttl, format, user.as_deref()).await
        }
        Command::Default { account } => {
            let a = keyport.set_default(&account)?;
            crate::out!(
                "{} is now the default {} account: `keyport token {}` means it.",
                a.label(),
                a.provider,
                a.provider
            );
            Ok(())
        }
        Command::Exec {
            accounts,
            env,
            header_env,
            min_ttl,
            command,
        } => exec::run(&keyport, accounts, env, header_env, min_ttl, command).await,
        Command::GitCredential { account, operation } => {
            git::run(&keyport, account.as_deref(), operation).await
        }
        Command::Completions { shell } => crate::complete::print_script(shell),
        Command::Man { dir } => crate::man::write(&dir),
        Command::Refresh { account, json } => {
            let a = keyport.refresh(&account).await?;
            let summary = keyport.summary(&a, now())?;
            if json {
                print_json(&summary);
            } else {
                crate::out!(
                    "Refreshed {} ({}); the token expires {}.",
                    a.id,
                    a.label(),
                    relative(summary.expires_in)
                );
            }
            Ok(())
        }
        Command::Revoke { account } => {
            let a = keyport.revoke(&account).await?;
            crate::out!(
                "Revoked {} ({}) at the provider. It stays listed as needing a reconnect.",
                a.id,
                a.label()
            );
            Ok(())
        }
        Command::Disconnect { account, local_only } => {
            let (a, outcome) = keyport.disconnect(&account, local_only).await?;
            let how = match outcome {
                RevocationOutcome::Revoked => "revoked its access at the provider and removed it",
                RevocationOutcome::Skipped => "removed it from Keyport (the provider was not contacted)",
                RevocationOutcome::NotSupported => {
                    "removed it from Keyport. The provider offers no revocation: its access stays valid there \
                     until it expires; revoke it in your account settings at the provider"
                }
            };
            crate::out!("Disconnected {} ({}): {how}.", a.id, a.label());
            Ok(())
        }
        Command::Mcp {
            url,
            account,
            timeout,
            client,
        } => mcp::bridge(keyport, &url, account, timeout, own_client(&client)?).await,
        Command::Agent { idle_exit } => {
            #[cfg(debug_assertions)]
            let agent = match stand_in_person::consent(&keyport) {
                Some(consent) => keyport_core::Agent::with_consent(std::sync::Arc::new(keyport), consent),
                None => keyport_core::Agent::new(std::sync::Arc::new(keyport)),
            };
            #[cfg(not(debug_assertions))]
            let agent = keyport_core::Agent::new(std::sync::Arc::new(keyport));
            // Started by systemd for a connection, nobody reads it; by hand, it says how to stop.
            if std::env::var_os("LISTEN_FDS").is_none() {
                crate::note!("keyport: serving tokens from memory; stop with Ctrl-C");
            }
            // On a worker thread, not the thread that waits here: a connection accepted there is
            // then served on the same thread, with no hand-over to another one first (as in the
            // app, whose agent is spawned on its runtime).
            tokio::spawn(agent.serve_until_idle(idle_exit))
                .await
                .expect("the agent does not panic")
        }
        #[cfg(unix)]
        Command::Ssh {
            config: Some(host), ..
        } => ssh::config(&keyport, &host),
        #[cfg(unix)]
        Command::Ssh { ssh_args, .. } => ssh::connect(&keyport, ssh_args),
        #[cfg(unix)]
        Command::Forwarding { account, state } => ssh::set(&keyport, &account, state == OnOff::On),
        #[cfg(not(unix))]
        Command::Ssh { .. } | Command::Forwarding { .. } => Err(keyport_core::Error::Unsupported(
            "forwarding the agent over SSH needs Unix sockets".into(),
        )),
        Command::Rename { account, nickname } => {
            let a = keyport.rename(&account, &nickname)?;
            crate::out!("{} is now {}.", a.id, a.label());
            Ok(())
        }
    }
}

/// On a machine that reaches a desktop's agent over SSH (and keeps no accounts), the accounts are
/// the desktop's: only what hands out or lists tokens works here; the rest is done there.
fn desktop_only(keyport: &Keyport, command: &Command) -> Result<()> {
    let here = matches!(
        command,
        Command::Token { .. }
            | Command::Connect { .. }
            | Command::Exec { .. }
            | Command::GitCredential { .. }
            | Command::List { .. }
            | Command::Providers { .. }
            | Command::Completions { .. }
            | Command::Man { .. }
            | Command::Agent { .. }
            | Command::Ssh { .. }
    );
    if here || !keyport.uses_another_machines_accounts()? {
        return Ok(());
    }
    Err(keyport_core::Error::Unsupported(
        "this machine uses the accounts of the desktop it was reached from over SSH; refresh, rename \
         or remove accounts there (`keyport list` shows those offered here, `keyport connect` signs \
         in there)"
            .into(),
    ))
}

/// The client `--client-id` names, with the secret read from the variable `--client-secret-env`
/// names.
fn own_client(choice: &crate::args::ClientChoice) -> Result<Option<keyport_core::OwnClient>> {
    if let Some(url) = &choice.client_metadata_url {
        return Ok(Some(keyport_core::OwnClient {
            client_id: url.clone(),
            metadata_document: true,
            ..keyport_core::OwnClient::default()
        }));
    }
    let Some(client_id) = &choice.client_id else {
        return Ok(None);
    };
    let client_secret = secret_from_env("--client-secret-env", choice.client_secret_env.as_deref())?;
    let private_key = secret_from_env("--private-key-env", choice.private_key_env.as_deref())?;
    if choice.client_credentials && client_secret.is_none() && private_key.is_none() {
        return Err(keyport_core::Error::Usage(
            "--client-credentials needs the client's secret (--client-secret-env VAR) or its private key \
             (--private-key-env VAR)"
                .into(),
        ));
    }
    Ok(Some(keyport_core::OwnClient {
        client_id: client_id.clone(),
        client_secret,
        metadata_document: false,
        client_credentials: choice.client_credentials,
        private_key,
        via: choice.via.clone(),
        id_token_from: match (&choice.idp_token_endpoint, &choice.idp_client_id) {
            (Some(token_url), Some(client_id)) => Some(keyport_core::GivenIdToken {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                id_token: secret_from_env("--idp-id-token-env", choice.idp_id_token_env.as_deref())?
                    .ok_or_else(|| keyport_core::Error::Usage("--idp-id-token-env is missing".into()))?,
            }),
            _ => None,
        },
    }))
}

/// The secret in the environment variable `var` names (never a secret on a command line).
fn secret_from_env(flag: &str, var: Option<&str>) -> Result<Option<keyport_core::Secret>> {
    let Some(var) = var else { return Ok(None) };
    let value = std::env::var(var)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| keyport_core::Error::Usage(format!("{flag} {var}: that variable is not set")))?;
    Ok(Some(keyport_core::Secret::new(value)))
}

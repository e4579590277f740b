//! One function per subcommand: call the core, print the result.

use crate::args::{Args, Command, ProvidersAction};
use crate::exit::Exit;
use crate::output::{accounts_table, print_json, table};
use keyport_core::{
    now, relative, Answer, Catalog, ConnectOptions, Error, ErrorKind, Home, Keyport, NewProvider,
    ProviderSummary, Result, RevocationOutcome, Secret, REGISTERED_REDIRECT_URI,
};
use std::io::Read;
use std::time::Duration;

pub async fn run(args: Args) -> Result<()> {
    let mut keyport = Keyport::open(Home::from_env()?)?;
    match args.command {
        Command::Providers {
            action: None,
            matrix: true,
            ..
        } => {
            print!("{}", keyport_core::support_matrix(&Catalog::builtin()?));
            Ok(())
        }
        Command::Providers {
            action: None, json, ..
        } => providers(&keyport, json),
        Command::Providers {
            action: Some(ProvidersAction::SetSecret { provider }),
            ..
        } => set_secret(&keyport, &provider),
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
            let p = keyport.add_provider_from_issuer(&issuer, choice).await?;
            if json {
                print_json(&ProviderSummary::from(&p));
                return Ok(());
            }
            let yes_no = |b: bool| if b { "yes" } else { "no" };
            println!(
                "Added {} ({}) to {}.\n  PKCE: {}\n  revocation: {}\n  sign-in with a code (--device): {}",
                p.id,
                p.display_name,
                keyport.home().providers_file().display(),
                yes_no(p.quirks.pkce),
                yes_no(p.urls.revocation_url.is_some()),
                yes_no(p.urls.device_authorization_url.is_some()),
            );
            if !p.is_set_up() {
                println!(
                    "Register Keyport there with the redirect URI {REGISTERED_REDIRECT_URI}, then set client_id \
                     under [providers.{}] in that file.",
                    p.id
                );
            } else {
                println!("Connect with: keyport connect {}", p.id);
            }
            Ok(())
        }
        Command::Connect {
            provider,
            scopes,
            nickname,
            vars,
            no_browser,
            paste,
            device,
            timeout,
            json,
        } => {
            let opts = ConnectOptions {
                scopes: (!scopes.is_empty()).then_some(scopes),
                nickname,
                timeout: Duration::from_secs(timeout),
                variables: vars.into_iter().collect(),
            };
            if device {
                connect_device(&keyport, &provider, opts, no_browser, json).await
            } else {
                connect(&keyport, &provider, opts, no_browser, paste, json).await
            }
        }
        Command::List { json } => list(&keyport, json),
        Command::Token {
            account,
            min_ttl,
            json,
        } => token(&keyport, &account, min_ttl, json).await,
        Command::Refresh { account, json } => {
            let a = keyport.refresh(&account).await?;
            let summary = keyport.summary(&a, now());
            if json {
                print_json(&summary);
            } else {
                println!(
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
            println!(
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
            println!("Disconnected {} ({}): {how}.", a.id, a.label());
            Ok(())
        }
        Command::Agent => {
            let agent = keyport_core::Agent::new(std::sync::Arc::new(keyport));
            crate::note!("keyport: serving tokens from memory; stop with Ctrl-C");
            agent.serve().await
        }
        Command::Rename { account, nickname } => {
            let a = keyport.rename(&account, &nickname)?;
            println!("{} is now {}.", a.id, a.label());
            Ok(())
        }
    }
}

fn providers(keyport: &Keyport, json: bool) -> Result<()> {
    let list: Vec<ProviderSummary> = keyport.catalog().iter().map(ProviderSummary::from).collect();
    if json {
        print_json(&list);
        return Ok(());
    }
    let rows: Vec<[String; 4]> = keyport
        .catalog()
        .iter()
        .map(|p| {
            let state = if p.is_set_up() {
                "ready".to_string()
            } else {
                format!(
                    "needs a client id ({})",
                    p.registration_url.as_deref().unwrap_or("see the provider's docs")
                )
            };
            let vars = keyport_core::variables_text(&p.variables, false);
            [p.id.clone(), p.display_name.clone(), vars, state]
        })
        .collect();
    println!("{}", table(["ID", "NAME", "--var", "SET UP"], &rows));
    println!(
        "\nClient ids go in {}.",
        keyport.home().providers_file().display()
    );
    Ok(())
}

fn set_secret(keyport: &Keyport, provider: &str) -> Result<()> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| {
        Error::Usage(format!(
            "could not read the client secret from standard input: {e}"
        ))
    })?;
    let secret = input.trim();
    if secret.is_empty() {
        return Err(Error::Usage("no client secret on standard input".into()));
    }
    keyport.set_client_secret(provider, &Secret::new(secret))?;
    println!("Stored the client secret of {provider} in the OS keychain.");
    Ok(())
}

async fn connect(
    keyport: &Keyport,
    provider: &str,
    opts: ConnectOptions,
    no_browser: bool,
    paste: bool,
    json: bool,
) -> Result<()> {
    let name = keyport.catalog().get(provider)?.display_name.clone();
    let pasted = paste.then(read_pasted_lines);
    let account = keyport
        .connect_via(provider, opts, None, pasted, |address| {
            // The browser gets the one-time local address (other users can read a browser's
            // command line); the full address is only ever printed here, for this person.
            let url = &address.full;
            if no_browser || paste {
                crate::note!("Open this URL in a browser to sign in to {name}:\n\n  {url}\n");
            } else if let Err(e) = keyport_core::open_browser(&address.local) {
                crate::note!(
                    "Could not open a browser ({e}). Open this URL to sign in to {name}:\n\n  {url}\n"
                );
            } else {
                crate::note!("Sign in to {name} in your browser. If no browser opened, visit:\n\n  {url}\n");
            }
            if paste {
                crate::note!(
                    "If that browser cannot reach this computer, it ends on a page that does not load: \
                     copy that page's address (http://127.0.0.1:…/callback?…), paste it here and press Enter."
                );
            }
            crate::note!("Waiting for the sign-in to finish…");
        })
        .await?;
    print_connected(keyport, &name, &account, json);
    Ok(())
}

async fn connect_device(
    keyport: &Keyport,
    provider: &str,
    opts: ConnectOptions,
    no_browser: bool,
    json: bool,
) -> Result<()> {
    let name = keyport.catalog().get(provider)?.display_name.clone();
    let account = keyport
        .connect_device(provider, opts, |prompt| {
            crate::note!(
                "To sign in to {name}, open {} on any device and enter the code\n\n  {}\n",
                prompt.verification_uri,
                keyport_core::escape_controls(&prompt.user_code)
            );
            if !no_browser {
                let url = prompt
                    .verification_uri_complete
                    .as_ref()
                    .unwrap_or(&prompt.verification_uri);
                if let Err(e) = keyport_core::open_browser(url) {
                    crate::note!("(Could not open a browser here: {e}.)");
                }
            }
            crate::note!(
                "Waiting for the approval (the code is valid for {})…",
                relative(Some(prompt.expires_in.as_secs() as i64)).trim_start_matches("in ")
            );
        })
        .await?;
    print_connected(keyport, &name, &account, json);
    Ok(())
}

fn print_connected(keyport: &Keyport, name: &str, account: &keyport_core::Account, json: bool) {
    if json {
        print_json(&keyport.summary(account, now()));
    } else {
        let nickname = keyport_core::escape_controls(&account.nickname);
        println!("Connected {} as {} (id {}).", name, nickname, account.id);
    }
}

fn list(keyport: &Keyport, json: bool) -> Result<()> {
    keyport.with_summaries(now(), |summaries| {
        if json {
            print_json(&summaries);
        } else {
            println!("{}", accounts_table(&summaries));
        }
    })
}

async fn token(keyport: &Keyport, reference: &str, min_ttl: u64, json: bool) -> Result<()> {
    let (account, token) = keyport.token(reference, min_ttl).await?;
    print_token(&token, &account.id, account.expires_at, &account.metadata, json);
    Ok(())
}

/// `token`'s output, the same whether the agent or the keychain supplied it.
fn print_token(
    token: &Secret,
    account: &str,
    expires_at: Option<u64>,
    metadata: &std::collections::BTreeMap<String, String>,
    json: bool,
) {
    if json {
        print_json(&serde_json::json!({
            "access_token": token.expose(),
            "token_type": "Bearer",
            "expires_at": expires_at,
            "account": account,
            "metadata": metadata,
        }));
    } else {
        println!("{}", token.expose());
    }
}

/// Answers `keyport token` through a running agent. `None`: not a token request, or no agent
/// answered, or it refused in a way the keychain path explains better (with the typed error and
/// its hint, at no risk: those refusals have no side effects); go the keychain way.
pub fn token_from_agent(args: &Args) -> Option<Exit> {
    let Command::Token {
        account,
        min_ttl,
        json,
    } = &args.command
    else {
        return None;
    };
    let home = Home::from_env().ok()?;
    let answer = match keyport_core::ask_agent(&home.agent_socket(), account, *min_ttl) {
        Ok(answer) => answer?,
        Err(e) => {
            crate::output::report(&e);
            return Some(Exit::from(&e));
        }
    };
    match answer {
        Answer::Token {
            token,
            account,
            expires_at,
            metadata,
        } => {
            print_token(&token, &account, expires_at, &metadata, *json);
            Some(Exit::Ok)
        }
        Answer::Error {
            kind: ErrorKind::NotFound | ErrorKind::Ambiguous | ErrorKind::NeedsReconnect | ErrorKind::Usage,
            ..
        } => None,
        Answer::Error { kind, message } => {
            crate::note!("keyport: {message}");
            Some(Exit::from_kind(kind))
        }
    }
}

/// Lines typed or pasted on stdin, for `connect --paste`. A plain thread: reading a terminal blocks,
/// and the sign-in keeps listening for the browser meanwhile.
fn read_pasted_lines() -> tokio::sync::mpsc::Receiver<String> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if !line.trim().is_empty() && tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

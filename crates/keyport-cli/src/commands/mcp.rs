//! `keyport mcp <url>`: Keyport as a local stdio MCP server for an MCP client, forwarding to a
//! remote one with fresh tokens (`keyport_core`'s `bridge_mcp`). stdout carries only the protocol:
//! every word for the person goes to stderr.

use keyport_core::{ConnectOptions, Error, Keyport, OwnClient, RedirectMode, Result};
use std::time::Duration;

pub async fn bridge(
    mut keyport: Keyport,
    url: &str,
    account: Option<String>,
    timeout: u64,
    own: Option<OwnClient>,
) -> Result<()> {
    let reference = match account {
        Some(account) => account,
        None => match ready_account(&keyport, url)? {
            Some(id) => id,
            None => first_sign_in(&mut keyport, url, timeout, own.as_ref()).await?,
        },
    };
    let input = tokio::io::BufReader::new(tokio::io::stdin());
    // A sign-in the bridge needs later (a step-up) is shown as the first one is.
    let present = std::sync::Arc::new(|address: &keyport_core::SignInAddress| {
        crate::note!(
            "keyport: the MCP server asks for more access; sign in again in your browser. If no browser opened, visit:\n\n  {}\n",
            address.full
        );
        if let Err(e) = keyport_core::open_browser(&address.local) {
            crate::note!("keyport: could not open a browser ({e})");
        }
    });
    std::sync::Arc::new(keyport)
        .bridge_mcp(url, &reference, input, tokio::io::stdout(), present)
        .await
}

/// The account for the server at `url`, when there is one that can hand out a token: one in the
/// middle of another client's first sign-in (still `Connecting`) is not, and waits for it below.
fn ready_account(keyport: &Keyport, url: &str) -> Result<Option<String>> {
    match keyport.account_for_resource(url) {
        Ok(id) => {
            let usable =
                keyport.find(&id)?.status(keyport_core::now()) != keyport_core::Status::NeedsReconnect;
            Ok(usable.then_some(id))
        }
        Err(Error::NoSuchAccount(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// No account for that server yet, or none ready: sign in to it now, in the browser, saying so on stderr. Several
/// clients starting at once make one sign-in: the first holds the lock while it adds the server
/// and signs in, the others wait for it and then use its account.
async fn first_sign_in(
    keyport: &mut Keyport,
    url: &str,
    timeout: u64,
    own: Option<&OwnClient>,
) -> Result<String> {
    let lock = keyport.home().locks_dir().join("mcp-first-sign-in.lock");
    let _one_at_a_time = keyport_core::FileLock::exclusive(&lock)?;
    if let Some(id) = ready_account(keyport, url)? {
        return Ok(id);
    }
    let server = keyport.mcp_provider(url, own).await?;
    let name = server.display_name.clone();
    let opts = ConnectOptions {
        nickname: Some(name.clone()),
        timeout: Duration::from_secs(timeout),
        ..ConnectOptions::default()
    };
    let account = keyport
        .connect_via(&server.id, opts, RedirectMode::Loopback, |address| {
            crate::note!(
                "keyport: signing in to the MCP server {name}; if no browser opened, visit:\n\n  {}\n",
                address.full
            );
            if let Err(e) = keyport_core::open_browser(&address.local) {
                crate::note!("keyport: could not open a browser ({e})");
            }
        })
        .await?;
    crate::note!("keyport: connected {} (id {})", account.label(), account.id);
    Ok(account.id.into())
}

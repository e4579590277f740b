//! `keyport mcp <url>`: Keyport as a local stdio MCP server for an MCP client, forwarding to a
//! remote one with fresh tokens (`keyport_core`'s `bridge_mcp`). stdout carries only the protocol:
//! every word for the person goes to stderr.

use keyport_core::{FirstSignIn, Keyport, OwnClient, Result, SignInAddress, SignInReason};
use std::time::Duration;

pub async fn bridge(
    keyport: Keyport,
    url: &str,
    account: Option<String>,
    timeout: u64,
    own: Option<OwnClient>,
) -> Result<()> {
    // The account connected to that server, if any; otherwise the bridge signs in when the
    // server first asks (never, for a server that needs no sign-in).
    let account = match account {
        Some(account) => Some(account),
        None => keyport.ready_mcp_account(url)?.map(String::from),
    };
    let first = FirstSignIn {
        timeout: Duration::from_secs(timeout),
        own,
    };
    let input = tokio::io::BufReader::new(tokio::io::stdin());
    std::sync::Arc::new(keyport)
        .bridge_mcp(
            url,
            account.as_deref(),
            first,
            input,
            tokio::io::stdout(),
            std::sync::Arc::new(present),
        )
        .await
}

/// Shows a sign-in the bridge needs: the browser, and a sentence on stderr with the address.
fn present(address: &SignInAddress, reason: SignInReason, server: &str) {
    let server = keyport_core::escape_controls(server);
    let why = match reason {
        SignInReason::First => format!("the MCP server {server} asks you to sign in"),
        SignInReason::MoreAccess => format!("the MCP server {server} asks for more access; sign in again"),
        SignInReason::GrantEnded => {
            format!("your sign-in to the MCP server {server} has ended; sign in again")
        }
    };
    crate::note!(
        "keyport: {why} in your browser. If no browser opened, visit:\n\n  {}\n",
        address.full
    );
    if let Err(e) = keyport_core::open_browser(&address.local) {
        crate::note!("keyport: could not open a browser ({e})");
    }
}

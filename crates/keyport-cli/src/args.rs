//! The command line, as clap parses it. `keyport --help` is generated from these doc comments.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "keyport",
    version,
    about = "Connect your online accounts once; hand fresh access tokens to every local program.",
    after_help = "ACCOUNT is an account id (github-1), provider:nickname (github:octocat), or just a provider or \
                  nickname when only one account matches.\n\n\
                  Exit codes: 0 ok, 1 other failure, 2 usage, 3 no such or ambiguous account, 4 needs reconnect, \
                  5 keychain unavailable or locked, 6 provider unreachable or provider error.\n\n\
                  Environment: KEYPORT_HOME moves all files (and namespaces keychain items) under a directory; \
                  KEYPORT_LOG (or RUST_LOG) sets the log filter, e.g. KEYPORT_LOG=debug; BROWSER picks the browser."
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the providers Keyport knows, and whether each is set up (has a client id).
    Providers {
        #[command(subcommand)]
        action: Option<ProvidersAction>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Print the support matrix (Markdown) of the built-in presets, as in the README.
        #[arg(long, conflicts_with = "json")]
        matrix: bool,
    },
    /// Sign in to a provider in the browser and add (or update) the account.
    Connect {
        /// The provider id, as `keyport providers` lists it.
        provider: String,
        /// Request this scope instead of the provider's defaults (repeatable).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Call the account this instead of the name the provider reports.
        #[arg(long)]
        nickname: Option<String>,
        /// A value for one of the provider's variables, e.g. `--var tenant=contoso.com`
        /// (repeatable; `keyport providers` lists them).
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// Print the sign-in URL instead of opening a browser.
        #[arg(long)]
        no_browser: bool,
        /// Print the sign-in URL and also accept the address the browser ends on, pasted on stdin
        /// (for a browser on another machine: over SSH, in a container).
        #[arg(long)]
        paste: bool,
        /// Sign in with a code instead (RFC 8628 device flow): Keyport shows a code and an address
        /// to enter it at, in any browser on any device, and waits for the approval.
        #[arg(long, conflicts_with = "paste")]
        device: bool,
        /// Give up after this many seconds without a callback.
        #[arg(long, value_name = "SECS", default_value_t = keyport_core::DEFAULT_CONNECT_TIMEOUT_SECS)]
        timeout: u64,
        /// Print the new account as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List connected accounts: id, provider, nickname, status, expiry, scopes.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Print a valid access token (and nothing else) on stdout, refreshing it first if needed.
    Token {
        account: String,
        /// Refresh first if the token expires within this many seconds (capped at half the
        /// token's lifetime).
        #[arg(long, value_name = "SECS", default_value_t = keyport_core::DEFAULT_MIN_TTL_SECS)]
        min_ttl: u64,
        /// Print {"access_token", "token_type", "expires_at", "account", "metadata"} as JSON
        /// (`metadata`: fields the provider sent with the tokens, e.g. Salesforce's `instance_url`).
        #[arg(long)]
        json: bool,
    },
    /// Refresh the access token now.
    Refresh {
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke the account's tokens at the provider; the account stays, marked "needs reconnect".
    Revoke { account: String },
    /// Revoke at the provider when possible, then remove the account from Keyport.
    Disconnect {
        account: String,
        /// Do not contact the provider; only forget the account here.
        #[arg(long)]
        local_only: bool,
    },
    /// Give an account another nickname.
    Rename { account: String, nickname: String },
    /// Serve tokens from memory to `keyport token` until stopped, and refresh them ahead of
    /// expiry (the desktop app does this while it runs; this is for machines without it).
    Agent,
}

#[derive(Debug, Subcommand)]
pub enum ProvidersAction {
    /// Store a provider's client secret in the OS keychain, read from standard input.
    SetSecret { provider: String },
    /// Add an OpenID Connect provider from its discovery document (endpoints, PKCE, revocation,
    /// device sign-in) to your providers.toml.
    Add {
        /// The issuer URL, e.g. https://sso.example.com/realms/main.
        #[arg(long)]
        issuer: String,
        /// The provider id to use in `keyport connect` (default: from the issuer's host).
        #[arg(long)]
        id: Option<String>,
        /// The name people see (default: the issuer's host).
        #[arg(long)]
        name: Option<String>,
        /// The client id of the app you registered with the provider.
        #[arg(long)]
        client_id: Option<String>,
        /// Print the new provider as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, got \"{s}\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Args::command().debug_assert();
    }
}

//! The command line, as clap parses it. `keyport --help` is generated from these doc comments.

use clap::{Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCandidates;

#[derive(Debug, Parser)]
#[command(
    name = "keyport",
    version,
    about = "Connect your online accounts once; hand fresh access tokens to every local program.",
    after_help = "ACCOUNT is an account id (github-1), provider:nickname (github:octocat), or just a provider or \
                  nickname when only one account matches (or the provider's default account). `token`, `exec` and \
                  `git-credential` without an ACCOUNT use KEYPORT_ACCOUNT, else a rule of config.toml.\n\n\
                  Exit codes: 0 ok, 1 other failure, 2 usage, 3 no such or ambiguous account, 4 needs reconnect, \
                  5 keychain unavailable or locked, 6 provider unreachable or provider error, 7 not offered by \
                  the provider or account, 8 refused for safety (another user's directory or agent), 9 the program \
                  was denied the account in Keyport's window (or nobody answered), or, over SSH, no account allowed there matches.\n\n\
                  Environment: KEYPORT_HOME moves all files (and namespaces keychain items) under a directory; \
                  KEYPORT_ACCOUNT names the account for one command; KEYPORT_AGENT names the agent socket to ask (a forward over SSH); KEYPORT_LOCAL_AGENT this machine's agent's socket mounted elsewhere (a container); KEYPORT_LOG (or RUST_LOG) sets the log \
                  filter, e.g. KEYPORT_LOG=debug; BROWSER picks the browser."
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
        /// The provider id, as `keyport providers` lists it; or a remote MCP server's URL
        /// (`https://mcp.example.com/mcp`), whose sign-in Keyport discovers and registers for.
        #[arg(add = ArgValueCandidates::new(crate::complete::providers))]
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
        #[command(flatten)]
        client: ClientChoice,
    },
    /// List connected accounts: id, provider, nickname, status, expiry, scopes.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Print a valid access token (and nothing else) on stdout, refreshing it first if needed.
    Token {
        /// The account (default: KEYPORT_ACCOUNT, else a rule for this directory).
        #[arg(add = ArgValueCandidates::new(crate::complete::accounts))]
        account: Option<String>,
        /// Refresh first if the token expires within this many seconds (capped at half the
        /// token's lifetime).
        #[arg(long, value_name = "SECS", default_value_t = keyport_core::DEFAULT_MIN_TTL_SECS)]
        min_ttl: u64,
        /// Print {"access_token", "token_type", "expires_at", "account", "metadata"} as JSON
        /// (`metadata`: fields the provider sent with the tokens, e.g. Salesforce's `instance_url`).
        /// The same as --format json.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// How to print it. `raw` ends without a line break unless stdout is a terminal; `kubectl`
        /// is the ExecCredential of kubectl's exec credential plugin (docs/integrations.md).
        #[arg(long, value_enum, default_value_t = Format::Raw)]
        format: Format,
        /// Which token: `access`, or `id`, the account's OpenID Connect ID token (refreshed by its
        /// own expiry). Default: `id` with --format kubectl, else `access`.
        #[arg(long = "use", value_enum, value_name = "TOKEN")]
        token_use: Option<Use>,
        /// The user name of the SASL formats (default: the account's nickname, usually the mail
        /// address).
        #[arg(long)]
        user: Option<String>,
        /// The account for this MCP server (its URL), instead of naming one.
        #[arg(long, value_name = "URL", conflicts_with = "account")]
        resource: Option<String>,
    },
    /// Make an account the one its provider's id means (`keyport token github`) when the
    /// provider has several.
    Default {
        #[arg(add = ArgValueCandidates::new(crate::complete::accounts))]
        account: String,
    },
    /// Run a command with fresh tokens in its environment, never on its command line. Keyport
    /// replaces itself with the command, so its exit code and signals are the command's own.
    Exec {
        /// The accounts whose tokens to pass (default: KEYPORT_ACCOUNT, else a rule for this
        /// directory). Each goes into its provider's variable (GITHUB_TOKEN, …), else KEYPORT_TOKEN.
        #[arg(add = ArgValueCandidates::new(crate::complete::accounts))]
        accounts: Vec<String>,
        /// The variable to put the token in: NAME (for the one account), or NAME=ACCOUNT
        /// (repeatable).
        #[arg(long = "env", value_name = "NAME[=ACCOUNT]")]
        env: Vec<String>,
        /// Also put the whole header line `Authorization: Bearer <token>` in NAME.
        #[arg(long, value_name = "NAME")]
        header_env: Option<String>,
        #[arg(long, value_name = "SECS", default_value_t = keyport_core::DEFAULT_MIN_TTL_SECS)]
        min_ttl: u64,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<std::ffi::OsString>,
    },
    /// A git credential helper.
    ///
    /// `get` answers with a fresh token for the account that fits the
    /// host (nothing for a host no account serves: git asks its next helper); `store` and
    /// `erase` change nothing (Keyport keeps its accounts; the next `get` hands out a token
    /// that is valid again). Set it up with (the `!` runs the command as written):
    ///
    /// git config --global credential.helper '!keyport git-credential'
    GitCredential {
        /// The account to use (default: a rule for the host or this directory, else the one or
        /// default account whose provider serves git at the host).
        #[arg(long, add = ArgValueCandidates::new(crate::complete::accounts))]
        account: Option<String>,
        #[arg(value_enum)]
        operation: GitOperation,
    },
    /// Print the shell completion script (accounts and providers complete from the account
    /// file and the catalog; the keychain is never read). Bash: `source <(keyport completions bash)`.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Write the manual pages (keyport.1 and one per command) into DIR.
    Man {
        #[arg(long, default_value = ".")]
        dir: std::path::PathBuf,
    },
    /// Refresh the access token now.
    Refresh {
        #[arg(add = ArgValueCandidates::new(crate::complete::accounts))]
        account: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke the account's tokens at the provider; the account stays, marked "needs reconnect".
    Revoke {
        #[arg(add = ArgValueCandidates::new(crate::complete::accounts))]
        account: String,
    },
    /// Revoke at the provider when possible, then remove the account from Keyport.
    Disconnect {
        #[arg(add = ArgValueCandidates::new(crate::complete::accounts))]
        account: String,
        /// Do not contact the provider; only forget the account here.
        #[arg(long)]
        local_only: bool,
    },
    /// Give an account another nickname.
    Rename {
        #[arg(add = ArgValueCandidates::new(crate::complete::accounts))]
        account: String,
        nickname: String,
    },
    /// Serve tokens from memory to `keyport token` until stopped, and refresh them ahead of
    /// expiry (the desktop app does this while it runs; this is for machines without it).
    Agent {
        /// Leave after this long without a request or a refresh under way (`90s`, `10m`, `1h`;
        /// `0`: never). Default: 10m when systemd started it for a connection (socket activation:
        /// the next request starts it again), else never.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        idle_exit: Option<std::time::Duration>,
    },
    /// Be a local (stdio) MCP server for an MCP client, forwarding to the remote MCP server at
    /// URL with a valid token on every request: `{"command": "keyport", "args": ["mcp", URL]}`.
    /// Signs in first when no account is connected for that server (the browser opens; messages
    /// go to stderr, stdout carries only the protocol).
    Mcp {
        /// The remote MCP server's URL.
        url: String,
        /// The account to use (default: the one connected for that server).
        #[arg(long)]
        account: Option<String>,
        /// Give up a first sign-in after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = keyport_core::DEFAULT_CONNECT_TIMEOUT_SECS)]
        timeout: u64,
        #[command(flatten)]
        client: ClientChoice,
    },
    /// Run `ssh` with this machine's agent forwarded, so that `keyport` on the remote machine
    /// (the two executables, nothing else) hands out this desktop's tokens: `keyport ssh devbox`,
    /// `keyport ssh -p 2222 ada@devbox git pull`. Arguments go to ssh unchanged. Only accounts
    /// allowed with `keyport forwarding ACCOUNT on` are offered there; while the app runs, it
    /// asks you before each new program over there gets one.
    #[command(after_help = "On the remote machine, `keyport` finds the forward by itself \
                  (/tmp/keyport-forward-*.sock of your user), or through KEYPORT_AGENT. Needs the \
                  app or `keyport agent` running here.")]
    Ssh {
        /// Print a ~/.ssh/config entry for HOST that forwards the agent, instead of connecting.
        #[arg(long, value_name = "HOST", conflicts_with = "ssh_args")]
        config: Option<String>,
        /// ssh's options, the destination and an optional command, as for ssh.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "SSH ARGS")]
        ssh_args: Vec<std::ffi::OsString>,
    },
    /// Allow (on) or stop (off) programs on machines reached over SSH (`keyport ssh`) to use an
    /// account. Off for every account until allowed.
    Forwarding {
        #[arg(add = ArgValueCandidates::new(crate::complete::accounts))]
        account: String,
        state: OnOff,
    },
}

/// Who Keyport is to a remote MCP server that does not let it register itself.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientChoice {
    /// For a remote MCP server: the client id you registered Keyport under there (its redirect
    /// URI: http://127.0.0.1/callback, any port), instead of registering itself there.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// The environment variable that holds that client's secret (never the secret itself on a
    /// command line); it is kept in the keychain.
    #[arg(long, value_name = "VAR", requires = "client_id")]
    pub client_secret_env: Option<String>,
    /// The client signs in as itself, with no person and no browser (the client credentials
    /// grant; for machines and CI): give its secret with --client-secret-env or its private key
    /// with --private-key-env. A new token is asked for whenever the last one runs out.
    #[arg(long, requires = "client_id")]
    pub client_credentials: bool,
    /// The environment variable that holds the client's private key (PKCS#8 PEM; P-256 signs
    /// ES256, RSA RS256), to sign in with `private_key_jwt`; it is kept in the keychain.
    #[arg(
        long,
        value_name = "VAR",
        requires = "client_credentials",
        conflicts_with = "client_secret_env"
    )]
    pub private_key_env: Option<String>,
    /// Sign in through your organization's identity provider, as this account of yours there (an
    /// OpenID account in Keyport): its ID token is exchanged for an identity assertion for the
    /// server, with no browser (MCP's Enterprise-Managed Authorization). Give the client id and
    /// secret your organization registered for Keyport at the server.
    #[arg(
        long,
        value_name = "ACCOUNT",
        requires = "client_secret_env",
        conflicts_with = "client_credentials"
    )]
    pub via: Option<String>,
    /// With an ID token obtained elsewhere (another tool's sign-in at your organization): its
    /// identity provider's token endpoint, where it is exchanged for identity assertions.
    #[arg(
        long,
        value_name = "URL",
        requires_all = ["idp_client_id", "idp_id_token_env", "client_secret_env"],
        conflicts_with_all = ["via", "client_credentials"]
    )]
    pub idp_token_endpoint: Option<String>,
    /// Keyport's client id at that identity provider.
    #[arg(long, value_name = "ID", requires = "idp_token_endpoint")]
    pub idp_client_id: Option<String>,
    /// The environment variable that holds that ID token; it is kept in the keychain and used
    /// until it expires.
    #[arg(long, value_name = "VAR", requires = "idp_token_endpoint")]
    pub idp_id_token_env: Option<String>,
    /// For a remote MCP server that takes Client ID Metadata Documents: the URL of the one that
    /// describes Keyport (its redirect URI: http://127.0.0.1/callback), used as the client id
    /// there instead of registering; other servers still get a registration.
    #[arg(long, value_name = "URL", conflicts_with = "client_id")]
    pub client_metadata_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
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

/// `90s`, `10m`, `1h`, or plain seconds.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => {
            return Err(format!(
                "expected a duration such as 90s, 10m or 1h, got \"{text}\""
            ))
        }
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("expected a duration such as 90s, 10m or 1h, got \"{text}\""))?;
    Ok(std::time::Duration::from_secs(n.saturating_mul(scale)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Raw,
    Header,
    Json,
    Xoauth2,
    Oauthbearer,
    Kubectl,
}

impl Format {
    /// The core's format and the token it shows: kubectl's names the version kubectl asked for
    /// in `KUBERNETES_EXEC_INFO`, and takes the ID token unless told otherwise.
    pub fn resolve(
        self,
        token_use: Option<Use>,
    ) -> keyport_core::Result<(keyport_core::TokenFormat, keyport_core::TokenUse)> {
        use keyport_core::TokenFormat as T;
        let format = match self {
            Format::Raw => T::Raw,
            Format::Header => T::Header,
            Format::Json => T::Json,
            Format::Xoauth2 => T::Xoauth2,
            Format::Oauthbearer => T::Oauthbearer,
            Format::Kubectl => {
                let sent = std::env::var("KUBERNETES_EXEC_INFO").ok();
                T::Kubectl(keyport_core::exec_info(sent.as_deref())?.api)
            }
        };
        let default = match self {
            Format::Kubectl => Use::Id,
            _ => Use::Access,
        };
        let token_use = match token_use.unwrap_or(default) {
            Use::Access => keyport_core::TokenUse::Access,
            Use::Id => keyport_core::TokenUse::Id,
        };
        Ok((format, token_use))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Use {
    /// The access token (what APIs take).
    Access,
    /// The OpenID Connect ID token (what a cluster that signs people in with OpenID takes).
    Id,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GitOperation {
    Get,
    Store,
    Erase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
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

//! Keyport's typed errors, and the coarse [`ErrorKind`] that the edges (CLI exit codes, UI messages)
//! branch on.
//!
//! Every message is a sentence a user can act on. None of them ever carries a secret: errors are
//! built from provider error codes, URLs without query strings, and our own words.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure this is, for the edges to pick an exit code or a UI treatment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request itself was wrong: a bad flag value, an unknown provider, a provider without a client id.
    Usage,
    /// No account matches the reference.
    NotFound,
    /// Several accounts match the reference.
    Ambiguous,
    /// The account's grant is gone (revoked, refused); only a new connect helps.
    NeedsReconnect,
    /// The OS keychain is missing, unreachable or locked.
    Keychain,
    /// The provider answered with an error, or could not be reached.
    Provider,
    /// The user cancelled, or the flow timed out waiting for them.
    Cancelled,
    /// A well-formed request this provider or account cannot do: revoke where the provider offers
    /// no revocation, refresh without a refresh token, a device sign-in without a device endpoint.
    Unsupported,
    /// Refused for safety: a directory, file or socket that another user owns or could change.
    Unsafe,
    /// The user denied a program the account in Keyport's window, or did not answer in time.
    Refused,
    /// Anything else: local files, bad callbacks, internal faults.
    Other,
}

/// Why the person's answer (or its absence) kept a token from a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Nobody answered within the time the program waits.
    NoAnswer,
    /// Denied, and kept: later requests are refused without a question.
    Denied,
    /// Denied this time only (Enter or Escape in the question, which a stray key press can do).
    DeniedOnce,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::NoAnswer => "nobody answered Keyport's question in time",
            Refusal::Denied => {
                "you denied it in Keyport's window, which keeps that answer (Forget it under the account \
                 there to be asked again)"
            }
            Refusal::DeniedOnce => "you denied it this time in Keyport's window",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),

    #[error("unknown provider \"{0}\"")]
    UnknownProvider(String),

    #[error("provider \"{0}\" is not set up: it has no client id")]
    ProviderNotSetUp(String),

    #[error("{provider} needs a value for {name} ({description})")]
    MissingVariable {
        provider: String,
        name: String,
        description: String,
    },

    #[error("there is already a provider \"{0}\"")]
    ProviderExists(String),

    #[error("the provider catalog {path} is invalid: {message}")]
    Catalog { path: String, message: String },

    #[error("{} is invalid: {message}", path.display())]
    Config { path: PathBuf, message: String },

    #[error("no account was named, and no rule names one for this directory")]
    NoAccountGiven,

    #[error("no account matches \"{0}\"")]
    NoSuchAccount(String),

    #[error("\"{reference}\" matches several accounts ({}); use one of these ids", candidates.join(", "))]
    AmbiguousAccount {
        reference: String,
        candidates: Vec<String>,
    },

    #[error("account {account} needs to be reconnected ({reason})")]
    NeedsReconnect {
        account: String,
        provider: String,
        reason: String,
    },

    #[error(transparent)]
    Keychain(#[from] KeychainError),

    #[error("{0}")]
    Provider(#[from] ProviderError),

    #[error("{0}")]
    Unsupported(String),

    /// A program asked for the account's OpenID Connect ID token, and there is none to give.
    #[error("{account} has no ID token: {reason}")]
    NoIdToken { account: String, reason: String },

    #[error(
        "{provider} offers no token revocation; revoke Keyport's access in your {provider} account settings"
    )]
    NoRevocation { account: String, provider: String },

    #[error("another Keyport agent already serves {}", .0.display())]
    AgentRunning(PathBuf),

    #[error(
        "Keyport's app is running for this home, but its agent does not answer at {} (is \
         XDG_RUNTIME_DIR the desktop session's?); while the app runs, tokens are handed out only \
         through it, so that it can ask you first",
        socket.display()
    )]
    AppUnreachable { socket: PathBuf },

    /// A machine reached over SSH found no live desktop agent at its forwarded socket.
    #[error("no Keyport agent answers at {}: {reason}", socket.display())]
    ForwardUnanswered { socket: PathBuf, reason: String },

    #[error(
        "no account allowed over SSH matches \"{reference}\" (asked from {destination}); on the desktop, \
         allow one with `keyport forwarding ACCOUNT on` or in Keyport's window"
    )]
    NotForwarded { reference: String, destination: String },

    /// What the running agent answered instead of a token: its words, and its kind.
    #[error("{message}")]
    AgentAnswered { kind: ErrorKind, message: String },

    #[error("the sign-in was not completed: {0}")]
    Authorization(String),

    #[error(
        "Keyport already opened {count} sign-ins for the MCP server {server} in the last \
         {period_minutes} minutes without your asking, and opens no more for it for {wait_minutes} \
         minutes (a server that asks for something new at every request is never satisfied); to \
         sign in anyway, run `keyport connect {server}`"
    )]
    TooManySignIns {
        server: String,
        count: usize,
        period_minutes: u64,
        wait_minutes: u64,
    },

    #[error("timed out after {0} s waiting for the sign-in to finish in the browser")]
    Timeout(u64),

    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{program} may not use {account}: {why}")]
    Refused {
        program: String,
        account: String,
        why: Refusal,
    },

    #[error("{program} ran another program while it asked for {account}; nothing was handed out")]
    CallerChanged { program: String, account: String },

    #[error("refusing to use {}: {reason}", path.display())]
    UnsafePath { path: PathBuf, reason: String },

    #[error("{} is damaged ({message}); it was left untouched", path.display())]
    CorruptData { path: PathBuf, message: String },

    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::AgentAnswered { kind, .. } => *kind,
            Error::AppUnreachable { .. } => ErrorKind::Unsafe,
            Error::Usage(_)
            | Error::UnknownProvider(_)
            | Error::ProviderNotSetUp(_)
            | Error::MissingVariable { .. }
            | Error::ProviderExists(_)
            | Error::Catalog { .. }
            | Error::Config { .. } => ErrorKind::Usage,
            Error::Unsupported(_) | Error::NoRevocation { .. } | Error::NoIdToken { .. } => {
                ErrorKind::Unsupported
            }
            Error::UnsafePath { .. } => ErrorKind::Unsafe,
            Error::Refused { .. }
            | Error::CallerChanged { .. }
            | Error::NotForwarded { .. }
            | Error::TooManySignIns { .. } => ErrorKind::Refused,
            Error::NoSuchAccount(_) | Error::NoAccountGiven => ErrorKind::NotFound,
            Error::AmbiguousAccount { .. } => ErrorKind::Ambiguous,
            Error::NeedsReconnect { .. } => ErrorKind::NeedsReconnect,
            Error::Keychain(_) => ErrorKind::Keychain,
            Error::Provider(_) => ErrorKind::Provider,
            Error::Timeout(_) => ErrorKind::Cancelled,
            Error::Authorization(_)
            | Error::AgentRunning(_)
            | Error::ForwardUnanswered { .. }
            | Error::Io { .. }
            | Error::CorruptData { .. }
            | Error::Internal(_) => ErrorKind::Other,
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// The error's sentence, then each cause that adds something, one per line.
pub fn describe(e: &Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut seen = text.clone();
    let mut source = e.source();
    while let Some(cause) = source {
        let s = cause.to_string();
        if !seen.contains(&s) {
            text.push_str(&format!("\n  caused by: {s}"));
            seen.push_str(&s);
        }
        source = cause.source();
    }
    text
}

/// The keychain could not be used. The message says how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{}{}", problem.sentence(), detail_suffix(detail))]
pub struct KeychainError {
    pub problem: KeychainProblem,
    /// The platform's own words, for the cause chain (never contains a secret).
    pub detail: String,
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" (keychain said: {detail})")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeychainProblem {
    /// No D-Bus session bus to reach the Secret Service through.
    NoSessionBus,
    /// The bus is there, but nothing provides `org.freedesktop.secrets`.
    NoService,
    /// The keychain is locked and could not be unlocked without a prompt.
    Locked,
    /// Any other platform failure.
    Failed,
}

impl KeychainProblem {
    fn sentence(self) -> &'static str {
        match self {
            KeychainProblem::NoSessionBus => {
                "the OS keychain is unreachable: there is no D-Bus session bus. Run Keyport inside your \
                 desktop session (or start one with `dbus-run-session`)"
            }
            KeychainProblem::NoService => {
                "no OS keychain is running: Keyport stores tokens only in a Secret Service keychain. \
                 Install and start one (for example `gnome-keyring-daemon --start --components=secrets`, \
                 or KeePassXC with Secret Service integration)"
            }
            KeychainProblem::Locked => {
                "the OS keychain is locked: unlock it (log in to your desktop session, or open your \
                 keyring manager) and try again"
            }
            KeychainProblem::Failed => "the OS keychain failed",
        }
    }
}

/// The provider refused a request or could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("{provider}: {operation} failed: {reason}")]
pub struct ProviderError {
    pub provider: String,
    pub operation: &'static str,
    pub reason: String,
    /// The OAuth error code (`invalid_grant`, …) when the provider sent one.
    pub code: Option<String>,
    /// Whether trying again later may work (a connection failure, HTTP 5xx or 429).
    pub transient: bool,
}

impl ProviderError {
    /// A failure without an OAuth error code that trying again will not mend. The reason may
    /// quote the provider, so its control characters are written out.
    pub fn new(provider: impl Into<String>, operation: &'static str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self {
            provider: provider.into(),
            operation,
            reason: crate::text::escape_controls(&reason).into_owned(),
            code: None,
            transient: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_cover_the_documented_edges() {
        assert_eq!(Error::NoSuchAccount("x".into()).kind(), ErrorKind::NotFound);
        assert_eq!(
            Error::AmbiguousAccount {
                reference: "a".into(),
                candidates: vec!["a-1".into(), "a-2".into()]
            }
            .kind(),
            ErrorKind::Ambiguous
        );
        let k = Error::Keychain(KeychainError {
            problem: KeychainProblem::Locked,
            detail: String::new(),
        });
        assert_eq!(k.kind(), ErrorKind::Keychain);
        assert!(k.to_string().contains("locked"));
    }

    #[test]
    fn ambiguous_lists_candidates() {
        let e = Error::AmbiguousAccount {
            reference: "github".into(),
            candidates: vec!["github-1".into(), "github-2".into()],
        };
        assert!(e.to_string().contains("github-1, github-2"));
    }
}

//! The exit codes other programs branch on. They are part of the stable interface (README.md).

use keyport_core::{Error, ErrorKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Ok = 0,
    /// Anything not listed below.
    Failure = 1,
    /// Bad usage: unknown command or flag, bad value, unknown or unconfigured provider. (clap uses 2 too.)
    Usage = 2,
    /// No account matches, or several do.
    NoAccount = 3,
    /// The account must be reconnected.
    NeedsReconnect = 4,
    /// The OS keychain is unavailable or locked.
    Keychain = 5,
    /// The provider is unreachable or answered with an error.
    Provider = 6,
    /// The provider or account cannot do that: revoke without a revocation endpoint, refresh
    /// without a refresh token, a device sign-in without a device endpoint, a `keyport://`
    /// provider outside the app. (Until 0.2 these were usage errors, 2.)
    Unsupported = 7,
    /// Refused for safety: a Keyport directory, file or agent socket that another user owns or
    /// could change.
    Unsafe = 8,
    /// The desktop app asked whether the calling program may use the account, and the user
    /// denied it or did not answer in time.
    Refused = 9,
}

impl From<&Error> for Exit {
    fn from(e: &Error) -> Self {
        Exit::from_kind(e.kind())
    }
}

impl Exit {
    pub fn from_kind(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Usage => Exit::Usage,
            ErrorKind::NotFound | ErrorKind::Ambiguous => Exit::NoAccount,
            ErrorKind::NeedsReconnect => Exit::NeedsReconnect,
            ErrorKind::Keychain => Exit::Keychain,
            ErrorKind::Provider => Exit::Provider,
            ErrorKind::Unsupported => Exit::Unsupported,
            ErrorKind::Unsafe => Exit::Unsafe,
            ErrorKind::Refused => Exit::Refused,
            ErrorKind::Cancelled | ErrorKind::Other => Exit::Failure,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyport_core::{KeychainError, KeychainProblem, ProviderError};

    #[test]
    fn documented_codes_are_stable() {
        let cases: Vec<(Error, u8)> = vec![
            (Error::Usage("x".into()), 2),
            (Error::UnknownProvider("x".into()), 2),
            (Error::NoSuchAccount("x".into()), 3),
            (
                Error::AmbiguousAccount {
                    reference: "x".into(),
                    candidates: vec![],
                },
                3,
            ),
            (
                Error::NeedsReconnect {
                    account: "a".into(),
                    provider: "p".into(),
                    reason: "r".into(),
                },
                4,
            ),
            (
                Error::Keychain(KeychainError {
                    problem: KeychainProblem::NoService,
                    detail: String::new(),
                }),
                5,
            ),
            (Error::Provider(ProviderError::new("p", "refresh", "r")), 6),
            (Error::Unsupported("x".into()), 7),
            (
                Error::NoRevocation {
                    account: "a".into(),
                    provider: "p".into(),
                },
                7,
            ),
            (Error::ProviderNotSetUp("p".into()), 2),
            (
                Error::UnsafePath {
                    path: "/tmp/x".into(),
                    reason: "r".into(),
                },
                8,
            ),
            (
                Error::Refused {
                    program: "python3".into(),
                    account: "a".into(),
                    why: keyport_core::Refusal::NoAnswer,
                },
                9,
            ),
            (Error::Timeout(1), 1),
            (Error::Internal("x".into()), 1),
        ];
        for (error, code) in cases {
            assert_eq!(Exit::from(&error) as u8, code, "{error}");
        }
    }
}

//! A token request as both executables answer it: which account it means (an argument,
//! `KEYPORT_ACCOUNT`, a rule), asking the running agent, and the output, the same whether the
//! agent or the keychain supplied the token. A leaf: `keyport`'s fast path (`fast.rs`) and
//! `keyport-full`'s commands (`commands/token.rs`, `commands/exec.rs`) both stand on it, and it
//! uses neither.

use crate::exit::Exit;
use keyport_core::{Answer, ErrorKind, Home, Issued, IssuedToken, Result, TokenFormat, TokenUse};
use std::io::{IsTerminal, Write};

/// The reference a `token`, `exec` or `git-credential` means: `given`, else `KEYPORT_ACCOUNT`,
/// adjusted by the rules for the current directory.
pub fn reference(home: &Home, given: Option<&str>) -> Result<String> {
    let from_env = std::env::var("KEYPORT_ACCOUNT").ok().filter(|v| !v.is_empty());
    let cwd = std::env::current_dir().ok();
    keyport_core::choose_reference(home, given.or(from_env.as_deref()), cwd.as_deref())
}

/// `token`'s output, the same whether the agent or the keychain supplied it. A bare token ends
/// with a line break only on a terminal, so `$(keyport token)` and files get the token alone.
pub fn print_issued(format: TokenFormat, issued: &Issued, user: Option<&str>) {
    let shown = IssuedToken {
        token: &issued.token,
        token_use: issued.token_use,
        account: &issued.account,
        expires_at: issued.expires_at,
        metadata: &issued.metadata,
        user: user.unwrap_or(&issued.nickname),
    };
    let mut text = keyport_core::render_token(format, &shown);
    if format != TokenFormat::Raw || std::io::stdout().is_terminal() {
        text.push('\n');
    }
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Set by `keyport` for `keyport-full` when the agent already answered the request without a
/// token (its kind, as the protocol spells it).
pub const AGENT_ANSWERED: &str = "KEYPORT_AGENT_ANSWERED";

/// `token` through a running agent, if one answers for this home.
pub fn through_agent(
    account: Option<&str>,
    min_ttl: u64,
    (format, token_use): (TokenFormat, TokenUse),
    user: Option<&str>,
) -> Option<Exit> {
    let home = Home::from_env().ok()?;
    let reference = reference(&home, account).ok()?;
    let agent = keyport_core::agent_address(&home);
    let answer = match keyport_core::ask_agent(&agent, &reference, min_ttl, token_use) {
        Ok(answer) => answer?,
        Err(e) => {
            crate::output::report(&e);
            return Some(Exit::from(&e));
        }
    };
    match answer {
        Answer::Token(issued) => {
            print_issued(format, &issued, user);
            Some(Exit::Ok)
        }
        // `keyport-full` says these better (which account, what to run next) from the files, and
        // is told that the agent already answered: it asks nobody again and hands out nothing.
        // Across SSH there are no files here: the desktop's words are the best there are.
        Answer::Error {
            kind:
                kind @ (ErrorKind::NotFound | ErrorKind::Ambiguous | ErrorKind::NeedsReconnect | ErrorKind::Usage),
            ..
        } if !agent.is_remote() => {
            let kind = serde_json::to_value(kind).expect("kinds serialize");
            std::env::set_var(AGENT_ANSWERED, kind.as_str().unwrap_or_default());
            None
        }
        Answer::Shown
        | Answer::Accounts { .. }
        | Answer::Connected { .. }
        | Answer::Forwarding { .. }
        | Answer::Held => None,
        Answer::Error { kind, message } => {
            crate::note!("keyport: {message}");
            Some(Exit::from_kind(kind))
        }
    }
}

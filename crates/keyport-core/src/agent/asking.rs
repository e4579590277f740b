//! Consent: while the desktop app runs, the first time a program asks the agent for an account's
//! token, the user is asked "Allow <program> to use <account>?" (Allow once, Always, Deny) and the
//! program waits, for a bounded time. Answers are kept per executable and account
//! ([`ConsentBook`]); the user's own `keyport` calls from a terminal are the user's and pass.
//!
//! This guards against surprises, not against a hostile program of the same user, which could
//! read the keychain or edit the book directly (docs/SECURITY.md says so).

pub use crate::agent_link::DEFAULT_CONSENT_TIMEOUT;
use crate::error::{Error, Result};
use crate::model::AccountId;
use crate::store::accounts::Account;
use crate::store::audit::Use;
use crate::store::consent_book::ConsentBook;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// What the window asks.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Question {
    pub id: u64,
    /// The program's name (its executable's file name when it has one).
    pub program: String,
    /// The path of its executable: what the answer is remembered for.
    pub exe: String,
    pub account: String,
    /// The account in words (`provider:nickname`; "the MCP server <its name>" for one), never
    /// an id made of a host and port.
    pub account_label: String,
    /// The SSH destination the request came through; then `program` is only what the machine
    /// there says, and the window says so.
    pub over_ssh: Option<String>,
    /// Set when the question is whether to sign in to this provider (its name) for a program on
    /// another machine, rather than to hand out a token; "Always" then means once.
    pub connect: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Once,
    Always,
    Deny,
}

/// The user's side of the agent (the app's window): puts a question to the user and sends the
/// reply when there is one; shows device sign-in codes that `keyport connect --device` sends.
pub trait Asker: Send + Sync {
    fn ask(&self, question: Question, reply: oneshot::Sender<Reply>);
    fn show_device_code(&self, code: crate::agent_link::protocol::DeviceCode);
}

/// Programs that ask together for the same account wait on one question.
type Waiters = HashMap<(String, AccountId), Vec<oneshot::Sender<bool>>>;

pub struct Consent {
    book: Arc<ConsentBook>,
    asker: Arc<dyn Asker>,
    timeout: Duration,
    next_id: AtomicU64,
    waiting: Mutex<Waiters>,
}

impl Consent {
    pub fn new(book: Arc<ConsentBook>, asker: Arc<dyn Asker>, timeout: Duration) -> Self {
        Self {
            book,
            asker,
            timeout,
            next_id: AtomicU64::new(1),
            waiting: Mutex::default(),
        }
    }

    pub(crate) fn asker(&self) -> &dyn Asker {
        self.asker.as_ref()
    }

    /// `Ok` when `usage`'s program may have `account`'s token, asking the user if needed.
    pub(crate) async fn check(&self, usage: &Use, account: &Account) -> Result<()> {
        // A request from another machine is never the user at this terminal.
        if !self.book.asks() || (usage.over_ssh.is_none() && from_the_users_terminal(usage)) {
            return Ok(());
        }
        // A program whose executable cannot be read is asked about every time, under its name.
        let program = usage
            .program
            .clone()
            .unwrap_or_else(|| "An unknown program".into());
        let over_ssh = usage.over_ssh.as_deref();
        let Some(exe) = usage.exe.clone() else {
            return self.ask(&program, "", over_ssh, account).await;
        };
        match self.book.lookup(&exe, &account.id) {
            Some(true) => Ok(()),
            Some(false) => Err(refused(&program, account, false)),
            None => self.ask(&program, &exe, over_ssh, account).await,
        }
    }

    async fn ask(&self, program: &str, exe: &str, over_ssh: Option<&str>, account: &Account) -> Result<()> {
        let key = (exe.to_string(), account.id.clone());
        let (tx, rx) = oneshot::channel();
        let first = {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            let waiters = waiting.entry(key.clone()).or_default();
            waiters.push(tx);
            waiters.len() == 1 || exe.is_empty()
        };
        if first {
            let (reply_tx, reply_rx) = oneshot::channel();
            let question = Question {
                id: self.next_id.fetch_add(1, Ordering::Relaxed),
                program: program.to_string(),
                exe: exe.to_string(),
                account: account.id.to_string(),
                account_label: account.spoken(),
                over_ssh: over_ssh.map(str::to_string),
                connect: None,
            };
            tracing::info!(program, exe, account = %account.id, "asking the user before handing out a token");
            self.asker.ask(question, reply_tx);
            let reply = tokio::time::timeout(self.timeout, reply_rx).await;
            let allowed = match reply {
                Ok(Ok(Reply::Once)) => Some(true),
                Ok(Ok(Reply::Always)) => {
                    self.remember(exe, account, true);
                    Some(true)
                }
                Ok(Ok(Reply::Deny)) => {
                    self.remember(exe, account, false);
                    Some(false)
                }
                // No answer in time, or the window went away: nobody said yes.
                _ => None,
            };
            let waiters = {
                let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
                waiting.remove(&key).unwrap_or_default()
            };
            for w in waiters {
                // A dropped sender below reads as "timed out".
                if let Some(allowed) = allowed {
                    let _ = w.send(allowed);
                }
            }
        }
        match tokio::time::timeout(self.timeout + Duration::from_secs(1), rx).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(refused(program, account, false)),
            _ => Err(refused(program, account, true)),
        }
    }

    /// `Ok` when the person agrees to sign in to `provider_name` for `usage`'s program on the
    /// machine it names (asked every time: a sign-in is never remembered as allowed).
    pub(crate) async fn check_sign_in(&self, usage: &Use, provider_name: &str) -> Result<()> {
        let program = usage.program.clone().unwrap_or_else(|| "A program".into());
        let (reply_tx, reply_rx) = oneshot::channel();
        let question = Question {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            program: program.clone(),
            exe: String::new(),
            account: String::new(),
            account_label: provider_name.to_string(),
            over_ssh: usage.over_ssh.clone(),
            connect: Some(provider_name.to_string()),
        };
        tracing::info!(
            program,
            provider = provider_name,
            "asking the user before a sign-in for another machine"
        );
        self.asker.ask(question, reply_tx);
        let refused = |timed_out| Error::Refused {
            program: crate::text::escape_controls(&program).into_owned(),
            account: format!("a new {provider_name} account"),
            timed_out,
        };
        match tokio::time::timeout(self.timeout, reply_rx).await {
            Ok(Ok(Reply::Once | Reply::Always)) => Ok(()),
            Ok(Ok(Reply::Deny)) => Err(refused(false)),
            _ => Err(refused(true)),
        }
    }

    fn remember(&self, exe: &str, account: &Account, allow: bool) {
        if exe.is_empty() {
            return;
        }
        if let Err(e) = self.book.remember(exe, &account.id, allow) {
            tracing::warn!(error = %e, "could not remember the answer");
        }
    }
}

fn refused(program: &str, account: &Account, timed_out: bool) -> Error {
    Error::Refused {
        program: crate::text::escape_controls(program).into_owned(),
        account: account.spoken(),
        timed_out,
    }
}

/// Shells whose commands, typed in a terminal, are the user's own.
const SHELLS: &[&str] = &[
    "bash", "sh", "dash", "zsh", "fish", "ksh", "mksh", "tcsh", "csh", "nu", "elvish", "xonsh",
];

/// `keyport token` typed at a shell prompt: the caller is a shell, on a terminal a person sees
/// (`terminal.rs`).
fn from_the_users_terminal(usage: &Use) -> bool {
    let shell = usage
        .exe
        .as_deref()
        .and_then(|e| std::path::Path::new(e).file_name())
        .and_then(|n| n.to_str())
        .is_some_and(|n| SHELLS.contains(&n));
    shell && usage.pid.is_some_and(super::terminal::typed_in_a_terminal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(exe: Option<&str>, pid: Option<u32>) -> Use {
        Use {
            at: 0,
            account: "a".into(),
            program: exe.map(|e| e.rsplit('/').next().unwrap().to_string()),
            exe: exe.map(str::to_string),
            parent_exe: None,
            pid,
            via: "agent".into(),
            over_ssh: None,
        }
    }

    #[test]
    fn only_a_shell_counts_as_the_user() {
        // This test's own process is no shell; a shell path without a pid never passes.
        assert!(!from_the_users_terminal(&usage(
            Some("/usr/bin/python3"),
            Some(std::process::id())
        )));
        assert!(!from_the_users_terminal(&usage(Some("/usr/bin/bash"), None)));
    }
}

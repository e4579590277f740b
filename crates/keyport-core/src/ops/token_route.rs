//! Which way a token is handed out to a program (`keyport token`, `exec`, `git-credential`).
//!
//! While the app runs, its agent asks the person before a program it has not seen gets a token.
//! That question must hold on every path, so the CLI hands out tokens through the running agent
//! whenever there is one, for every command; and when the app runs but its socket cannot be
//! reached (another `XDG_RUNTIME_DIR`), it says so instead of reading the keychain behind the
//! app's back. The app and the agent themselves read the keychain directly.

use super::Keyport;
use crate::agent_link::protocol::Answer;
use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;
use crate::store::accounts::Account;
use crate::store::audit::Use;
use crate::store::lock::FileLock;

/// How [`Keyport::token`] gets a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenRoute {
    /// From the keychain, refreshed here: the agent's own way, and the app's.
    #[default]
    Direct,
    /// Through the running agent (which may ask the person); from the keychain only when no
    /// agent that asks runs for this home.
    ThroughAgent,
    /// The agent already answered this request without a token (`keyport` asked it, then handed
    /// the request on): say why from the files, ask nobody again, hand out nothing.
    AgentAnswered(ErrorKind),
}

impl Keyport {
    pub fn set_token_route(&mut self, route: TokenRoute) {
        self.route = route;
    }

    /// A valid access token for the account, refreshed first when it would expire within
    /// `min_ttl` seconds, by the way [`TokenRoute`] says. Recorded in the audit log as used by
    /// this process's parent, the program that ran `keyport` (through the agent, the agent
    /// records it).
    pub async fn token(&self, reference: &str, min_ttl: u64) -> Result<(Account, Secret)> {
        match self.route {
            TokenRoute::Direct => {}
            TokenRoute::ThroughAgent => match self.ask_running_agent(reference, min_ttl)? {
                Reached::Token(account, token) => return Ok((*account, token)),
                Reached::Refused(kind, message) => return Err(self.explain(reference, kind, message)),
                Reached::Nobody => {}
            },
            TokenRoute::AgentAnswered(kind) => {
                let message = "Keyport's agent did not hand out a token; try again".to_string();
                return Err(self.explain(reference, kind, message));
            }
        }
        let (account, tokens) = self.token_set(reference, min_ttl).await?;
        self.audit.record(&Use::by_parent_of_this_process(&account.id));
        Ok((account, tokens.access_token))
    }

    /// What the running agent said; `Nobody` when no agent that asks runs for this home (then
    /// the keychain may be read here).
    fn ask_running_agent(&self, reference: &str, min_ttl: u64) -> Result<Reached> {
        let socket = self.home.agent_socket();
        Ok(
            match crate::agent_link::client::ask_agent(&socket, reference, min_ttl)? {
                Some(Answer::Token { token, account, .. }) => {
                    Reached::Token(Box::new(self.find(&account)?), token)
                }
                Some(Answer::Error { kind, message }) => Reached::Refused(kind, message),
                Some(Answer::Shown) => {
                    return Err(Error::Internal("the agent answered another request".into()))
                }
                None if FileLock::is_held(&self.home.asking_agent_lock())? => {
                    return Err(Error::AppUnreachable { socket })
                }
                None => Reached::Nobody,
            },
        )
    }

    /// Why the agent handed out no token, as the files tell it (a typed error the edges can add
    /// a next step to: which account, reconnect it), else in the agent's own words. Reads no
    /// secret and asks nobody.
    fn explain(&self, reference: &str, kind: ErrorKind, message: String) -> Error {
        match self.find(reference).and_then(|account| self.usable(&account)) {
            Err(e) if e.kind() == kind => e,
            _ => Error::AgentAnswered { kind, message },
        }
    }
}

enum Reached {
    Token(Box<Account>, Secret),
    Refused(ErrorKind, String),
    Nobody,
}

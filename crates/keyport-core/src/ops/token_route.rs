//! Which way a token is handed out to a program (`keyport token`, `exec`, `git-credential`).
//!
//! While the app runs, its agent asks the person before a program it has not seen gets a token.
//! That question must hold on every path, so the CLI hands out tokens through the running agent
//! whenever there is one, for every command; and when the app runs but its socket cannot be
//! reached (another `XDG_RUNTIME_DIR`), it says so instead of reading the keychain behind the
//! app's back. The app and the agent themselves read the keychain directly.
//!
//! On a machine reached over SSH, with no accounts of its own, the agent is the desktop's,
//! forwarded (see `agent_link::address`): every token comes from there, and nothing is read from
//! or written to this machine's keychain.

use super::Keyport;
use crate::agent_link::address::AgentAddress;
use crate::agent_link::protocol::Answer;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Issued, TokenUse};
use crate::process::Program;
use crate::store::audit::Use;
use crate::store::home::Home;
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
    pub async fn token(&self, reference: &str, min_ttl: u64) -> Result<Issued> {
        self.token_for(reference, min_ttl, TokenUse::Access).await
    }

    /// [`Keyport::token`] for the token `token_use` names: the access token, or the account's
    /// OpenID Connect ID token (refreshed first by its own expiry).
    pub async fn token_for(&self, reference: &str, min_ttl: u64, token_use: TokenUse) -> Result<Issued> {
        match self.route {
            TokenRoute::Direct => {}
            TokenRoute::ThroughAgent => match self.ask_running_agent(reference, min_ttl, token_use).await? {
                Reached::Token(issued) => return Ok(*issued),
                Reached::Refused(kind, message) => return Err(self.explain(reference, kind, message)),
                Reached::Nobody => {}
            },
            TokenRoute::AgentAnswered(kind) => {
                let message = "Keyport's agent did not hand out a token; try again".to_string();
                return Err(self.explain(reference, kind, message));
            }
        }
        let (account, tokens) = self.token_set_for(reference, min_ttl, token_use).await?;
        let issued = account.issue_from(tokens, token_use)?;
        self.audit.record(&Use::of(
            &account.id,
            "keychain",
            Program::parent_of_this_process(),
        ));
        Ok(issued)
    }

    /// The agent this process asks: this home's, or a desktop's across SSH.
    pub fn agent_address(&self) -> AgentAddress {
        agent_address(&self.home)
    }

    /// What the running agent said; `Nobody` when no agent that asks runs for this home (then
    /// the keychain may be read here).
    async fn ask_running_agent(&self, reference: &str, min_ttl: u64, token_use: TokenUse) -> Result<Reached> {
        // A process that holds a connection asks over it: the agent knows it from then (for the
        // access token, the only one such a process asks for).
        let held = match token_use {
            TokenUse::Access => self.ask_held_agent(reference, min_ttl).await,
            TokenUse::Id => None,
        };
        let agent = self.agent_address();
        // The agent may be asking the person (consent), which takes as long as they read: wait
        // off the runtime's thread, so that the rest of the process goes on meanwhile. A held
        // thread is how the MCP bridge once sent its next request on a connection the server had
        // closed during the question.
        let answer = match held {
            Some(answer) => Some(answer),
            None => {
                let (asked, reference_owned) = (agent.clone(), reference.to_string());
                tokio::task::spawn_blocking(move || {
                    crate::agent_link::client::ask_agent(&asked, &reference_owned, min_ttl, token_use)
                })
                .await
                .map_err(|e| Error::Internal(format!("asking the agent failed ({e})")))??
            }
        };
        Ok(match answer {
            Some(Answer::Token(issued)) => Reached::Token(Box::new(issued)),
            Some(Answer::Error { kind, message }) => Reached::Refused(kind, message),
            Some(
                Answer::Shown
                | Answer::Accounts { .. }
                | Answer::Connected { .. }
                | Answer::Forwarding { .. }
                | Answer::Held,
            ) => return Err(Error::Internal("the agent answered another request".into())),
            None if FileLock::is_held(&self.home.asking_agent_lock())? => {
                return Err(Error::AppUnreachable {
                    socket: agent.shown(),
                })
            }
            None => Reached::Nobody,
        })
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

/// The agent a process of `home` asks (see `agent_link::address`): only the default home, without
/// accounts of its own, looks for one forwarded over SSH.
pub fn agent_address(home: &Home) -> AgentAddress {
    let named = std::env::var_os("KEYPORT_HOME").is_some_and(|h| !h.is_empty());
    AgentAddress::find(home.agent_socket(), named, || home.accounts_file().exists())
}

enum Reached {
    Token(Box<Issued>),
    Refused(ErrorKind, String),
    Nobody,
}

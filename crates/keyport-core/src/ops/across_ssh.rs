//! What a machine reached over SSH asks its desktop's agent for besides tokens (those go through
//! `token_route`): which accounts it may use, and a sign-in run on the desktop.

use super::{ConnectOptions, Keyport};
use crate::agent_link::protocol::{Answer, ConnectAsk};
use crate::error::{Error, Result};
use crate::model::AccountSummary;

impl Keyport {
    /// Whether this process reaches a desktop's agent across SSH (and keeps no accounts itself).
    pub fn uses_another_machines_accounts(&self) -> Result<bool> {
        crate::agent_link::client::reaches_another_machine(&self.agent_address())
    }

    /// The accounts a desktop's agent across SSH lets this machine use (as `list --json` shows
    /// them); `None` when this machine keeps its own.
    pub fn accounts_across_ssh(&self) -> Result<Option<Vec<AccountSummary<'static>>>> {
        let agent = self.agent_address();
        if !agent.is_remote() {
            return Ok(None);
        }
        match crate::agent_link::client::ask_list(&agent)? {
            Some(Answer::Accounts { accounts }) => Ok(Some(accounts)),
            Some(Answer::Error { kind, message }) => Err(Error::AgentAnswered { kind, message }),
            None => Ok(None),
            _ => Err(Error::Internal("the agent answered another request".into())),
        }
    }

    /// A sign-in run on the desktop this machine reaches over SSH, once the person there agreed
    /// (its browser opens, or its window shows the device code); the new account as `list
    /// --json` shows it. `None` when no desktop is reached.
    pub fn connect_across_ssh(
        &self,
        provider: &str,
        opts: &ConnectOptions,
        device: bool,
    ) -> Result<Option<AccountSummary<'static>>> {
        let agent = self.agent_address();
        let ask = ConnectAsk {
            provider: provider.to_string(),
            nickname: opts.nickname.clone(),
            scopes: opts.scopes.clone(),
            variables: opts.variables.clone(),
            device,
            timeout: opts.timeout.as_secs(),
            claim: Default::default(),
        };
        match crate::agent_link::client::ask_connect(&agent, ask)? {
            Some(Answer::Connected { account }) => Ok(Some(*account)),
            Some(Answer::Error { kind, message }) => Err(Error::AgentAnswered { kind, message }),
            None => Ok(None),
            Some(_) => Err(Error::Internal("the agent answered another request".into())),
        }
    }
}

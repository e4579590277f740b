//! A Keyport process that stays and holds tokens (`keyport mcp`, for as long as its MCP client
//! runs) keeps them from other processes of the user as the agent does: it makes itself
//! non-dumpable (`process_guard`), so that its memory cannot be read and a crash leaves no core
//! file, and the tokens it keeps are `Secret`s, wiped when dropped.
//!
//! Non-dumpable, its `/proc/<pid>/exe` is hidden from the agent, which recognises Keyport's own
//! CLI by it and then names the program that ran it (the MCP client) in its consent question and
//! the audit log. So before it first holds a token, the process opens a connection to the agent
//! and asks it to hold it ([`crate::agent_link::client::hold_agent`]): the agent pins the caller
//! when it accepts the connection and answers once it has, and only then does the process hide.
//! Its later token requests go over that connection. Should it break (the agent restarted), or
//! should no agent have run then, a later agent cannot tell the process apart from any other:
//! it asks about it as an unknown program each time (docs/SECURITY.md).

use super::Keyport;
#[cfg(unix)]
use crate::agent_link::client::HeldAgent;
use crate::agent_link::protocol::Answer;

/// The held connection, once the process hid itself.
#[derive(Default)]
pub(super) struct HeldLink {
    hidden: tokio::sync::OnceCell<()>,
    #[cfg(unix)]
    held: tokio::sync::Mutex<Option<HeldAgent>>,
}

impl Keyport {
    /// Before this process first holds a token (a token handed out, a sign-in's grant): holds a
    /// connection to the agent if one runs (and tokens are handed out through it), then makes the
    /// process non-dumpable. Once per process; later calls return at once.
    pub(crate) async fn hide_before_holding_tokens(&self) {
        self.held
            .hidden
            .get_or_init(|| async {
                #[cfg(unix)]
                if self.route == super::TokenRoute::ThroughAgent {
                    let agent = self.agent_address();
                    let held =
                        tokio::task::spawn_blocking(move || crate::agent_link::client::hold_agent(&agent))
                            .await;
                    match held {
                        Ok(Ok(Some(held))) => *self.held.held.lock().await = Some(held),
                        Ok(Ok(None)) => tracing::debug!("no agent holds a connection for this process"),
                        Ok(Err(e)) => tracing::warn!(error = %e, "could not hold a connection to the agent"),
                        Err(e) => tracing::warn!(error = %e, "holding a connection to the agent failed"),
                    }
                }
                crate::process_guard::forbid_memory_reads();
            })
            .await;
    }

    /// The agent's answer over the held connection; `None` when none is held (or it just broke,
    /// and is let go): then ask as any process does.
    pub(super) async fn ask_held_agent(&self, reference: &str, min_ttl: u64) -> Option<Answer> {
        #[cfg(unix)]
        {
            let mut held = self.held.held.lock().await;
            let link = held.take()?;
            let reference = reference.to_string();
            // The agent may be asking the person: off the runtime's threads, as every question is.
            let (link, answer) = tokio::task::spawn_blocking(move || {
                let answer = link.ask(&reference, min_ttl);
                (link, answer)
            })
            .await
            .ok()?;
            match answer {
                Some(answer) => {
                    *held = Some(link);
                    Some(answer)
                }
                None => {
                    tracing::warn!(
                        "the connection held to the agent broke; its next questions name this process as it can"
                    );
                    None
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = (reference, min_ttl);
            None
        }
    }
}

//! The local token agent. While the desktop app runs (or `keyport agent`), it holds tokens in
//! memory and answers `keyport token` over a Unix socket in the user's runtime directory, so a
//! token costs one local round trip instead of a keychain read. It is also the one refresher of
//! the accounts while it runs.
//!
//! - the wire protocol and the client ([`ask_agent`]) live a floor lower, in `agent_link/`, so
//!   that every operation that hands out a token can ask the agent.
//! - `server`: the [`Agent`] (Unix only; elsewhere it says so and the CLI reads the keychain).
//! - `asking`: asking the user before a program it has not seen gets a token (the app's agent).
//! - `terminal`: whether a caller is the person at a terminal they see (then nobody is asked).
//! - `activation`: the listening socket systemd passes (socket activation).
//! - `sweep_backoff`: how long the background refresh leaves an account alone after it failed.

#[cfg(unix)]
mod activation;
pub(crate) mod asking;
mod caller;
#[cfg(unix)]
mod server;
#[cfg(unix)]
mod sweep_backoff;
#[cfg(not(unix))]
mod server {
    //! Without Unix sockets there is no agent: `keyport token` reads the keychain every time.
    use crate::error::{Error, Result};
    use crate::ops::Keyport;
    use std::sync::Arc;

    pub struct Agent;

    impl Agent {
        pub fn new(_keyport: Arc<Keyport>) -> Arc<Self> {
            Arc::new(Agent)
        }

        pub fn with_consent(_keyport: Arc<Keyport>, _consent: super::asking::Consent) -> Arc<Self> {
            Arc::new(Agent)
        }

        pub async fn serve(self: Arc<Self>) -> Result<()> {
            self.serve_until_idle(None).await
        }

        pub async fn serve_until_idle(
            self: Arc<Self>,
            _idle_exit: Option<std::time::Duration>,
        ) -> Result<()> {
            Err(Error::Unsupported(
                "the token agent needs Unix sockets, which this system does not have".into(),
            ))
        }
    }
}

pub use crate::agent_link::client::{ask_agent, show_device_code};
pub use crate::agent_link::protocol::{Answer, DeviceCode};
pub use activation::give_the_socket_back;
pub use asking::{Asker, Consent, Question, Reply, DEFAULT_CONSENT_TIMEOUT};
pub use server::Agent;

/// How long an agent systemd started stays without a request (`keyport agent --idle-exit`).
pub const DEFAULT_IDLE_EXIT: std::time::Duration = std::time::Duration::from_secs(600);

//! Talking to a running agent, from the outside: the wire protocol (one JSON line each way) and
//! the client that checks the socket is this user's before it sends anything. Below `ops/`, so
//! that every operation that hands out a token can go through the agent, whose consent then
//! applies (see [`crate::ops`]'s token route); the agent itself (`agent/`) stands above. Which
//! agent to ask (this home's, or a desktop's forwarded over SSH) is `address`'s.

pub mod address;
pub mod client;
pub mod protocol;

use std::time::Duration;

/// How long the app waits for the person to answer a consent question before refusing.
pub const DEFAULT_CONSENT_TIMEOUT: Duration = Duration::from_secs(60);

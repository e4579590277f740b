//! Talking to a provider: the one HTTP client, OpenID Connect discovery, the resolved
//! [`crate::model::Connection`] of an account (`resolve`), and the protocol steps as methods of
//! [`remote::Remote`] (authorize, exchange, device, refresh, revoke, profile), with the smoothing
//! of deviating token responses.

pub mod authorize;
pub mod client_assertion;
pub mod client_credentials;
pub mod device;
pub mod discovered;
pub mod discovery;
pub mod grant;
pub mod http;
pub mod identity_assertion;
pub mod json_path;
pub mod mcp;
pub mod profile;
pub mod reach;
pub mod registration;
pub mod remote;
pub mod resolve;
pub mod revoke;
pub mod token_response;

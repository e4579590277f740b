//! Keyport's core: everything about connected accounts that is not a user interface.
//!
//! - [`catalog`]: which providers exist and how to talk to them (data, not code).
//! - [`endpoints`]: a provider's endpoints, from the catalog or OpenID Connect discovery.
//! - [`oauth`], [`loopback`], [`deep_link`], [`callback`], [`browser`], [`profile`]: the authorization
//!   flow and its parts.
//! - [`keychain`], [`accounts`], [`tokens`], [`lock`], [`paths`]: where things are kept.
//! - [`keyport`]: the operations the CLI and the desktop app expose.
//! - [`agent`], [`audit`]: tokens served from memory while the app runs; who used which token.
//!
//! Nothing here depends on Tauri; the app and the CLI are thin adapters.

pub mod accounts;
#[cfg(unix)]
pub mod agent;
pub mod atomic_file;
pub mod audit;
pub mod browser;
pub mod callback;
pub mod catalog;
pub mod deep_link;
pub mod discovered;
pub mod endpoints;
pub mod error;
pub mod http;
pub mod json_path;
pub mod keychain;
pub mod keyport;
pub mod lock;
pub mod loopback;
pub mod oauth;
pub mod paths;
pub mod profile;
pub mod secret;
pub mod token_response;
pub mod tokens;
pub mod view;

pub use accounts::{Account, Lifecycle, Status};
pub use error::{Error, ErrorKind, Result};
pub use keyport::{ConnectOptions, DevicePrompt, Keyport, RevocationOutcome};
pub use paths::Home;
pub use secret::Secret;
pub use view::{AccountSummary, ProviderSummary};

//! Keyport's core: everything about connected accounts that is not a user interface. Nothing here
//! depends on Tauri; the desktop app and the CLI are thin adapters over the API below, and use
//! nothing else.
//!
//! The folders follow the architecture:
//! - `catalog/`: which providers exist and how to talk to them (data, not code): the schema, its
//!   validation, `{variables}`, and edits of the user's `providers.toml`.
//! - `provider/`: talking to a provider: the one HTTP client, discovery, the resolved
//!   [`Connection`] of an account, and the protocol steps (authorize, device, refresh, revoke).
//! - `redirect/`: how the provider's answer comes back (loopback listener, `keyport://` deep link).
//! - `store/`: where things are kept (keychain, account file, audit log, locks, the home).
//! - `ops/`: the operations the adapters offer, one file per operation ([`Keyport`]).
//! - `agent/`: tokens served from memory while the app runs (server, client, protocol).
//! - `view/`: what the interfaces show: account and provider summaries, the support matrix.

mod agent;
mod agent_link;
mod catalog;
mod error;
mod executables;
mod files;
mod model;
mod ops;
mod process;
mod process_guard;
mod provider;
mod redirect;
mod secret;
mod serving;
mod store;
mod text;
mod view;

pub use agent::{ask_agent, show_device_code, Agent, Answer, Asker, Consent, DeviceCode, Question, Reply};
pub use agent::{give_the_socket_back, DEFAULT_CONSENT_TIMEOUT, DEFAULT_IDLE_EXIT};
pub use agent_link::address::{fresh_forward_path, AgentAddress};
#[cfg(unix)]
pub use agent_link::client::{open_forward, Forwarding};
pub use catalog::{Catalog, Provider, RedirectKind, Variable};
pub use error::{describe, Error, ErrorKind, KeychainError, KeychainProblem, ProviderError, Refusal, Result};
pub use executables::{full_cli, full_cli_places, FullCli, CLI, FULL_CLI};
pub use model::{now, AccountId, Issued, ProviderId, TokenUse};
pub use model::{Connection, EndpointSet, Integration, Quirks, RevocationStyle, TokenAuthMethod};
pub use ops::choose::choose_reference;
pub use ops::{
    agent_address, ConnectOptions, DevicePrompt, EnvRequest, FirstSignIn, GitCredential, GitRequest,
    GivenIdToken, Keyport, NewProvider, OwnClient, Present, RedirectMode, RevocationOutcome, SignInReason,
    TokenRoute, DEFAULT_CONNECT_TIMEOUT_SECS, DEFAULT_MIN_TTL_SECS,
};
pub use process_guard::forbid_memory_reads;
pub use redirect::browser::open as open_browser;
pub use redirect::deep_link::{PendingFlows, REDIRECT_URI as DEEP_LINK_REDIRECT_URI};
pub use redirect::loopback::{SignInAddress, REGISTERED_REDIRECT_URI};
pub use secret::Secret;
pub use store::account_file::{AccountStore, ListedAccount};
pub use store::accounts::{Account, Lifecycle, Status};
pub use store::audit::Use;
pub use store::consent_book::{program_label as consent_program_label, ConsentBook, Decision};
pub use store::home::Home;
pub use store::lock::FileLock;
pub use store::ssh_forwards::add as add_ssh_forward;
pub use text::escape_controls;
pub use view::exec_credential::{exec_info, ExecApi, ExecInfo};
pub use view::token_format::{render as render_token, IssuedToken, TokenFormat};
pub use view::{relative, support_matrix, variables_text, AccountSummary, ProviderSummary};

/// Entry points for the fuzz targets (`fuzz/`): the parsers of untrusted input, reachable without
/// widening the API above.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::provider::grant::parses_as_token_response;
    pub use crate::provider::token_response::normalize;
    pub use crate::redirect::loopback::judge_for_fuzzing;
}

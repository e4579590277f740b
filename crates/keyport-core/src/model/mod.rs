//! The bottom floor: plain data that every other part of the core stands on, and that imports
//! nothing of theirs (only the ground: `error`, `secret`, `text`). The catalog declares providers
//! in these terms, the store keeps them, the protocol steps use them.
//!
//! - `ids`: account and provider ids as their own types ([`AccountId`], [`ProviderId`]).
//! - `endpoints`: the endpoint fields of a provider, written once ([`EndpointSet`]).
//! - `url_rules`: what an endpoint URL may be (https, or http on loopback only).
//! - `address_space`: local, private or public addresses, and which a server may have Keyport
//!   reach ([`AddressSpace`]).
//! - `quirks`: how a provider deviates from plain OAuth ([`Quirks`], [`Integration`], the enums).
//! - `connection`: a provider as resolved for one account ([`Connection`]).
//! - `tokens`: an account's tokens as the keychain keeps them ([`tokens::TokenSet`]) and the clock.
//! - `issued`: a token as handed out to a program, with what it needs of the account ([`Issued`]).
//! - `registration`: who Keyport is to a server it registered itself with ([`Registration`]).
//! - `summary`: an account as every interface shows it ([`AccountSummary`], its [`Status`]).

pub mod address_space;
pub mod connection;
pub mod endpoints;
pub mod ids;
pub mod issued;
pub mod quirks;
pub mod registration;
pub mod summary;
pub mod tokens;
pub mod url_rules;

pub use address_space::AddressSpace;
pub use connection::Connection;
pub use endpoints::EndpointSet;
pub use ids::{AccountId, ProviderId};
pub use issued::{Issued, TokenUse};
pub use quirks::{GrantKind, Integration, Quirks, RevocationStyle, TokenAuthMethod, TokenRequestFormat};
pub use registration::Registration;
pub use summary::AccountSummary;
pub use tokens::now;
pub use url_rules::{check_endpoint, strip_query};

//! The ground under the store: files only this user may touch, and replacing a file atomically.
//! Knows nothing of accounts or providers; the catalog (editing the user's `providers.toml`), the
//! store and the agent (its socket directory) all use it.

pub mod atomic;
pub mod private;

//! Where Keyport keeps things: secrets in the OS keychain only; account metadata, the audit log and
//! locks in the home's directories, written atomically.

pub mod account_file;
pub mod accounts;
pub mod audit;
pub mod config;
pub mod consent_book;
pub mod home;
pub mod keychain;
pub mod lock;
pub mod registrations;
pub mod ssh_forwards;
pub mod unasked_sign_ins;

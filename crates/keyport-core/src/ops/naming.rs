//! Changing how accounts are named and offered: a nickname, which account a bare provider id
//! means, and whether machines reached over SSH may use it.

use super::Keyport;
use crate::error::{Error, Result};
use crate::model::tokens::now;
use crate::store::accounts::Account;

impl Keyport {
    pub fn rename(&self, reference: &str, nickname: &str) -> Result<Account> {
        let nickname = nickname.trim();
        if nickname.is_empty() || nickname.contains(':') || nickname.chars().any(char::is_control) {
            return Err(Error::Usage(
                "a nickname must be non-empty and must not contain ':' or control characters".into(),
            ));
        }
        let account = self.find(reference)?;
        self.accounts.update(|all| {
            if all
                .iter()
                .any(|a| a.id != account.id && a.provider == account.provider && a.nickname == nickname)
            {
                return Err(Error::Usage(format!(
                    "another {} account is already called \"{nickname}\"",
                    account.provider
                )));
            }
            let a = all
                .iter_mut()
                .find(|a| a.id == account.id)
                .ok_or_else(|| Error::NoSuchAccount(account.id.to_string()))?;
            a.nickname = nickname.to_string();
            a.updated_at = now();
            Ok(a.clone())
        })
    }

    /// Makes the account the one its provider's id means when the provider has several (for
    /// `keyport token github`, `exec`, git), in place of any other default of that provider.
    pub fn set_default(&self, reference: &str) -> Result<Account> {
        let account = self.find(reference)?;
        self.accounts.update(|all| {
            for a in all.iter_mut().filter(|a| a.provider == account.provider) {
                a.is_default = a.id == account.id;
            }
            all.iter()
                .find(|a| a.id == account.id)
                .cloned()
                .ok_or_else(|| Error::NoSuchAccount(account.id.to_string()))
        })
    }

    /// Allows (or stops) programs on machines reached over SSH to ask for the account's token
    /// through a forwarded agent. Only the desktop decides: the remote cannot change it.
    pub fn set_over_ssh(&self, reference: &str, allowed: bool) -> Result<Account> {
        let account = self.find(reference)?;
        self.accounts.update(|all| {
            let a = all
                .iter_mut()
                .find(|a| a.id == account.id)
                .ok_or_else(|| Error::NoSuchAccount(account.id.to_string()))?;
            a.over_ssh = allowed;
            a.updated_at = now();
            Ok(a.clone())
        })
    }
}

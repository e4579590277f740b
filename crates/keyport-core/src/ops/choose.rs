//! Which account a command means when it names none, or only a provider: the rules of the user's
//! `config.toml` for the current directory, then the provider's default account (which
//! [`crate::store::accounts::resolve`] applies wherever a reference is resolved, the agent
//! included).

use crate::error::{Error, Result};
use crate::store::account_file::AccountStore;
use crate::store::accounts;
use crate::store::config::Rules;
use crate::store::home::Home;
use std::path::Path;

/// The reference a command should use. `given` is what it was told (an argument, or
/// `KEYPORT_ACCOUNT`); a directory rule for `cwd` answers when nothing was given, or when only the
/// rule account's provider was. Reads nothing but the (usually missing) config file unless a rule
/// applies, so `keyport token` stays cheap.
pub fn choose_reference(home: &Home, given: Option<&str>, cwd: Option<&Path>) -> Result<String> {
    let rules = Rules::load(&home.config_file())?;
    let Some(rule_account) = cwd.and_then(|cwd| rules.for_directory(cwd)) else {
        return given.map(str::to_string).ok_or(Error::NoAccountGiven);
    };
    let Some(given) = given else {
        return Ok(rule_account.to_string());
    };
    let all = AccountStore::new(home.accounts_file(), &home.locks_dir()).load()?;
    match accounts::resolve(&all, rule_account) {
        Ok(a) if a.provider.as_str() == given => Ok(a.id.to_string()),
        _ => Ok(given.to_string()),
    }
}

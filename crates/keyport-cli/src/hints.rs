//! What to do next, in the CLI's own words: the core's errors say what happened; this adds the
//! command or file that helps, for the person at the terminal.

use keyport_core::{Catalog, Error, Home, REGISTERED_REDIRECT_URI};

pub fn hint(e: &Error) -> Option<String> {
    Some(match e {
        Error::UnknownProvider(_) => "`keyport providers` lists the known ones.".into(),
        Error::NoSuchAccount(_) => "`keyport list` shows the connected accounts.".into(),
        Error::NoAccountGiven => "Name one (`keyport token github`, or an id from `keyport list`), set \
             KEYPORT_ACCOUNT, or add a rule for this directory to config.toml (docs/integrations.md)."
            .into(),
        Error::AmbiguousAccount { .. } => "Name one of them by its id.".into(),
        Error::NeedsReconnect { provider, .. } => format!("Reconnect it with `keyport connect {provider}`."),
        Error::MissingVariable { name, .. } => format!("Pass --var {name}=VALUE."),
        Error::ProviderExists(_) => "Choose another id with --id.".into(),
        Error::NoRevocation { account, .. } => {
            format!("To forget the account here only: `keyport disconnect --local-only {account}`.")
        }
        Error::ProviderNotSetUp(id) => set_up(id),
        _ => return None,
    })
}

/// How to give a provider its client id: where to register, the redirect URI to give, the lines
/// to add to providers.toml, and the secret step for providers that want one.
fn set_up(id: &str) -> String {
    let home = Home::from_env().ok();
    let file = home
        .as_ref()
        .map(|h| h.providers_file().display().to_string())
        .unwrap_or_else(|| "providers.toml".into());
    let catalog = home.and_then(|h| Catalog::load(&h.providers_file()).ok());
    let provider = catalog.as_ref().and_then(|c| c.get(id).ok());
    let mut text = String::from("To set it up:\n");
    match provider.and_then(|p| p.registration_url.as_deref()) {
        Some(url) => text.push_str(&format!("  1. Register an OAuth app at {url}\n")),
        None => text.push_str("  1. Register an OAuth app with the provider\n"),
    }
    text.push_str(&format!(
        "     with the redirect URI {REGISTERED_REDIRECT_URI}\n  2. Add its client id to {file}\n     (create it if it does not exist yet):\n\n       [providers.{id}]\n       client_id = \"…\"\n"
    ));
    if provider.is_some_and(|p| p.wants_client_secret()) {
        text.push_str(&format!(
            "\n  3. Store its client secret in the keychain:\n       keyport providers set-secret {id} < secret.txt\n"
        ));
    }
    text.push_str(&format!("\nThen: keyport connect {id}"));
    text
}

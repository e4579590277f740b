//! `keyport providers`: the catalog, a client secret into the keychain, a provider from its
//! issuer's discovery document.

use crate::output::{print_json, table};
use keyport_core::{Error, Keyport, NewProvider, ProviderSummary, Result, Secret, REGISTERED_REDIRECT_URI};
use std::io::Read;

pub fn list(keyport: &Keyport, json: bool) -> Result<()> {
    let catalog = keyport.catalog()?;
    let list: Vec<ProviderSummary> = catalog.iter().map(ProviderSummary::from).collect();
    if json {
        print_json(&list);
        return Ok(());
    }
    let rows: Vec<[String; 4]> = catalog
        .iter()
        .map(|p| {
            let state = if p.is_set_up() {
                "ready".to_string()
            } else {
                format!(
                    "needs a client id ({})",
                    p.registration_url.as_deref().unwrap_or("see the provider's docs")
                )
            };
            let vars = keyport_core::variables_text(&p.variables, false);
            [p.id.to_string(), p.display_name.clone(), vars, state]
        })
        .collect();
    crate::out!("{}", table(["ID", "NAME", "--var", "SET UP"], &rows));
    crate::out!(
        "\nClient ids go in {}.",
        keyport.home().providers_file().display()
    );
    Ok(())
}

pub fn set_secret(keyport: &Keyport, provider: &str) -> Result<()> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| {
        Error::Usage(format!(
            "could not read the client secret from standard input: {e}"
        ))
    })?;
    let secret = input.trim();
    if secret.is_empty() {
        return Err(Error::Usage("no client secret on standard input".into()));
    }
    keyport.set_client_secret(provider, &Secret::new(secret))?;
    crate::out!("Stored the client secret of {provider} in the OS keychain.");
    Ok(())
}

pub async fn add(keyport: &mut Keyport, issuer: &str, choice: NewProvider, json: bool) -> Result<()> {
    let p = keyport.add_provider_from_issuer(issuer, choice).await?;
    if json {
        print_json(&ProviderSummary::from(&p));
        return Ok(());
    }
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    crate::out!(
        "Added {} ({}) to {}.\n  PKCE: {}\n  revocation: {}\n  sign-in with a code (--device): {}",
        p.id,
        p.display_name,
        keyport.home().providers_file().display(),
        yes_no(p.quirks.pkce),
        yes_no(p.urls.revocation_url.is_some()),
        yes_no(p.urls.device_authorization_url.is_some()),
    );
    if !p.is_set_up() {
        crate::out!(
            "Register Keyport there with the redirect URI {REGISTERED_REDIRECT_URI}, then set client_id \
             under [providers.{}] in that file.",
            p.id
        );
    } else {
        crate::out!("Connect with: keyport connect {}", p.id);
    }
    Ok(())
}

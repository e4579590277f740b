//! Shell completion: a script that asks `keyport` itself for candidates while the person types
//! (clap_complete's dynamic engine), so accounts complete from the account file as it is now. The
//! keychain is never read.

use crate::args::{Args, Shell};
use clap::CommandFactory;
use clap_complete::engine::CompletionCandidate;
use clap_complete::CompleteEnv;
use keyport_core::{AccountStore, Home, Result};

/// Answers a completion request from the shell's script, and exits; returns otherwise.
pub fn answer_if_asked() {
    CompleteEnv::with_factory(Args::command).complete();
}

/// Prints the script that registers completion in `shell`.
pub fn print_script(shell: Shell) -> Result<()> {
    let name = match shell {
        Shell::Bash => "bash",
        Shell::Zsh => "zsh",
        Shell::Fish => "fish",
    };
    // The name it was run by (`keyport`, which hands this to `keyport-full` under that name).
    let bin = std::env::args_os()
        .next()
        .and_then(|p| {
            std::path::Path::new(&p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "keyport".into());
    // SAFETY-free: a single-threaded moment at the start of a command that only prints.
    std::env::set_var("COMPLETE", name);
    let done = CompleteEnv::with_factory(Args::command)
        .try_complete([bin], None)
        .map_err(|e| keyport_core::Error::Usage(format!("could not write the completion script: {e}")))?;
    debug_assert!(done);
    Ok(())
}

/// Account ids, `provider:nickname`, and providers with accounts, from the account file.
pub fn accounts() -> Vec<CompletionCandidate> {
    let Ok(home) = Home::from_env() else {
        return Vec::new();
    };
    let store = AccountStore::new(home.accounts_file(), &home.locks_dir());
    let Ok(all) = store.load() else { return Vec::new() };
    let mut out: Vec<CompletionCandidate> = Vec::new();
    for a in &all {
        out.push(CompletionCandidate::new(a.id.as_str()).help(Some(a.label().into())));
        out.push(CompletionCandidate::new(format!("{}:{}", a.provider, a.nickname)));
    }
    let mut providers: Vec<&str> = all.iter().map(|a| a.provider.as_str()).collect();
    providers.sort();
    providers.dedup();
    out.extend(
        providers
            .into_iter()
            .map(|p| CompletionCandidate::new(p.to_string())),
    );
    out
}

/// The catalog's provider ids, with their names.
pub fn providers() -> Vec<CompletionCandidate> {
    let Ok(home) = Home::from_env() else {
        return Vec::new();
    };
    let Ok(catalog) = keyport_core::Catalog::load(&home.providers_file()) else {
        return Vec::new();
    };
    catalog
        .iter()
        .map(|p| CompletionCandidate::new(p.id.as_str()).help(Some(p.display_name.clone().into())))
        .collect()
}

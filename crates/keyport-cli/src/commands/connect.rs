//! `keyport connect`: a sign-in through the browser (opened here, or on another machine with the
//! address pasted back), or with a device code; on a machine reached over SSH, run on the desktop.

use crate::output::print_json;
use keyport_core::{now, relative, ConnectOptions, Keyport, RedirectMode, Result};

pub async fn browser(
    keyport: &Keyport,
    provider: &str,
    opts: ConnectOptions,
    no_browser: bool,
    paste: bool,
    json: bool,
) -> Result<()> {
    let name = keyport.catalog()?.get(provider)?.display_name.clone();
    let mode = match paste {
        true => RedirectMode::LoopbackOrPasted(read_pasted_lines()),
        false => RedirectMode::Loopback,
    };
    let account = keyport
        .connect_via(provider, opts, mode, |address| {
            // The browser gets the one-time local address (other users can read a browser's
            // command line); the full address is only ever printed here, for this person.
            let url = &address.full;
            if no_browser || paste {
                crate::note!("Open this URL in a browser to sign in to {name}:\n\n  {url}\n");
            } else if let Err(e) = keyport_core::open_browser(&address.local) {
                crate::note!(
                    "Could not open a browser ({e}). Open this URL to sign in to {name}:\n\n  {url}\n\n\
                     With no browser on this machine, a browser elsewhere cannot reach it: run \
                     `keyport connect {provider} --paste` instead and paste back the address that browser \
                     ends on, or `--device` where {name} offers a device code."
                );
            } else {
                crate::note!("Sign in to {name} in your browser. If no browser opened, visit:\n\n  {url}\n");
            }
            if paste {
                crate::note!(
                    "If that browser cannot reach this computer, it ends on a page that does not load: \
                     copy that page's address (http://127.0.0.1:…/callback?…), paste it here and press Enter."
                );
            }
            crate::note!("Waiting for the sign-in to finish…");
        })
        .await?;
    print_connected(keyport, &name, &account, json)
}

pub async fn device(
    keyport: &Keyport,
    provider: &str,
    opts: ConnectOptions,
    no_browser: bool,
    json: bool,
) -> Result<()> {
    let name = keyport.catalog()?.get(provider)?.display_name.clone();
    let account = keyport
        .connect_device(provider, opts, |prompt| {
            crate::note!(
                "To sign in to {name}, open {} on any device and enter the code\n\n  {}\n",
                prompt.verification_uri,
                keyport_core::escape_controls(&prompt.user_code)
            );
            if !no_browser {
                if let Err(e) = keyport_core::open_browser(&prompt.open_here) {
                    crate::note!("(Could not open a browser here: {e}.)");
                }
            }
            // Callers often hide stderr: a running app shows the code in its window too.
            let code = keyport_core::DeviceCode {
                provider: provider.to_string(),
                provider_name: name.clone(),
                user_code: prompt.user_code.clone(),
                verification_uri: prompt.verification_uri.to_string(),
                expires_in: prompt.expires_in.as_secs(),
                program: None,
            };
            match keyport_core::show_device_code(&keyport.home().agent_socket(), &code) {
                Ok(true) => crate::note!("(The code is also shown in Keyport's window.)"),
                Ok(false) => {}
                Err(e) => tracing::debug!(error = %e, "the app was not told the code"),
            }
            crate::note!(
                "Waiting for the approval (the code is valid for {})…",
                relative(Some(prompt.expires_in.as_secs() as i64)).trim_start_matches("in ")
            );
        })
        .await?;
    print_connected(keyport, &name, &account, json)
}

fn print_connected(keyport: &Keyport, name: &str, account: &keyport_core::Account, json: bool) -> Result<()> {
    if json {
        print_json(&keyport.summary(account, now())?);
    } else {
        let nickname = keyport_core::escape_controls(&account.nickname);
        crate::out!("Connected {} as {} (id {}).", name, nickname, account.id);
    }
    Ok(())
}

/// Lines typed or pasted on stdin, for `connect --paste`. A plain thread: reading a terminal blocks,
/// and the sign-in keeps listening for the browser meanwhile.
fn read_pasted_lines() -> tokio::sync::mpsc::Receiver<String> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if !line.trim().is_empty() && tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// `connect` on a machine reached over SSH: the sign-in runs on the desktop, once the person
/// there agreed (its browser, or its window showing the device code).
pub fn on_the_desktop(
    keyport: &Keyport,
    provider: &str,
    opts: &ConnectOptions,
    device: bool,
    json: bool,
) -> Result<()> {
    if provider.starts_with("https://") || provider.starts_with("http://") {
        return Err(keyport_core::Error::Unsupported(
            "add a remote MCP server on the desktop (`keyport connect URL` there); this machine reaches \
             it over SSH"
                .into(),
        ));
    }
    crate::note!(
        "keyport: asking the desktop you reached this machine from to sign in to {provider}; answer there{}",
        if device {
            " (the window shows the code)"
        } else {
            " (its browser opens)"
        }
    );
    let account = keyport
        .connect_across_ssh(provider, opts, device)?
        .ok_or_else(|| keyport_core::Error::ForwardUnanswered {
            socket: keyport.agent_address().shown(),
            reason: "no forward leads to a desktop any more".into(),
        })?;
    if json {
        crate::output::print_json(&account);
    } else {
        crate::out!(
            "Connected {} ({}:{}) on the desktop; it may be used here.",
            account.id,
            account.provider,
            keyport_core::escape_controls(&account.nickname)
        );
    }
    Ok(())
}

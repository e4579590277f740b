//! The commands the window may call. Each returns metadata ([`AccountSummary`],
//! [`ProviderSummary`]) or a [`UiError`]; none returns a token or a client secret.
//!
//! The ones the window calls to draw itself are `command(async)`: Tauri runs plain commands on the
//! main thread, where each file read and catalog parse would hold up the first paint.

use crate::background::Background;
use crate::bindings::events;
use crate::state::AppState;
use crate::ui_error::UiError;
use keyport_core::{
    now, AccountSummary, ConnectOptions, Home, Keyport, NewProvider, ProviderSummary, RedirectMode,
    RevocationOutcome, Secret, Use,
};
use serde::Serialize;
use tauri::{AppHandle, Emitter, State};

/// Opened per call: the catalog and the account file are small, and another process (the CLI)
/// may have changed either since the last call.
pub fn keyport() -> Result<Keyport, UiError> {
    Ok(Keyport::open(Home::from_env()?)?)
}

fn summary(keyport: &Keyport, account: &keyport_core::Account) -> Result<AccountSummary<'static>, UiError> {
    Ok(keyport.summary(account, now())?.into_owned())
}

#[tauri::command(async)]
pub fn list_accounts() -> Result<Vec<AccountSummary<'static>>, UiError> {
    let keyport = keyport()?;
    Ok(keyport.with_summaries(now(), |all| {
        all.into_iter().map(AccountSummary::into_owned).collect()
    })?)
}

#[tauri::command(async)]
pub fn list_providers() -> Result<Vec<ProviderSummary>, UiError> {
    let keyport = keyport()?;
    Ok(keyport.catalog()?.iter().map(ProviderSummary::from).collect())
}

/// Recent token uses, newest first: which program used which account.
#[tauri::command(async)]
pub fn recent_uses() -> Result<Vec<Use>, UiError> {
    Ok(keyport()?.recent_uses(200))
}

/// The setup form: the client id goes to providers.toml, the optional secret to the keychain.
#[tauri::command]
pub fn set_up_provider(
    provider: String,
    client_id: String,
    client_secret: Option<String>,
) -> Result<(), UiError> {
    let secret = client_secret.map(Secret::new);
    Ok(keyport()?.set_up_provider(&provider, &client_id, secret.as_ref())?)
}

/// The "Add by issuer URL" form: a provider from its OpenID Connect discovery document.
#[tauri::command]
pub async fn add_provider(
    issuer: String,
    name: Option<String>,
    client_id: Option<String>,
) -> Result<ProviderSummary, UiError> {
    let mut keyport = keyport()?;
    let choice = NewProvider {
        id: None,
        display_name: name.filter(|n| !n.trim().is_empty()),
        client_id: client_id.filter(|c| !c.trim().is_empty()),
    };
    let provider = keyport.add_provider_from_issuer(&issuer, choice).await?;
    Ok(ProviderSummary::from(&provider))
}

/// Adds a remote MCP server by its URL: its sign-in discovered and its entry written to
/// providers.toml (or the one already there for it). The window then connects it like any service.
/// How an MCP server is signed in to through the organization's identity provider (MCP's
/// Enterprise-Managed Authorization): the person's account there, and the client the organization
/// registered for Keyport at the server. The secret is the one the person typed; it goes to the
/// keychain and never comes back to the window.
#[derive(Debug, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OrganizationSignIn {
    /// The account at the identity provider (its id).
    pub via: String,
    pub client_id: String,
    pub client_secret: String,
}

#[tauri::command]
pub async fn add_mcp_server(
    url: String,
    organization: Option<OrganizationSignIn>,
) -> Result<ProviderSummary, UiError> {
    let mut keyport = keyport()?;
    let own = organization.map(|o| keyport_core::OwnClient {
        client_id: o.client_id.trim().to_string(),
        client_secret: Some(Secret::new(o.client_secret)),
        via: Some(o.via),
        ..keyport_core::OwnClient::default()
    });
    let provider = keyport.mcp_provider(&url, own.as_ref()).await?;
    Ok(ProviderSummary::from(&provider))
}

/// Opens the provider's developer settings (from the catalog, never a URL the page supplies).
#[tauri::command]
pub fn open_registration_page(app: AppHandle, provider: String) -> Result<(), UiError> {
    let keyport = keyport()?;
    let url = keyport
        .catalog()?
        .get(&provider)?
        .registration_url
        .clone()
        .ok_or_else(|| UiError::other("this service has no registration page in the catalog"))?;
    crate::browser::open(&app, &url)
}

/// The sign-in page could not be opened: the window shows its address instead.
#[derive(Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct BrowserFailed<'a> {
    provider: &'a str,
    url: &'a str,
}

/// Runs a sign-in in the system browser until it completes, fails or is cancelled.
#[tauri::command]
pub async fn connect(
    app: AppHandle,
    state: State<'_, AppState>,
    provider: String,
    variables: Option<std::collections::BTreeMap<String, String>>,
) -> Result<AccountSummary<'static>, UiError> {
    let keyport = keyport()?;
    let cancelled = state.begin_connect(&provider);
    let flows = state.deep_links.clone();
    let opts = ConnectOptions {
        variables: variables.unwrap_or_default(),
        ..ConnectOptions::default()
    };
    let flow = keyport.connect_via(&provider, opts, RedirectMode::DeepLink(&flows), |address| {
        // The browser gets the one-time local address (other users can read a browser's command
        // line); the full one is only shown in this window.
        open_sign_in_page(
            &app,
            &state,
            &provider,
            address.local.as_str(),
            address.full.as_str(),
        );
    });
    let result = tokio::select! {
        result = flow => result.map_err(UiError::from).and_then(|a| summary(&keyport, &a)),
        _ = cancelled => Err(UiError::cancelled()),
    };
    state.end_connect(&provider);
    result
}

/// Opens a sign-in page in the browser; when that fails, the window shows the address with Copy
/// and "Try the browser again", as `keyport connect --no-browser` prints it.
fn open_sign_in_page(app: &AppHandle, state: &AppState, provider: &str, local: &str, full: &str) {
    if let Err(e) = crate::browser::open(app, local) {
        tracing::warn!(error = %e.message, "could not open the browser");
        state.remember_unopened(provider, local, full);
        let _ = app.emit(events::BROWSER_FAILED, BrowserFailed { provider, url: full });
    }
}

/// "Try the browser again" in the waiting dialog.
#[tauri::command]
pub fn retry_browser(app: AppHandle, state: State<'_, AppState>, provider: String) -> Result<(), UiError> {
    let (local, full) = state
        .take_unopened(&provider)
        .ok_or_else(|| UiError::other("That sign-in is no longer waiting."))?;
    open_sign_in_page(&app, &state, &provider, &local, &full);
    Ok(())
}

/// Stops a waiting sign-in: its listener closes and a late callback is refused.
#[tauri::command]
pub fn cancel_connect(state: State<'_, AppState>, provider: String) {
    state.cancel_connect(&provider);
}

#[tauri::command]
pub async fn refresh_account(account: String) -> Result<AccountSummary<'static>, UiError> {
    let keyport = keyport()?;
    let a = keyport.refresh(&account).await?;
    summary(&keyport, &a)
}

#[tauri::command]
pub async fn revoke_account(account: String) -> Result<AccountSummary<'static>, UiError> {
    let keyport = keyport()?;
    let a = keyport.revoke(&account).await?;
    summary(&keyport, &a)
}

#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Disconnected {
    account: AccountSummary<'static>,
    revocation: RevocationOutcome,
}

#[tauri::command]
pub async fn disconnect_account(account: String) -> Result<Disconnected, UiError> {
    let keyport = keyport()?;
    let (a, revocation) = keyport.disconnect(&account, false).await?;
    Ok(Disconnected {
        account: summary(&keyport, &a)?,
        revocation,
    })
}

#[tauri::command]
pub fn rename_account(account: String, nickname: String) -> Result<AccountSummary<'static>, UiError> {
    let keyport = keyport()?;
    let a = keyport.rename(&account, &nickname)?;
    summary(&keyport, &a)
}

/// Allows (or stops) programs on machines reached over SSH to use the account.
#[tauri::command]
pub fn set_over_ssh(account: String, allowed: bool) -> Result<AccountSummary<'static>, UiError> {
    let keyport = keyport()?;
    let a = keyport.set_over_ssh(&account, allowed)?;
    summary(&keyport, &a)
}

/// The UI calls this once its first frame with the accounts is on screen. With
/// `KEYPORT_REPORT_PAINT` set, it says so on stdout (the benchmark suite measures start-up by it).
#[tauri::command]
pub fn painted() {
    if std::env::var_os("KEYPORT_REPORT_PAINT").is_some() {
        println!("first-paint");
    }
}

/// Whether closing the window keeps Keyport running (a tray exists), and the login switch.
#[tauri::command(async)]
pub fn background(app: AppHandle) -> Background {
    crate::background::status(&app)
}

/// The "Open at login" switch: starts Keyport hidden, in the tray, when the user logs in.
#[tauri::command]
pub fn set_login_start(app: AppHandle, on: bool) -> Result<Background, UiError> {
    crate::background::set_login_start(&app, on)
}

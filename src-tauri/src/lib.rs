//! The Keyport desktop app: a Tauri shell over `keyport-core`.
//!
//! - [`commands`]: what the window may call; metadata only, never a token or client secret.
//! - [`deep_links`]: `keyport://` sign-in callbacks from the system.
//! - [`watch`]: follows changes made elsewhere and notifies when an account needs reconnecting.
//! - [`browser`]: the system browser for sign-in pages.
//! - [`background`]: the tray, closing to it, and the "Open at login" switch.
//! - [`bindings`]: the names of commands and events the window uses, and (in tests) the
//!   TypeScript types of what crosses to it, generated into `ui/src/generated/`.
//!
//! While the app runs (window open or in the tray) it also runs the token agent (`keyport_core::Agent`), which serves
//! `keyport token` from memory and refreshes tokens ahead of expiry.

mod background;
mod bindings;
mod browser;
mod commands;
mod deep_links;
mod state;
mod ui_error;
mod watch;

fn start_agent() {
    let keyport = match commands::keyport() {
        Ok(k) => std::sync::Arc::new(k),
        Err(e) => {
            tracing::warn!(error = %e.message, "the token agent is off");
            return;
        }
    };
    tauri::async_runtime::spawn(async move {
        if let Err(e) = keyport_core::Agent::new(keyport).serve().await {
            tracing::warn!(error = %e, "the token agent stopped");
        }
    });
}

/// One running app per Keyport home (see `Home::instance_name`).
fn instance_name() -> String {
    const APP_ID: &str = "dev.keyport.app";
    match keyport_core::Home::from_env() {
        Ok(home) => home.instance_name(APP_ID),
        Err(_) => APP_ID.to_string(),
    }
}

pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEYPORT_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    tauri::Builder::default()
        // First, so that a second instance exits before doing anything else. With the
        // `deep-link` feature it forwards the second instance's keyport:// URL to this one.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(instance_name())
                .callback(|app, _argv, _cwd| background::show(app))
                .build(),
        )
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .arg(background::HIDDEN_ARG)
                .build(),
        )
        .manage(state::AppState::default())
        .setup(|app| {
            background::setup(app)?;
            deep_links::setup(app);
            start_agent();
            watch::start(app.handle().clone());
            Ok(())
        })
        .on_window_event(background::on_window_event)
        .invoke_handler(bindings::handler())
        .run(tauri::generate_context!())
        .expect("the Keyport window could not start");
}

//! The Keyport desktop app: a Tauri shell over `keyport-core`.
//!
//! - [`commands`]: what the window may call; metadata only, never a token or client secret.
//! - [`deep_links`]: `keyport://` sign-in callbacks from the system.
//! - [`watch`]: follows changes made elsewhere and notifies when an account needs reconnecting.
//! - [`browser`]: the system browser for sign-in pages.
//! - [`background`]: the tray, closing to it, and the "Open at login" switch.
//! - [`questions`]: "Allow this program to use this account?" for the agent, and the answers kept.
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
mod first_view;
mod questions;
mod state;
mod ui_error;
mod watch;

use tauri::Manager;

/// Serves `keyport token` from memory while the app runs, asking the user (see [`questions`]) before
/// a program it has not seen gets a token.
fn start_agent(app: &tauri::App) {
    let keyport = match commands::keyport() {
        Ok(k) => std::sync::Arc::new(k),
        Err(e) => {
            app.manage(questions::ConsentState::unavailable());
            tracing::warn!(error = %e.message, "the token agent is off");
            return;
        }
    };
    let has_accounts = || keyport.accounts().map(|a| !a.is_empty()).unwrap_or(true);
    let state = questions::ConsentState::open(keyport.home().data_dir(), has_accounts);
    let agent = state.book.clone().map(|book| {
        let asker = state.asker(app.handle().clone());
        let consent = keyport_core::Consent::new(book, asker, questions::timeout());
        keyport_core::Agent::with_consent(keyport, consent)
    });
    app.manage(state);
    let Some(agent) = agent else {
        tracing::warn!("the token agent is off: without the consent file it would ask nobody");
        return;
    };
    tauri::async_runtime::spawn(async move {
        if let Err(e) = agent.serve().await {
            tracing::warn!(error = %e, "the token agent stopped");
        }
    });
}

/// One running app per Keyport home (see `Home::instance_name`), named after the app's
/// identifier in tauri.conf.json.
fn instance_name(app_id: &str) -> String {
    match keyport_core::Home::from_env() {
        Ok(home) => home.instance_name(app_id),
        Err(_) => app_id.to_string(),
    }
}

/// The window, as tauri.conf.json describes it (`"create": false`: made here, where its first
/// view can be handed to it, see [`first_view`]), shown unless the app started hidden at login.
fn create_window(app: &tauri::App, first_view: Option<String>, show: bool) -> tauri::Result<()> {
    let Some(config) = app.config().app.windows.iter().find(|w| w.label == "main") else {
        return Ok(());
    };
    let mut window = tauri::WebviewWindowBuilder::from_config(app, config)?.visible(show);
    if let Some(script) = first_view {
        window = window.initialization_script(&script);
    }
    window.build()?;
    Ok(())
}

pub fn run() {
    // The window is a list and a few dialogs. WebKitGTK's accelerated compositing keeps backing
    // stores for composited layers in the web process, which such a page does not need: without
    // it the web process idles at 175 instead of 264 MiB here (docs/BENCHMARKS.md). A user's own
    // setting wins. Set before any thread starts (the environment is not thread-safe).
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    // The app keeps tokens in memory (its agent) for as long as it runs.
    keyport_core::forbid_memory_reads();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEYPORT_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let first_view = first_view::start_reading();
    let context = tauri::generate_context!();
    let instance = instance_name(&context.config().identifier);
    tauri::Builder::default()
        // First, so that a second instance exits before doing anything else. With the
        // `deep-link` feature it forwards the second instance's keyport:// URL to this one.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(instance)
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
            let show = background::setup(app)?;
            deep_links::setup(app);
            start_agent(app);
            create_window(app, first_view.script(app.handle()), show)?;
            watch::start(app.handle().clone());
            Ok(())
        })
        .on_window_event(background::on_window_event)
        .invoke_handler(bindings::handler())
        .build(context)
        .expect("the Keyport window could not start")
        .run(|_, event| {
            if let tauri::RunEvent::Exit = event {
                // The agent socket's path goes back to systemd's socket unit, where it runs.
                keyport_core::give_the_socket_back();
            }
        });
}

//! `keyport://oauth/callback` links from the system. The OS starts a second instance with the URL;
//! the single-instance plugin hands it to this one, where it completes the waiting sign-in whose
//! `state` it carries. A link that matches nothing is explained in the window; nothing is stored.

use crate::state::AppState;
use crate::ui_error::UiError;
use tauri::{App, AppHandle, Emitter, Manager};
use tauri_plugin_deep_link::DeepLinkExt;

pub fn setup(app: &mut App) {
    // Installed builds register the scheme at install time (the package's desktop entry);
    // registering at startup covers a binary run from anywhere else (Linux: a .desktop file of
    // the user's and `xdg-mime default`), and would shadow the package's entry if done there too.
    // Off the start-up path: on Linux it writes a desktop file and runs `xdg-mime`, which the
    // first paint need not wait for.
    #[cfg(any(target_os = "linux", all(debug_assertions, windows)))]
    if !installed_by_a_package() {
        let handle = app.handle().clone();
        std::thread::spawn(move || {
            if let Err(e) = handle.deep_link().register_all() {
                tracing::warn!(error = %e, "could not register the keyport:// scheme");
            }
        });
    }
    let handle = app.handle().clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            deliver(&handle, url.as_str());
        }
    });
    // Started by the OS with the link (no instance was running): the plugin saw it before the
    // handler above existed.
    if let Ok(Some(urls)) = app.deep_link().get_current() {
        for url in urls {
            deliver(app.handle(), url.as_str());
        }
    }
}

/// Packages put the app under `/usr` (the .deb's `/usr/bin/keyport-app`) and register the scheme
/// there; an AppImage or a build tree does not.
fn installed_by_a_package() -> bool {
    std::env::current_exe()
        .is_ok_and(|exe| exe.starts_with("/usr/") && std::env::var_os("APPIMAGE").is_none())
}

fn deliver(app: &AppHandle, url: &str) {
    let state = app.state::<AppState>();
    match state.deep_links.deliver(url) {
        Ok(()) => {
            tracing::info!("a sign-in link arrived");
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.set_focus();
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "refused a keyport:// link");
            let _ = app.emit(crate::bindings::events::NOTICE, UiError::from(e));
        }
    }
}

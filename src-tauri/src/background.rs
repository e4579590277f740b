//! Keyport without its window: a tray icon (accounts needing attention, Open, Quit), closing the
//! window hides it while the agent keeps serving and refreshing, and an "Open at login" switch that
//! starts the app hidden.
//!
//! Where nothing shows tray icons (no status-notifier host on the session bus, as under a bare X
//! server or some tiling window managers), a hidden window could never be found again, so closing
//! it quits, and the window says so.

use crate::ui_error::UiError;
use serde::Serialize;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Window, WindowEvent};
use tauri_plugin_autostart::ManagerExt;

/// The argument the login entry starts the app with: no window, the tray and the agent only.
pub const HIDDEN_ARG: &str = "--hidden";
const STATUS_ITEM: &str = "status";

/// What the window shows about running in the background.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Background {
    /// A tray icon is shown: closing the window keeps Keyport running.
    pub tray: bool,
    /// Keyport starts (hidden) when the user logs in.
    pub login_start: bool,
}

/// Kept by the app: whether the tray exists, and its status line to update.
pub struct Tray {
    present: bool,
    status: Option<MenuItem<tauri::Wry>>,
}

/// Whether anything on this desktop shows tray icons. On Linux that is a StatusNotifierWatcher on
/// the session bus (KDE, GNOME with the AppIndicator extension, waybar, xfce4-panel…).
#[cfg(target_os = "linux")]
fn tray_host_present() -> bool {
    if let Some(forced) = std::env::var_os("KEYPORT_TRAY") {
        return forced != "off";
    }
    let ask = || -> zbus::Result<bool> {
        let bus = zbus::blocking::Connection::session()?;
        let dbus = zbus::blocking::fdo::DBusProxy::new(&bus)?;
        Ok(dbus.name_has_owner("org.kde.StatusNotifierWatcher".try_into()?)?)
    };
    ask().unwrap_or(false)
}

#[cfg(not(target_os = "linux"))]
fn tray_host_present() -> bool {
    std::env::var_os("KEYPORT_TRAY").is_none_or(|forced| forced != "off")
}

/// Whether this start came from the login entry.
pub fn started_hidden() -> bool {
    std::env::args().skip(1).any(|a| a == HIDDEN_ARG)
}

/// Sets up the tray where a tray host exists; returns whether to show the window (not when
/// started at login with a tray to open it from).
pub fn setup(app: &tauri::App) -> tauri::Result<bool> {
    let present = tray_host_present();
    let mut status = None;
    if present {
        let line = MenuItem::with_id(app, STATUS_ITEM, "Keyport", false, None::<&str>)?;
        let open = MenuItem::with_id(app, "open", "Open Keyport", true, None::<&str>)?;
        let quit = MenuItem::with_id(app, "quit", "Quit Keyport", true, None::<&str>)?;
        let menu = Menu::with_items(app, &[&line, &open, &quit])?;
        let mut tray = TrayIconBuilder::with_id("keyport")
            .tooltip("Keyport")
            .menu(&menu)
            .on_menu_event(|app, event| match event.id.as_ref() {
                "open" => show(app),
                "quit" => app.exit(0),
                _ => {}
            });
        if let Some(icon) = app.default_window_icon() {
            tray = tray.icon(icon.clone());
        }
        tray.build(app)?;
        status = Some(line);
    } else {
        tracing::info!("no system tray on this desktop: closing the window quits Keyport");
    }
    app.manage(Tray { present, status });
    let hidden = started_hidden() && present;
    if hidden {
        tracing::info!("started at login: the window stays hidden until opened from the tray");
    }
    Ok(!hidden)
}

/// Shows and focuses the window (tray "Open", a second start of the app).
pub fn show(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Closing the window hides it when a tray can bring it back.
pub fn on_window_event(window: &Window, event: &WindowEvent) {
    if let WindowEvent::CloseRequested { api, .. } = event {
        if window.state::<Tray>().present {
            api.prevent_close();
            let _ = window.hide();
        }
    }
}

/// The tray's status line: how many accounts need attention, by the watcher's count.
pub fn set_attention(app: &AppHandle, needing: usize) {
    let tray = app.state::<Tray>();
    let Some(line) = &tray.status else { return };
    let _ = line.set_text(status_line(needing));
    if let Some(icon) = app.tray_by_id("keyport") {
        let _ = icon.set_tooltip(Some(status_line(needing)));
    }
}

fn status_line(needing: usize) -> String {
    match needing {
        0 => "All accounts are ready".to_string(),
        1 => "1 account needs attention".to_string(),
        n => format!("{n} accounts need attention"),
    }
}

pub fn status(app: &AppHandle) -> Background {
    Background {
        tray: app.state::<Tray>().present,
        login_start: app.autolaunch().is_enabled().unwrap_or(false),
    }
}

pub fn set_login_start(app: &AppHandle, on: bool) -> Result<Background, UiError> {
    let launcher = app.autolaunch();
    let result = if on { launcher.enable() } else { launcher.disable() };
    result.map_err(|e| UiError::other(format!("Keyport could not change its login start: {e}.")))?;
    Ok(status(app))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_status_line_counts_accounts() {
        assert_eq!(super::status_line(0), "All accounts are ready");
        assert_eq!(super::status_line(1), "1 account needs attention");
        assert_eq!(super::status_line(3), "3 accounts need attention");
    }
}

//! The window's first frame comes with its data. Asked for once the page had loaded, the five
//! parts it draws (accounts, recent uses, consent, services, background) took five IPC round trips
//! that usually landed after WebKit's first frame, and the frame after that one came 150-250 ms
//! later, which made the first paint 1.8x a minimal Tauri app's (docs/BENCHMARKS.md). So the
//! files are read on a thread while Tauri and WebKit start, and the result reaches the page as a
//! script that runs before its own code; the page draws from it, then asks again for anything
//! that changed meanwhile.
//!
//! It holds what the commands of the same names return (metadata only: no token, no secret).

use crate::background::Background;
use crate::questions::ConsentSettings;
use crate::ui_error::UiError;
use keyport_core::{AccountSummary, ProviderSummary, Use};
use serde::Serialize;
use tauri::AppHandle;

/// The global the page reads (once) its first view from.
const GLOBAL: &str = "__KEYPORT_FIRST_VIEW__";

/// What the window shows first, each part as its command answers it.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FirstView {
    pub accounts: Result<Vec<AccountSummary<'static>>, UiError>,
    pub uses: Result<Vec<Use>, UiError>,
    pub consent: Result<ConsentSettings, UiError>,
    pub providers: Result<Vec<ProviderSummary>, UiError>,
    pub background: Background,
    /// The desktop's interface font family, where the toolkit says (GTK on Linux). The page
    /// names it instead of `system-ui`, whose lookup cost WebKitGTK's first frame 150 ms here.
    pub font_family: Option<String>,
}

type Files = (
    Result<Vec<AccountSummary<'static>>, UiError>,
    Result<Vec<Use>, UiError>,
    Result<Vec<ProviderSummary>, UiError>,
);

/// The parts that need only Keyport's files, being read.
pub struct Reading(std::thread::JoinHandle<Files>);

/// Starts reading the files, off the main thread, which is about to start GTK and WebKit.
pub fn start_reading() -> Reading {
    Reading(std::thread::spawn(|| {
        (
            crate::commands::list_accounts(),
            crate::commands::recent_uses(),
            crate::commands::list_providers(),
        )
    }))
}

impl Reading {
    /// The script that hands the first view to the page, once the app's state (consent, tray)
    /// is set up. `None` if the reading failed: the page then asks for each part itself.
    pub fn script(self, app: &AppHandle) -> Option<String> {
        let (accounts, uses, providers) = self.0.join().ok()?;
        let view = FirstView {
            accounts,
            uses,
            consent: crate::questions::consent_settings(app.clone()),
            providers,
            background: crate::background::status(app),
            font_family: interface_font(),
        };
        Some(script(&view))
    }
}

/// The family of GTK's `gtk-font-name` ("Cantarell 11" → "Cantarell"). On the main thread, as
/// GTK wants (Tauri's setup runs there).
#[cfg(target_os = "linux")]
fn interface_font() -> Option<String> {
    use gtk::prelude::GtkSettingsExt;
    let name = gtk::Settings::default()?.gtk_font_name()?;
    let family = gtk::pango::FontDescription::from_string(&name).family()?;
    Some(family.to_string()).filter(|f| !f.is_empty())
}

#[cfg(not(target_os = "linux"))]
fn interface_font() -> Option<String> {
    None
}

/// JSON inside a JavaScript string literal: no text from a provider or a file can end the
/// literal or the statement (a JSON string is a valid JavaScript string literal).
fn script(view: &FirstView) -> String {
    let json = serde_json::to_string(view).expect("the first view serializes");
    let literal = serde_json::to_string(&json).expect("a string serializes");
    format!("window.{GLOBAL} = JSON.parse({literal});")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_stays_inside_the_string() {
        let view = FirstView {
            accounts: Err(UiError::other("\"); alert(1); (\"</script>\u{2028}")),
            uses: Ok(Vec::new()),
            consent: Err(UiError::other("x")),
            providers: Ok(Vec::new()),
            background: Background {
                tray: false,
                login_start: false,
            },
            font_family: Some("Sans\"; } body { color: red".into()),
        };
        let s = script(&view);
        let literal = s
            .strip_prefix("window.__KEYPORT_FIRST_VIEW__ = JSON.parse(")
            .and_then(|s| s.strip_suffix(");"))
            .unwrap();
        let json: String = serde_json::from_str(literal).unwrap();
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back["accounts"]["Err"]["message"],
            "\"); alert(1); (\"</script>\u{2028}"
        );
        assert_eq!(back["uses"]["Ok"], serde_json::json!([]));
    }
}

//! Opening sign-in and registration pages in the system browser, never in a webview. `$BROWSER`
//! wins when set, as in the CLI (and the tests use it to play the person at the browser).

use crate::ui_error::UiError;
use tauri::AppHandle;
use tauri_plugin_opener::OpenerExt;

pub fn open(app: &AppHandle, url: &str) -> Result<(), UiError> {
    if std::env::var_os("BROWSER").is_some_and(|b| !b.is_empty()) {
        let parsed = url::Url::parse(url).map_err(|e| UiError::other(format!("not a URL: {e}")))?;
        return keyport_core::open_browser(&parsed).map_err(UiError::other);
    }
    app.opener()
        .open_url(url, None::<&str>)
        .map_err(|e| UiError::other(format!("could not open the browser: {e}")))
}

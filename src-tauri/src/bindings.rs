//! What the window and the backend share by name: the commands it may call, the events it
//! listens to, and (generated in tests) the TypeScript types of everything that crosses, in
//! `ui/src/generated/bindings.ts`. The window imports names and types from there, so a renamed
//! command or a changed field fails a test instead of a click.

/// Events the backend sends to the window.
pub mod events {
    /// Another process (the CLI, a second window, the agent) changed the accounts.
    pub const ACCOUNTS_CHANGED: &str = "accounts-changed";
    /// The sign-in page could not be opened in a browser: a [`crate::commands::BrowserFailed`].
    pub const BROWSER_FAILED: &str = "browser-failed";
    /// Something happened outside a user action, such as a stale deep link: a `UiError`.
    pub const NOTICE: &str = "notice";
    /// A program asks for an account's token: a `keyport_core::Question` for the user.
    pub const CONSENT_ASKED: &str = "consent-asked";
    /// A question was answered or its program stopped waiting: the question's id.
    pub const CONSENT_ENDED: &str = "consent-ended";
    /// `keyport connect --device` shows a code to enter: a `keyport_core::DeviceCode`.
    pub const DEVICE_CODE: &str = "device-code";
}

macro_rules! commands {
    ($($module:ident :: $name:ident),* $(,)?) => {
        /// The commands the window may call, by the names it invokes them with.
        #[cfg_attr(not(test), allow(dead_code))]
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        /// The handler Tauri dispatches those names to.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$(crate::$module::$name),*]
        }
    };
}

commands!(
    commands::list_accounts,
    commands::list_providers,
    commands::recent_uses,
    commands::set_up_provider,
    commands::add_provider,
    commands::add_mcp_server,
    commands::open_registration_page,
    commands::connect,
    commands::cancel_connect,
    commands::retry_browser,
    commands::refresh_account,
    commands::revoke_account,
    commands::disconnect_account,
    commands::rename_account,
    commands::set_over_ssh,
    commands::painted,
    commands::background,
    commands::set_login_start,
    questions::answer_consent,
    questions::consent_settings,
    questions::forget_consent,
    questions::set_consent_asking,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{BrowserFailed, Disconnected};
    use crate::ui_error::UiError;
    use keyport_core::{AccountSummary, ErrorKind, ProviderSummary, RedirectKind, Status, Use, Variable};
    use ts_rs::TS;

    const GENERATED: &str = "ui/src/generated/bindings.ts";

    /// The file's text: every type the window receives, then the command and event names.
    fn render() -> String {
        let mut out = String::from(
            "// Generated from the Rust types by `cargo test -p keyport-app bindings` (src-tauri/src/bindings.rs).\n\
             // Do not edit: change the Rust side, then run that test with KEYPORT_BLESS=1.\n\n",
        );
        // Unix times and durations are far below 2^53: plain numbers, as JSON.parse gives them.
        let cfg = ts_rs::Config::new().with_large_int("number");
        let decls = [
            AccountSummary::decl(&cfg),
            ProviderSummary::decl(&cfg),
            Variable::decl(&cfg),
            RedirectKind::decl(&cfg),
            Status::decl(&cfg),
            ErrorKind::decl(&cfg),
            UiError::decl(&cfg),
            Use::decl(&cfg),
            Disconnected::decl(&cfg),
            keyport_core::RevocationOutcome::decl(&cfg),
            BrowserFailed::decl(&cfg),
            crate::background::Background::decl(&cfg),
            keyport_core::Question::decl(&cfg),
            keyport_core::Reply::decl(&cfg),
            keyport_core::DeviceCode::decl(&cfg),
            keyport_core::Decision::decl(&cfg),
            crate::questions::DecisionView::decl(&cfg),
            crate::questions::ConsentSettings::decl(&cfg),
            crate::first_view::FirstView::decl(&cfg),
            crate::commands::OrganizationSignIn::decl(&cfg),
        ];
        for decl in decls {
            out.push_str(&format!("export {decl}\n\n"));
        }
        out.push_str("/** The commands the window may call. */\nexport const Commands = {\n");
        for name in COMMANDS {
            out.push_str(&format!("  {name}: '{name}',\n"));
        }
        out.push_str("} as const;\n\n/** The events the backend sends. */\nexport const Events = {\n");
        for (key, name) in [
            ("accountsChanged", events::ACCOUNTS_CHANGED),
            ("browserFailed", events::BROWSER_FAILED),
            ("notice", events::NOTICE),
            ("consentAsked", events::CONSENT_ASKED),
            ("consentEnded", events::CONSENT_ENDED),
            ("deviceCode", events::DEVICE_CODE),
        ] {
            out.push_str(&format!("  {key}: '{name}',\n"));
        }
        out.push_str("} as const;\n");
        out
    }

    #[test]
    fn generated_typescript_matches_the_rust_types() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GENERATED);
        let expected = render();
        if std::env::var_os("KEYPORT_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &expected).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == expected,
            "{GENERATED} is stale: run `KEYPORT_BLESS=1 cargo test -p keyport-app bindings` and commit it"
        );
    }
}

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
    ($($module:ident :: $name:ident ($($arg:tt),*) $($async:ident)? -> $answer:ty),* $(,)?) => {
        /// The commands the window may call, by the names it invokes them with.
        #[cfg_attr(not(test), allow(dead_code))]
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        /// The handler Tauri dispatches those names to.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$(crate::$module::$name),*]
        }

        /// Each command's name and the TypeScript of what it resolves to. The answer written
        /// beside each name below must be what its function returns (or, `async`, what its future
        /// gives), for as many arguments as the `_`s say: the tests do not compile otherwise.
        #[cfg(test)]
        fn answers(cfg: &ts_rs::Config) -> Vec<(&'static str, String)> {
            vec![$({
                answers::check::<_, (answers::when!($($async)?), $($arg,)*), $answer>(crate::$module::$name);
                (stringify!($name), <$answer as answers::Settled>::typescript(cfg))
            }),*]
        }
    };
}

commands!(
    commands::list_accounts() -> Result<Vec<keyport_core::AccountSummary<'static>>, UiError>,
    commands::list_providers() -> Result<Vec<keyport_core::ProviderSummary>, UiError>,
    commands::recent_uses() -> Result<Vec<keyport_core::Use>, UiError>,
    commands::set_up_provider(_, _, _) -> Result<(), UiError>,
    commands::add_provider(_, _, _) async -> Result<keyport_core::ProviderSummary, UiError>,
    commands::add_mcp_server(_, _) async -> Result<keyport_core::ProviderSummary, UiError>,
    commands::open_registration_page(_, _) -> Result<(), UiError>,
    commands::connect(_, _, _, _) async -> Result<keyport_core::AccountSummary<'static>, UiError>,
    commands::cancel_connect(_, _) -> (),
    commands::retry_browser(_, _, _) -> Result<(), UiError>,
    commands::refresh_account(_) async -> Result<keyport_core::AccountSummary<'static>, UiError>,
    commands::revoke_account(_) async -> Result<keyport_core::AccountSummary<'static>, UiError>,
    commands::disconnect_account(_) async -> Result<crate::commands::Disconnected, UiError>,
    commands::rename_account(_, _) -> Result<keyport_core::AccountSummary<'static>, UiError>,
    commands::set_over_ssh(_, _) -> Result<keyport_core::AccountSummary<'static>, UiError>,
    commands::painted() -> (),
    commands::background(_) -> crate::background::Background,
    commands::set_login_start(_, _) -> Result<crate::background::Background, UiError>,
    questions::answer_consent(_, _, _) -> Result<(), UiError>,
    questions::consent_settings(_) -> Result<crate::questions::ConsentSettings, UiError>,
    questions::forget_consent(_, _, _) -> Result<crate::questions::ConsentSettings, UiError>,
    questions::set_consent_asking(_, _) -> Result<crate::questions::ConsentSettings, UiError>,
);

#[cfg(test)]
use crate::ui_error::UiError;

/// What a command's function gives, whatever its arguments, and what of it the window receives.
#[cfg(test)]
mod answers {
    use crate::ui_error::UiError;
    use std::future::Future;

    /// What a function returns, or what its future gives for an `async` one; `M` tells the two
    /// apart (and the arities), so that the impls do not overlap.
    pub trait Gives<M> {
        type Answer;
    }

    pub struct Now;
    pub struct Later;

    /// The marker of a command written with `async` or without.
    macro_rules! when {
        () => {
            $crate::bindings::answers::Now
        };
        (async) => {
            $crate::bindings::answers::Later
        };
    }
    pub(crate) use when;

    macro_rules! gives {
        ($($arg:ident),*) => {
            impl<F: Fn($($arg),*) -> R, R, $($arg),*> Gives<(Now, $($arg,)*)> for F {
                type Answer = R;
            }
            impl<F: Fn($($arg),*) -> Fut, Fut: Future, $($arg),*> Gives<(Later, $($arg,)*)> for F {
                type Answer = Fut::Output;
            }
        };
    }
    gives!();
    gives!(A);
    gives!(A, B);
    gives!(A, B, C);
    gives!(A, B, C, D);

    /// Compiles only when `f` gives `T`.
    pub fn check<F: Gives<M, Answer = T>, M, T>(_f: F) {}

    /// What the window's promise resolves to: the `Ok` of a `Result` (an `Err` rejects it as a
    /// `UiError`), or the plain value.
    pub trait Settled {
        fn typescript(cfg: &ts_rs::Config) -> String;
    }

    impl<T: ts_rs::TS> Settled for Result<T, UiError> {
        fn typescript(cfg: &ts_rs::Config) -> String {
            <T as ts_rs::TS>::name(cfg)
        }
    }

    impl Settled for () {
        fn typescript(_: &ts_rs::Config) -> String {
            "null".into()
        }
    }

    impl Settled for crate::background::Background {
        fn typescript(cfg: &ts_rs::Config) -> String {
            <Self as ts_rs::TS>::name(cfg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{BrowserFailed, Disconnected};
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
        out.push_str("} as const;\n\n/** What each command resolves to (an error rejects as a `UiError`). */\nexport type Answers = {\n");
        for (name, answer) in answers(&cfg) {
            out.push_str(&format!("  {name}: {answer},\n"));
        }
        out.push_str("};\n\n/** The events the backend sends. */\nexport const Events = {\n");
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

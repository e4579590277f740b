//! Bad input and failures: each gets a clear sentence and its documented exit code, and nothing
//! is stored or lost.

use keyport_test_support::{Env, Run};

/// Connects with the scripted browser in `mode`, starting from a home that already holds alice.
fn failed_connect(env: &Env, mode: &str, timeout: &str) -> Run {
    env.command(&["connect", "demo", "--timeout", timeout])
        .env("KEYPORT_TEST_BROWSER_MODE", mode)
        .env("KEYPORT_TEST_LOGIN", "mallory")
        .output()
        .unwrap()
        .into()
}

/// Alice's account and tokens are exactly as before, and nothing else was added.
fn assert_untouched(env: &Env, id: &str, before: &serde_json::Value) {
    let list = env.list();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["id"], id);
    assert_eq!(&env.keychain_item(id).unwrap(), before);
    assert_eq!(env.keychain.count(&env.service()), 1);
}

#[test]
fn wrong_state_is_rejected_and_nothing_is_stored() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let before = env.keychain_item(&id).unwrap();
    let run = failed_connect(&env, "wrong-state", "4");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("state does not match"), "{}", run.stderr);
    assert_untouched(&env, &id, &before);
}

#[test]
fn access_denied_shows_the_providers_reason() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let before = env.keychain_item(&id).unwrap();
    let run = failed_connect(&env, "deny", "20");
    assert_eq!(run.code, 6, "{run:?}");
    assert!(run.stderr.contains("access_denied"), "{}", run.stderr);
    assert!(
        run.stderr.contains("End-User aborted interaction"),
        "{}",
        run.stderr
    );
    assert_untouched(&env, &id, &before);
}

#[test]
fn no_callback_times_out() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let before = env.keychain_item(&id).unwrap();
    let run = failed_connect(&env, "ignore", "2");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("timed out after 2 s"), "{}", run.stderr);
    assert_untouched(&env, &id, &before);
}

#[test]
fn token_endpoint_error_is_reported() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let before = env.keychain_item(&id).unwrap();
    let run = failed_connect(&env, "bad-code", "20");
    assert_eq!(run.code, 6, "{run:?}");
    assert!(
        run.stderr.contains("code exchange failed: invalid_grant"),
        "{}",
        run.stderr
    );
    assert_untouched(&env, &id, &before);
}

#[test]
fn unusable_keychain_is_explained_and_nothing_is_lost() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let before = env.keychain_item(&id).unwrap();
    let accounts_before = env.accounts_file();

    // A session bus with nothing on it, and no session bus at all.
    for address in ["unix:path=/nonexistent/bus", ""] {
        let run: Run = env
            .command(&["token", &id])
            .env("DBUS_SESSION_BUS_ADDRESS", address)
            .output()
            .unwrap()
            .into();
        assert_eq!(run.code, 5, "{run:?}");
        assert!(
            run.stderr.contains("there is no D-Bus session bus"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
        let run: Run = env
            .command(&["connect", "demo", "--timeout", "5"])
            .env("DBUS_SESSION_BUS_ADDRESS", address)
            .output()
            .unwrap()
            .into();
        assert_eq!(
            run.code, 5,
            "connect checks the keychain before the sign-in: {run:?}"
        );
    }
    // A bus without a Secret Service provider.
    let bare = keyport_test_support::SessionKeychain::bus_only();
    let run: Run = env
        .command(&["token", &id])
        .env("DBUS_SESSION_BUS_ADDRESS", &bare.address)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 5, "{run:?}");
    assert!(run.stderr.contains("no OS keychain is running"), "{}", run.stderr);

    assert_eq!(env.accounts_file(), accounts_before);
    assert_untouched(&env, &id, &before);
    // Listing needs no keychain.
    let run: Run = env
        .command(&["list"])
        .env("DBUS_SESSION_BUS_ADDRESS", "")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn references_and_usage_errors_have_their_codes() {
    let env = Env::new(60);
    env.connect("alice");
    env.connect("bob");
    let ambiguous = env.run(&["token", "demo"]);
    assert_eq!(ambiguous.code, 3);
    assert!(
        ambiguous.stderr.contains("demo-1") && ambiguous.stderr.contains("demo-2"),
        "{}",
        ambiguous.stderr
    );
    assert_eq!(env.run(&["token", "nobody"]).code, 3);
    let unknown = env.run(&["connect", "nope"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("unknown provider"), "{}", unknown.stderr);
    let not_set_up = env.run(&["connect", "github"]);
    assert_eq!(not_set_up.code, 2);
    assert!(not_set_up.stderr.contains("client id"), "{}", not_set_up.stderr);
    assert_eq!(env.run(&["frobnicate"]).code, 2);
}

#[test]
fn a_damaged_provider_file_is_reported_and_accounts_survive() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let before = env.keychain_item(&id).unwrap();
    let file = env.home.path().join("config/providers.toml");
    let good = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, "[providers.demo\nissuer = ").unwrap();
    let run = env.run(&["list"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("providers.toml"), "{}", run.stderr);
    std::fs::write(&file, good).unwrap();
    assert_untouched(&env, &id, &before);
}

#[test]
fn a_locked_keychain_is_found_before_the_browser_opens() {
    let env = Env::new(60);
    // Lock the default collection; with no one to type the password, it stays locked.
    let locked = std::process::Command::new("dbus-send")
        .env("DBUS_SESSION_BUS_ADDRESS", &env.keychain.address)
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/aliases/default",
        ])
        .output()
        .unwrap();
    assert!(locked.status.success(), "{locked:?}");
    let argv = env.home.path().join("browser-argv");
    let run: Run = env
        .command(&["connect", "demo", "--timeout", "20"])
        .env("KEYPORT_TEST_BROWSER_ARGV", &argv)
        .output()
        .unwrap()
        .into();
    let run = run.fails(5, "the OS keychain is locked");
    assert!(!argv.exists(), "the browser was opened: {run:?}");
    assert_eq!(env.server.grants("authorization_code"), 0, "no grant was issued");
    assert!(env.list().as_array().unwrap().is_empty());
}

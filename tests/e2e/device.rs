//! Sign-in with a code (RFC 8628 device authorization grant) against `oidc-provider`: approved,
//! refused in the browser, and a code left to expire. The provider's `slow_down` answer is played
//! by the quirks server (`quirks.rs`), since `oidc-provider` never sends it.

use keyport_test_support::Env;

#[test]
fn a_device_sign_in_shows_a_code_and_connects_when_approved() {
    let env = Env::new(60);
    let argv = env.home.path().join("browser-argv");
    let run: keyport_test_support::Run = env
        .command(&["connect", "demo", "--device", "--json", "--timeout", "60"])
        .env("KEYPORT_TEST_BROWSER_ARGV", &argv)
        .output()
        .unwrap()
        .into();
    let run = run.ok();
    // The code and the address are shown for a person to type on any device.
    let code = run
        .stderr
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 9 && l.as_bytes()[4] == b'-')
        .unwrap_or_else(|| panic!("no user code shown: {}", run.stderr));
    assert!(
        run.stderr.contains(&format!("open {}/device", env.server.issuer)),
        "{}",
        run.stderr
    );
    assert!(!code.is_empty());
    // The browser was opened on a one-time local address: the code is on no command line, where
    // another user could read it and approve it first with her own account.
    let opened = std::fs::read_to_string(&argv).unwrap();
    assert!(opened.starts_with("http://127.0.0.1:"), "{opened}");
    assert!(
        !opened.contains(code),
        "the code on the browser's command line: {opened}"
    );
    let account = run.json();
    assert_eq!(account["nickname"], "alice@example.test");
    assert_eq!(account["status"], "ok");
    let id = account["id"].as_str().unwrap();
    let (access, _) = env.stored_tokens(id);
    assert_eq!(env.server.userinfo_status(&access), 200);
    assert_eq!(
        env.server.grants("urn:ietf:params:oauth:grant-type:device_code"),
        1
    );
    // The grant refreshes like any other.
    env.run(&["refresh", id]).ok();
    assert_eq!(env.server.grants("refresh_token"), 1);
}

#[test]
fn a_device_sign_in_refused_in_the_browser_says_so_and_stores_nothing() {
    let env = Env::new(60);
    env.run_with_browser("deny", &["connect", "demo", "--device", "--timeout", "60"])
        .fails(6, "refused in the browser");
    assert_eq!(env.list(), serde_json::json!([]));
}

#[test]
fn an_expired_device_code_is_reported() {
    let env = Env::new(60);
    env.add_providers(&format!(
        "\n[providers.short]\nissuer = \"{}\"\nclient_id = \"keyport-short-device\"\nscopes = [\"openid\"]\n",
        env.server.issuer
    ));
    env.run_with_browser("ignore", &["connect", "short", "--device", "--timeout", "60"])
        .fails(6, "code expired");
    assert_eq!(env.list(), serde_json::json!([]));
}

#[test]
fn a_provider_without_a_device_endpoint_is_refused_before_anything_happens() {
    let env = Env::new(60);
    let file = env.home.path().join("config/providers.toml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str(&format!(
        "\n[providers.nodevice]\nauthorization_url = \"{0}/auth\"\ntoken_url = \"{0}/token\"\nclient_id = \"keyport-test\"\n",
        env.server.issuer
    ));
    std::fs::write(&file, text).unwrap();
    let run = env.run(&["connect", "nodevice", "--device"]);
    // Exit 7: the provider cannot do that (a usage error, 2, before 0.2).
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(
        run.stderr.contains("does not offer sign-in with a code"),
        "{}",
        run.stderr
    );
}

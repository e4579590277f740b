//! Secret hygiene: with every log line on (`KEYPORT_LOG=trace`, dependencies included), no access
//! token, refresh token, ID token or authorization code appears in anything Keyport writes besides
//! `token`'s stdout and the keychain: stderr, error messages, the account file, the audit log.

use keyport_test_support::{Env, QuirksServer, Run};

/// Every secret is long enough to mean something, and none is in `written`.
#[track_caller]
fn assert_absent(written: &str, secrets: &[String], at_least: usize) {
    assert!(written.contains("TRACE"), "trace logging was on");
    assert!(secrets.len() >= at_least, "{} secrets collected", secrets.len());
    for secret in secrets {
        assert!(
            secret.len() >= 16,
            "too short to be a meaningful check: {secret:?}"
        );
        assert!(
            !written.contains(secret.as_str()),
            "a secret leaked into Keyport's output or files"
        );
    }
}

/// The account's tokens as the keychain holds them.
fn keychain_secrets(env: &Env, id: &str) -> Vec<String> {
    let item = env.keychain_item(id).unwrap_or_default();
    ["access_token", "refresh_token", "id_token"]
        .iter()
        .filter_map(|f| item[*f].as_str().map(str::to_string))
        .collect()
}

#[test]
fn secrets_never_reach_logs_files_or_errors() {
    let env = Env::new(60);
    let spy = env.home.path().join("codes.txt");
    let traced = |args: &[&str]| -> Run {
        env.command(args)
            .env("KEYPORT_LOG", "trace")
            .env("KEYPORT_TEST_BROWSER_SPY", &spy)
            .output()
            .unwrap()
            .into()
    };
    let mut secrets: Vec<String> = Vec::new();
    let mut written = String::new();

    let connect = traced(&["connect", "demo", "--timeout", "30"]).ok();
    secrets.extend(keychain_secrets(&env, "demo-1"));
    let token = traced(&["token", "demo-1", "--json"]).ok();
    let refresh = traced(&["refresh", "demo-1"]).ok();
    secrets.extend(keychain_secrets(&env, "demo-1"));
    let agent_token = {
        let _agent = env.agent();
        traced(&["token", "demo-1"]).ok()
    };
    let bad_state: Run = env
        .command(&["connect", "demo", "--timeout", "3"])
        .env("KEYPORT_LOG", "trace")
        .env("KEYPORT_TEST_BROWSER_MODE", "wrong-state")
        .env("KEYPORT_TEST_BROWSER_SPY", &spy)
        .output()
        .unwrap()
        .into();
    let bad_code: Run = env
        .command(&["connect", "demo", "--timeout", "20"])
        .env("KEYPORT_LOG", "trace")
        .env("KEYPORT_TEST_BROWSER_MODE", "bad-code")
        .output()
        .unwrap()
        .into();
    let revoke = traced(&["revoke", "demo-1"]).ok();
    let after = traced(&["token", "demo-1"]);
    assert_eq!(after.code, 4);

    for run in [
        &connect,
        &token,
        &refresh,
        &agent_token,
        &bad_state,
        &bad_code,
        &revoke,
        &after,
    ] {
        written.push_str(&run.stderr);
    }
    written.push_str(&refresh.stdout);
    written.push_str(&revoke.stdout);
    written.push_str(&env.accounts_file());
    written.push_str(&std::fs::read_to_string(env.home.path().join("data/audit.jsonl")).unwrap());
    let codes = std::fs::read_to_string(&spy).unwrap();
    secrets.extend(codes.lines().map(str::to_string));
    secrets.push(token.json()["access_token"].as_str().unwrap().to_string());
    secrets.push(agent_token.stdout.trim().to_string());
    assert_absent(&written, &secrets, 8);
}

/// The same for the quirk paths (tokens nested in the answer, kept fields, bearer revocation) and
/// a device sign-in, whose device code must stay between Keyport and the provider.
#[test]
fn quirk_and_device_sign_ins_leak_nothing_either() {
    let env = Env::new(60);
    let quirks = QuirksServer::start();
    env.add_providers(&quirks.preset_override(
        "slack",
        "slack",
        &[
            ("authorization_url", "authorize"),
            ("token_url", "token"),
            ("userinfo_url", "auth.test"),
            ("revocation_url", "auth.revoke"),
        ],
    ));
    env.add_providers(&format!(
        "\n[providers.qdevice]\nauthorization_url = \"{0}/device/authorize\"\ntoken_url = \"{0}/device/token\"\n\
         device_authorization_url = \"{0}/device/device_authorization\"\nclient_id = \"quirks-client\"\n",
        quirks.base
    ));
    let traced = |args: &[&str]| -> Run {
        env.command(args)
            .env("KEYPORT_LOG", "trace")
            .output()
            .unwrap()
            .into()
    };
    let mut secrets = Vec::new();
    let connect = traced(&["connect", "slack", "--json", "--timeout", "30"]).ok();
    secrets.extend(keychain_secrets(&env, "slack-1"));
    let refresh = traced(&["refresh", "slack-1", "--json"]).ok();
    secrets.extend(keychain_secrets(&env, "slack-1"));
    let device = traced(&["connect", "qdevice", "--device", "--json", "--timeout", "60"]).ok();
    secrets.extend(keychain_secrets(&env, "qdevice-1"));
    let disconnect = traced(&["disconnect", "slack-1"]).ok();
    // The authorization and device codes, as the server received them.
    for request in quirks.log()["requests"].as_array().unwrap() {
        for field in ["code", "device_code"] {
            if let Some(code) = request["params"][field].as_str() {
                secrets.push(code.to_string());
            }
        }
    }
    let mut written = String::new();
    for run in [&connect, &refresh, &device, &disconnect] {
        written.push_str(&run.stderr);
        written.push_str(&run.stdout);
    }
    written.push_str(&env.accounts_file());
    assert!(written.contains("Acme Corp"), "the kept fields were written");
    assert_absent(&written, &secrets, 8);
}

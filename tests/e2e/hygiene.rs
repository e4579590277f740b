//! Secret hygiene: with every log line on (`KEYPORT_LOG=trace`, dependencies included), no access
//! token, refresh token, ID token or authorization code appears in anything Keyport writes besides
//! `token`'s stdout and the keychain: stderr, error messages, the account file, the audit log.

use crate::support::{Env, Run};

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
    let mut remember = |env: &Env, id: &str| {
        if let Some(item) = env.keychain_item(id) {
            for field in ["access_token", "refresh_token", "id_token"] {
                if let Some(s) = item[field].as_str() {
                    secrets.push(s.to_string());
                }
            }
        }
    };
    let mut written = String::new();

    let connect = traced(&["connect", "demo", "--timeout", "30"]).ok();
    remember(&env, "demo-1");
    let token = traced(&["token", "demo-1", "--json"]).ok();
    let refresh = traced(&["refresh", "demo-1"]).ok();
    remember(&env, "demo-1");
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
    assert!(written.contains("TRACE"), "trace logging was on");
    written.push_str(&refresh.stdout);
    written.push_str(&revoke.stdout);
    written.push_str(&env.accounts_file());
    written.push_str(&std::fs::read_to_string(env.home.path().join("data/audit.jsonl")).unwrap());
    let codes = std::fs::read_to_string(&spy).unwrap();
    secrets.extend(codes.lines().map(str::to_string));
    secrets.push(token.json()["access_token"].as_str().unwrap().to_string());
    secrets.push(agent_token.stdout.trim().to_string());
    assert!(secrets.len() >= 8, "{} secrets collected", secrets.len());
    for secret in &secrets {
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

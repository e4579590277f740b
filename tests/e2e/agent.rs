//! The token agent (`keyport agent`, and the desktop app while it runs): tokens from memory, the
//! same output and exit codes as the keychain path, one refresher, and an audit of who asked.

use keyport_test_support::{Env, Run};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

#[test]
fn agent_answers_from_memory_with_the_same_output_and_exit_codes() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let direct = env.run(&["token", &id, "--json"]).ok().json();
    let missing_direct = env.run(&["token", "nobody"]);

    let agent = env.agent();
    let mode = std::fs::metadata(&agent.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only this user may talk to the agent");
    let via_agent = env.run(&["token", &id, "--json"]).ok().json();
    assert_eq!(via_agent, direct, "same JSON either way");

    let run = env.run_without_keychain(&["token", &id]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout.trim(), direct["access_token"].as_str().unwrap());

    let missing = env.run(&["token", "nobody"]);
    assert_eq!(
        (missing.code, &missing.stderr),
        (missing_direct.code, &missing_direct.stderr)
    );

    // A revoke by another process invalidates what the agent holds.
    env.run(&["revoke", &id]).ok();
    let revoked = env.run(&["token", &id]);
    assert_eq!(revoked.code, 4, "{revoked:?}");
    drop(agent);

    // Without the agent, the keychain path says the same.
    let revoked_direct = env.run(&["token", &id]);
    assert_eq!(
        (revoked_direct.code, &revoked_direct.stderr),
        (revoked.code, &revoked.stderr)
    );
}

#[test]
fn agent_refreshes_once_for_twenty_concurrent_callers() {
    let env = Env::new(6);
    let id = env.connect("alice");
    let _agent = env.agent();
    std::thread::sleep(Duration::from_secs(4));
    let tokens = env.concurrent_tokens(&id, 20);
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    assert_eq!(env.server.grants("refresh_token"), 1);
    assert_eq!(env.server.userinfo_status(&tokens[0]), 200);
    // The agent stored the rotated token: the keychain path agrees after it stops.
    assert_eq!(
        env.keychain_item(&id).unwrap()["access_token"].as_str().unwrap(),
        tokens[0]
    );
}

#[test]
fn every_token_use_is_audited_with_the_calling_program() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let keyport = env!("CARGO_BIN_EXE_keyport");
    // `; true` keeps the shell around as the caller instead of exec-ing keyport.
    let via_shell = format!("{keyport} token {id} >/dev/null; true");
    let shell = |cmd: &str| {
        let mut c = std::process::Command::new("sh");
        c.args(["-c", cmd]);
        for (k, v) in env.command(&[]).get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        assert!(c.status().unwrap().success());
    };
    shell(&via_shell);
    {
        let _agent = env.agent();
        shell(&via_shell);
    }
    let log = std::fs::read_to_string(env.home.path().join("data/audit.jsonl")).unwrap();
    let uses: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(uses.len(), 2, "{log}");
    for (u, via) in uses.iter().zip(["keychain", "agent"]) {
        assert_eq!(u["account"], id);
        assert_eq!(u["via"], via);
        let program = u["program"].as_str().unwrap();
        assert!(
            ["sh", "dash", "bash"].contains(&program),
            "the caller is the shell, not keyport: {program}"
        );
    }
    assert!(!log.contains(env.keychain_item(&id).unwrap()["access_token"].as_str().unwrap()));
}

#[test]
fn keyport_answers_from_the_agent_alone_and_hands_the_rest_to_keyport_full() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let bin = keyport_test_support::keyport_bin();
    let full = bin.with_file_name("keyport-full");
    let run = |program: &std::path::Path, args: &[&str]| -> Run {
        env.program(program).args(args).output().unwrap().into()
    };
    // keyport-full is the whole command: the same answers when run directly.
    let direct = env.run(&["token", &id, "--json"]).ok().json();
    assert_eq!(run(&full, &["token", &id, "--json"]).ok().json(), direct);
    // Usage lines name the command as typed, not the executable that parsed it.
    let help = env.run(&["token", "--help"]).ok();
    assert!(help.stdout.contains("Usage: keyport token"), "{}", help.stdout);

    // `keyport` copied alone: with the agent running it still hands out tokens (nothing else
    // is loaded for them); anything else says what is missing.
    let alone = tempfile::tempdir().unwrap();
    let lone = alone.path().join("keyport");
    std::fs::copy(&bin, &lone).unwrap();
    let agent = env.agent();
    let token = run(&lone, &["token", &id]).ok();
    assert_eq!(token.stdout.trim(), direct["access_token"].as_str().unwrap());
    run(&lone, &["list"]).fails(1, "keyport-full is missing");
    // Logging asked for: the full command's form, so it needs keyport-full too.
    let logged: Run = env
        .program(&lone)
        .args(["token", &id])
        .env("KEYPORT_LOG", "warn")
        .output()
        .unwrap()
        .into();
    logged.fails(1, "keyport-full is missing");
    drop(agent);
    // No agent: the keychain path is keyport-full's.
    run(&lone, &["token", &id]).fails(1, "keyport-full is missing");
}

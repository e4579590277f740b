//! Crashes: `kill -9` of the CLI at random points of connect, refresh and disconnect (seeded, so a
//! failure can be replayed). After each, the account file parses, the keychain and the file agree
//! (no orphan secret; no active account without its secret), and no other account is lost.

use keyport_test_support::Env;
use std::collections::BTreeSet;
use std::time::Duration;

/// xorshift64*: a small seeded generator, enough to spread kill points.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D) % n
    }
}

/// Account ids that have a keychain item in this home.
fn keychain_accounts(env: &Env) -> BTreeSet<String> {
    env.keychain
        .usernames(&env.service())
        .iter()
        .filter_map(|u| u.strip_prefix("account:"))
        .map(str::to_string)
        .collect()
}

/// Checks the invariants; `before` are the accounts that existed, `gone` the one allowed to vanish.
fn assert_consistent(env: &Env, before: &[String], gone: Option<&str>, context: &str) -> serde_json::Value {
    let after = env.run(&["list", "--json"]);
    assert_eq!(after.code, 0, "{context}: the account file must parse: {after:?}");
    let after = after.json();
    let in_file: BTreeSet<String> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    let in_keychain = keychain_accounts(env);
    for id in &in_keychain {
        assert!(in_file.contains(id), "{context}: orphan secret for {id}");
    }
    for a in after.as_array().unwrap() {
        let id = a["id"].as_str().unwrap();
        if a["status"] != "needs_reconnect" {
            assert!(
                in_keychain.contains(id),
                "{context}: active account {id} has no secret"
            );
        }
    }
    for id in before {
        assert!(
            in_file.contains(id) || gone == Some(id.as_str()),
            "{context}: account {id} was lost"
        );
    }
    after
}

fn ids(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_crash_between_any_two_writes_leaves_a_consistent_state() {
    let env = Env::new(3600);
    env.connect("alice");
    let points = [
        ("connect", "connect:placeholder-written"),
        ("connect", "connect:secret-stored"),
        ("refresh", "refresh:secret-stored"),
        ("revoke", "revoke:revoked"),
        ("revoke", "revoke:marked"),
        ("disconnect", "disconnect:revoked"),
        ("disconnect", "disconnect:marked"),
        ("disconnect", "disconnect:secret-deleted"),
    ];
    for (op, point) in points {
        // A fresh account each time, so that every point starts from an active account.
        let target = env.connect("bob");
        let before = ids(&env.list());
        let args: Vec<&str> = match op {
            "connect" => vec!["connect", "demo", "--timeout", "20"],
            _ => vec![op, &target],
        };
        let login = if op == "connect" { "carol" } else { "bob" };
        let run: keyport_test_support::Run = env
            .command(&args)
            .env("KEYPORT_TEST_CRASH_AT", point)
            .env("KEYPORT_TEST_LOGIN", login)
            .output()
            .unwrap()
            .into();
        assert_ne!(
            run.code, 0,
            "{point}: the process was meant to die there: {run:?}"
        );
        let gone = (op == "disconnect").then_some(target.as_str());
        let after = assert_consistent(&env, &before, gone, point);
        // Clean up: forget bob and anything interrupted.
        for a in after.as_array().unwrap() {
            if a["nickname"] != "alice@example.test" {
                env.run(&["disconnect", "--local-only", a["id"].as_str().unwrap()])
                    .ok();
            }
        }
    }
}

#[test]
fn kill_at_random_points_never_leaves_an_inconsistent_state() {
    let env = Env::new(3600);
    env.connect("alice");
    let seed = std::env::var("KEYPORT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let mut rng = Rng(seed);
    let trials = 100;
    let mut killed = 0;
    for trial in 0..trials {
        let accounts = ids(&env.list());
        let target = accounts[rng.below(accounts.len() as u64) as usize].clone();
        let (args, window_ms): (Vec<String>, u64) = match rng.below(4) {
            0 => (
                vec!["connect".into(), "demo".into(), "--timeout".into(), "20".into()],
                700,
            ),
            1 if accounts.len() > 1 => (vec!["disconnect".into(), target.clone()], 80),
            _ => (vec!["refresh".into(), target.clone()], 80),
        };
        let login = format!("user{}", rng.below(3));
        let delay = rng.below(window_ms);
        let mut child = env
            .command(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .env("KEYPORT_TEST_LOGIN", &login)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // Let a browser started by a killed connect finish or fail before the checks.
        std::thread::sleep(Duration::from_millis(if args[0] == "connect" { 400 } else { 0 }));

        let context = format!("trial {trial} (seed {seed}): {args:?} killed after {delay} ms");
        let gone = (args[0] == "disconnect").then_some(target.as_str());
        let after = assert_consistent(&env, &accounts, gone, &context);
        // Put interrupted accounts back in working order for the next trials (which need one).
        for a in after.as_array().unwrap() {
            if a["status"] == "needs_reconnect" {
                env.run(&["disconnect", "--local-only", a["id"].as_str().unwrap()])
                    .ok();
            }
        }
        if ids(&env.list()).is_empty() {
            env.connect("alice");
        }
    }
    assert!(
        killed >= trials / 3,
        "only {killed} of {trials} trials killed a running process"
    );
}

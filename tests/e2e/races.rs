//! Races against a provider that rotates refresh tokens and revokes the whole grant when a spent
//! one is reused (node oidc-provider): hundreds of refreshes from many processes must lose nothing.

use keyport_test_support::{Env, Run};
use std::process::Stdio;

/// Runs `keyport` from `workers` threads at once, `per_worker` times each, with the arguments
/// `call(worker, call)` names; every run must succeed.
fn race<'a>(
    env: &Env,
    workers: usize,
    per_worker: usize,
    call: impl Fn(usize, usize) -> [&'a str; 2] + Sync,
) {
    std::thread::scope(|scope| {
        for w in 0..workers {
            let call = &call;
            scope.spawn(move || {
                for i in 0..per_worker {
                    let run: Run = env
                        .command(&call(w, i))
                        .stdout(Stdio::piped())
                        .output()
                        .unwrap()
                        .into();
                    assert_eq!(run.code, 0, "worker {w}, call {i}: {run:?}");
                }
            });
        }
    });
}

#[test]
fn five_hundred_refreshes_from_racing_processes_lose_no_grant() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    // The desktop app's refresher (the agent) runs too: token reads go through it, and its cache
    // must follow every rotation the other processes make.
    let _agent = env.agent();
    // Forced refreshes, with token reads racing them from other workers.
    race(&env, 10, 60, |w, i| {
        if (w + i) % 6 == 5 {
            ["token", &id]
        } else {
            ["refresh", &id]
        }
    });
    let stats = env.server.stats();
    let refreshes = env.server.grants("refresh_token");
    assert_eq!(refreshes, 500, "every forced refresh reached the server");
    assert!(
        stats["errors"].as_object().unwrap().is_empty(),
        "no refresh token was ever reused: {stats}"
    );
    let (access, refresh) = env.stored_tokens(&id);
    assert!(env.server.is_active(&refresh), "the grant is alive");
    assert_eq!(env.server.userinfo_status(&access), 200);
}

#[test]
fn disconnect_racing_refreshes_leaves_nothing_behind() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let (_, first_refresh) = env.stored_tokens(&id);
    let refreshers: Vec<_> = (0..8)
        .map(|_| {
            env.command(&["refresh", &id])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let disconnect = env.run(&["disconnect", &id]);
    let outcomes: Vec<Run> = refreshers
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().into())
        .collect();
    assert_eq!(disconnect.code, 0, "{disconnect:?}");
    for run in &outcomes {
        // Before the disconnect a refresh succeeds; after it, the account is gone or going.
        assert!([0, 3, 4].contains(&run.code), "{run:?}");
    }
    assert_eq!(env.list().as_array().unwrap().len(), 0);
    assert_eq!(
        env.keychain.count(&env.service()),
        0,
        "no orphan secret in the keychain"
    );
    assert!(!env.server.is_active(&first_refresh));
    let stats = env.server.stats();
    let reused = stats["errors"]
        .as_object()
        .unwrap()
        .keys()
        .any(|k| k.contains("invalid_grant"));
    assert!(!reused, "no spent refresh token was sent: {stats}");
}

#[test]
fn many_processes_reading_the_keychain_at_once_keep_the_secret_service_up() {
    // No agent: every `keyport token` and `refresh` is a client of the Secret Service of its own.
    // gnome-keyring has a race in its client bookkeeping that aborts the daemon (and with it every
    // secret of the desktop session) when several clients talk to it at once and come and go
    // fast: 16 processes reading at once set it off about once in 20,000 reads, never when they
    // take turns (docs/BENCHMARKS.md). A crashed daemon fails every later call of this test.
    let env = Env::new(3600);
    let id = env.connect("alice");
    // Reads, and writes (a refresh stores the rotated tokens).
    race(&env, 16, 40, |w, i| {
        if (w + i) % 2 == 0 {
            ["token", &id]
        } else {
            ["refresh", &id]
        }
    });
    // The daemon is still there, with the item.
    assert!(!env.stored_tokens(&id).0.is_empty());
}

#[test]
fn keyport_processes_take_turns_at_the_secret_service() {
    // What keeps them clear of gnome-keyring's client race (above): a process that wants the
    // keychain waits while another Keyport process holds the turn.
    let env = Env::new(3600);
    let id = env.connect("alice");
    let turn = env.home.path().join("data/locks/keychain.lock");
    let held = std::fs::File::open(&turn).expect("the turn's lock file exists after a sign-in");
    held.lock().unwrap();
    let mut reader = env
        .command(&["token", &id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert!(
        reader.try_wait().unwrap().is_none(),
        "the keychain was read while another process held the turn"
    );
    held.unlock().unwrap();
    let run: Run = reader.wait_with_output().unwrap().into();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout.trim(), env.stored_tokens(&id).0);
}

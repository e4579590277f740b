//! The token agent (`keyport agent`, and the desktop app while it runs): tokens from memory, the
//! same output and exit codes as the keychain path, one refresher that backs off while refreshes
//! fail, and an audit of who asked.

use keyport_test_support::faults::FaultServer;
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

/// `keyport` brings its own start-up on Linux (src/main.rs): what Rust's would have done for a
/// closed descriptor and a closed pipe still holds.
#[test]
fn the_agent_path_survives_closed_descriptors_and_a_reader_that_leaves() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let _agent = env.agent();
    let keyport = env!("CARGO_BIN_EXE_keyport");
    let bash = |script: String| -> Run {
        env.program(std::path::Path::new("bash"))
            .args(["-c", &script])
            .output()
            .unwrap()
            .into()
    };
    // Standard output closed: the socket must not become descriptor 1, nor the token go anywhere.
    let closed = bash(format!(
        "{keyport} token {id} >&- 2>/dev/null; echo \"exit $?\" >&2"
    ));
    assert!(closed.stderr.contains("exit 0"), "{closed:?}");
    // All three closed: still an answer, and nothing written into the agent's socket (the agent
    // would answer it or close; the next call must still work).
    let none = bash(format!("{keyport} token {id} <&- >&- 2>&-; echo \"exit $?\" >&2"));
    assert!(none.stderr.contains("exit 0"), "{none:?}");
    // A reader that is gone before the token is written: no panic, no signal death.
    let gone = bash(format!(
        "exec 3>&1; {keyport} token {id} | (exec 0<&-; true); echo \"exit ${{PIPESTATUS[0]}}\" >&2"
    ));
    assert!(!gone.stderr.contains("panicked"), "{gone:?}");
    assert!(!gone.stderr.contains("exit 141"), "killed by SIGPIPE: {gone:?}");
    // The output is flushed on the way out (its own `main` returns through `exit`).
    let run = env.run(&["token", &id]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout.trim(),
        env.keychain_item(&id).unwrap()["access_token"].as_str().unwrap()
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
    // The program that asked is this test, which ran the shell: not the shell, nor keyport.
    let me = std::env::current_exe().unwrap();
    let me = me.file_name().unwrap().to_str().unwrap();
    for (u, via) in uses.iter().zip(["keychain", "agent"]) {
        assert_eq!(u["account"], id);
        assert_eq!(u["via"], via);
        assert_eq!(u["program"], me, "{u}");
        let through = u["through"].as_str().unwrap_or_default();
        assert!(
            ["sh", "dash", "bash"].contains(&through),
            "named with the shell: {u}"
        );
    }
    assert!(!log.contains(env.keychain_item(&id).unwrap()["access_token"].as_str().unwrap()));
}

/// Python's `os.system` runs its command through `/bin/sh`, and `env` only runs another program:
/// the use is Python's, named with what it came through, whichever of the two is in the way.
#[test]
fn a_program_that_asks_through_a_shell_or_a_launcher_is_the_one_named() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let keyport = env!("CARGO_BIN_EXE_keyport");
    let _agent = env.agent();
    for command in [
        format!("{keyport} token {id} >/dev/null; true"),
        format!("env nice {keyport} token {id} >/dev/null; true"),
    ] {
        let script = format!("import os, sys; sys.exit(os.system({command:?}) >> 8)");
        let run: Run = env
            .program(std::path::Path::new("/usr/bin/python3"))
            .args(["-c", &script])
            .output()
            .unwrap()
            .into();
        assert_eq!(run.code, 0, "{run:?}");
        let last = env.audit().last().unwrap().clone();
        assert!(last["program"].as_str().unwrap().starts_with("python3"), "{last}");
        assert!(last["exe"].as_str().unwrap().contains("python3"), "{last}");
        assert!(last["through"].as_str().is_some_and(|t| !t.is_empty()), "{last}");
    }
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

#[test]
fn exec_and_git_credential_hand_out_tokens_through_the_running_agent() {
    // The agent is where consent is asked (in the app): every command that hands out a token
    // goes through it while it runs, not only `token`.
    let env = Env::new(60);
    let file = env.home.path().join("config/providers.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(
            "[providers.demo]\n",
            "[providers.demo]\ngit_username = \"oauth2\"\n",
        ),
    )
    .unwrap();
    let id = env.connect("alice");
    let _agent = env.agent();
    let seen = env.home.path().join("seen");
    let script = format!("printf %s \"$KEYPORT_TOKEN\" > {}", seen.display());
    env.run(&["exec", &id, "--env", "KEYPORT_TOKEN", "--", "sh", "-c", &script])
        .ok();
    let port = env.server.issuer.rsplit(':').next().unwrap().to_string();
    let mut git = env
        .command(&["git-credential", "get"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        git.stdin.as_mut().unwrap(),
        format!("protocol=http\nhost=127.0.0.1:{port}\n\n").as_bytes(),
    )
    .unwrap();
    drop(git.stdin.take());
    let answer = String::from_utf8(git.wait_with_output().unwrap().stdout).unwrap();
    let token = std::fs::read_to_string(&seen).unwrap();
    assert!(
        !token.is_empty() && answer.contains(&format!("password={token}\n")),
        "{answer}"
    );
    let vias: Vec<String> = env
        .audit()
        .iter()
        .map(|u| u["via"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        vias,
        ["agent", "agent"],
        "exec and git-credential went through the agent"
    );
}

#[test]
fn while_the_app_runs_but_its_socket_is_out_of_reach_no_token_is_read_behind_its_back() {
    let env = Env::new(60);
    let id = env.connect("alice");
    // What the app's agent holds while it serves (it asks the person before a token goes out);
    // its socket is where this caller does not look (another XDG_RUNTIME_DIR, say).
    let lock = env.home.path().join("data/locks/asking-agent.lock");
    // `--close`: the lock stays with flock itself, so killing it releases the lock.
    let mut holder = std::process::Command::new("flock")
        .arg("--close")
        .arg(&lock)
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    // Until it holds the lock, a shared one can be taken.
    while std::process::Command::new("flock")
        .args(["--nonblock", "--shared"])
        .arg(&lock)
        .arg("true")
        .status()
        .unwrap()
        .success()
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    for args in [&["token", id.as_str()][..], &["exec", id.as_str(), "--", "true"]] {
        let run = env.run(args).fails(8, "app is running");
        assert!(run.stderr.contains("XDG_RUNTIME_DIR"), "{}", run.stderr);
        assert_eq!(run.stdout, "");
    }
    assert!(env.audit().is_empty(), "no token was handed out");
    let _ = holder.kill();
    let _ = holder.wait();
    // The app gone, the keychain path is the CLI's again.
    env.run(&["token", &id]).ok();
}

#[test]
fn keyport_full_is_found_where_packages_keep_helpers_and_must_be_the_same_version() {
    let env = Env::new(60);
    let bin = keyport_test_support::keyport_bin();
    let full = bin.with_file_name("keyport-full");
    // As a package lays them out: keyport on PATH, keyport-full under lib/keyport.
    let prefix = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(prefix.path().join("bin")).unwrap();
    std::fs::create_dir_all(prefix.path().join("lib/keyport")).unwrap();
    let keyport = prefix.path().join("bin/keyport");
    std::fs::copy(&bin, &keyport).unwrap();
    std::fs::copy(&full, prefix.path().join("lib/keyport/keyport-full")).unwrap();
    let listed: Run = env
        .program(&keyport)
        .args(["list", "--json"])
        .output()
        .unwrap()
        .into();
    assert_eq!(listed.ok().json(), serde_json::json!([]));
    // A keyport-full of another version than the keyport that runs it says so, and does nothing.
    let mixed: Run = env
        .program(&full)
        .args(["list"])
        .env("KEYPORT_FRONT_VERSION", "0.0.0-another")
        .output()
        .unwrap()
        .into();
    let mixed = mixed.fails(1, "different installs");
    assert!(
        mixed.stderr.contains("keyport 0.0.0-another and keyport-full"),
        "{}",
        mixed.stderr
    );
    assert_eq!(mixed.stdout, "");
}

/// Offline overnight: the background refresh fails at every sweep (every 30 s). The sweep tries
/// again at the next sweep after the first failure, then skips one after the second, instead of
/// asking the provider every time. Waits through three sweeps (75 s).
#[test]
fn the_refresh_sweep_backs_off_an_account_whose_refresh_keeps_failing() {
    // A token that has expired by the time the agent starts: every sweep tries to refresh it.
    let env = Env::new(2);
    let id = env.connect("alice");
    let provider = FaultServer::start();
    crate::faults::redirect_token_endpoint(&env, &provider.url);
    std::thread::sleep(Duration::from_secs(3));
    let _agent = env.agent();
    // Sweeps at 0, 30, 60 and 90 s; the first one's attempts (with its quick retries) are done
    // within 15 s.
    std::thread::sleep(Duration::from_secs(15));
    let per_sweep = provider.requests();
    assert!(per_sweep >= 1, "the first sweep tried to refresh");
    std::thread::sleep(Duration::from_secs(60));
    assert_eq!(
        provider.requests(),
        2 * per_sweep,
        "the sweeps at 0 and 30 s try, the one at 60 s leaves {id} alone"
    );
}

/// What `keyport token` costs in system calls when the agent answers, counted by `strace`: a
/// budget, not a timing, so it cannot flake. Programs run it on every request; the answer was
/// once read a byte per call (148 reads for a token), which nothing but a count shows.
#[test]
fn a_token_from_the_agent_costs_keyport_few_system_calls() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let _agent = env.agent();
    let counts = tempfile::NamedTempFile::new().unwrap();
    let mut command = env.program(std::path::Path::new("strace"));
    command
        .args(["-f", "-c", "-U", "calls,name", "-o"])
        .arg(counts.path())
        .arg(keyport_test_support::keyport_bin())
        .args(["token", &id]);
    let run: Run = command.output().unwrap().into();
    assert_eq!(run.ok().stdout.trim(), env.stored_tokens(&id).0);
    let table = std::fs::read_to_string(counts.path()).unwrap();
    let calls = |name: &str| -> u64 {
        table
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                Some((words.next()?.parse::<u64>().ok()?, words.next()?))
            })
            .filter(|(_, n)| *n == name)
            .map(|(c, _)| c)
            .sum()
    };
    let reads = calls("recvfrom") + calls("read") + calls("recvmsg");
    assert!(reads <= 4, "{reads} reads for one answer:\n{table}");
    let total = calls("total");
    // For `keyport` alone (its start, the home, the socket's checks, one request): 41 as
    // released (static), 65 as tests build it (the dynamic loader's mapping of libraries).
    // Handed over to `keyport-full`, or reading byte by byte, it would be hundreds.
    assert!(total > 0 && total <= 80, "{total} system calls:\n{table}");
}

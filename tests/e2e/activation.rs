//! The agent started by the first request (socket activation): systemd's own
//! `systemd-socket-activate` holds the agent's socket and starts `keyport agent` when a program
//! first connects, handing it the listening socket (`LISTEN_FDS`), as the package's
//! keyport-agent.socket does in a user session; later requests are served from memory, and the
//! agent leaves once idle.

use keyport_test_support::Env;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The command docs/integrations.md shows (`systemd-socket-activate -l SOCKET keyport agent
/// --idle-exit …`), listening at `socket`, passing this home's environment on (it passes only
/// what it is told to, as a systemd unit would); the agent's arguments are added by the caller.
fn activator(env: &Env, socket: &Path) -> std::process::Command {
    let documented =
        crate::integrations::doc_blocks("## The agent started by the first request (systemd)", "sh")
            .into_iter()
            .find(|b| b.starts_with("systemd-socket-activate"))
            .expect("the docs show the agent started by systemd-socket-activate");
    let words: Vec<&str> = documented.split_whitespace().collect();
    assert_eq!(words[..2], ["systemd-socket-activate", "-l"], "{documented}");
    assert_eq!(words[3..6], ["keyport", "agent", "--idle-exit"], "{documented}");
    let mut command = env.program(Path::new(words[0]));
    command.arg(words[1]).arg(socket);
    for name in ["HOME", "KEYPORT_HOME", "DBUS_SESSION_BUS_ADDRESS"] {
        let value = command
            .get_envs()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v)
            .expect("the home's environment")
            .to_owned();
        command
            .arg("-E")
            .arg(format!("{name}={}", value.to_string_lossy()));
    }
    command
}

#[test]
fn the_first_request_starts_the_agent_later_ones_are_served_from_memory_and_it_leaves_when_idle() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let stored = env.stored_tokens(&id).0;
    let socket = env.home.path().canonicalize().unwrap().join("data/agent.sock");
    let mut activator = activator(&env, &socket)
        .arg(keyport_test_support::keyport_bin())
        .args(["agent", "--idle-exit", "3s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !socket.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "systemd-socket-activate listens"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The program the activator's process runs now (its exe is hidden once the agent makes
    // itself non-dumpable).
    let program = || std::fs::read_to_string(format!("/proc/{}/comm", activator.id())).unwrap();
    assert!(
        program().starts_with("systemd-socket"),
        "nothing started before a request"
    );

    // The first request starts the agent (the keychain read once), in the activator's place.
    let first = env.run(&["token", &id]).ok().stdout;
    assert_eq!(first.trim(), stored);
    assert_eq!(program().trim(), "keyport-full", "the agent runs");
    // The second needs no keychain: the agent holds the token in memory.
    let second = env.run_without_keychain(&["token", &id]).ok().stdout;
    assert_eq!(second.trim(), stored);
    let uses = env.audit();
    assert!(
        uses.len() >= 2 && uses.iter().rev().take(2).all(|u| u["via"] == "agent"),
        "{uses:?}"
    );

    // Idle for its stated time, it leaves on its own, successfully.
    let start = Instant::now();
    let status = loop {
        if let Some(status) = activator.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the agent left when idle"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}");
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "not before its idle time"
    );
    // Nothing answers now: the keychain path, as without systemd.
    assert_eq!(env.run(&["token", &id]).ok().stdout.trim(), stored);
}

#[test]
fn a_socket_passed_for_another_path_is_refused_in_words() {
    let env = Env::new(3600);
    env.connect("alice");
    let elsewhere = env.home.path().join("elsewhere.sock");
    let mut activator = activator(&env, &elsewhere)
        .arg(keyport_test_support::keyport_bin())
        .arg("agent")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !elsewhere.exists() {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    let _client = std::os::unix::net::UnixStream::connect(&elsewhere).unwrap();
    let out = activator.wait_with_output_timeout();
    assert_eq!(out.0.code(), Some(8), "refused for safety: {}", out.1);
    assert!(out.1.contains("not at this home's agent socket"), "{}", out.1);
}

trait WaitWithTimeout {
    fn wait_with_output_timeout(&mut self) -> (std::process::ExitStatus, String);
}

impl WaitWithTimeout for std::process::Child {
    fn wait_with_output_timeout(&mut self) -> (std::process::ExitStatus, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > Duration::from_secs(15) {
                let _ = self.kill();
                panic!("the agent did not stop");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(self.stderr.as_mut().unwrap(), &mut err).unwrap();
        (status, err)
    }
}

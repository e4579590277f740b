//! The agent started by the first request (socket activation): systemd's own
//! `systemd-socket-activate` holds the agent's socket and starts `keyport agent` when a program
//! first connects, handing it the listening socket (`LISTEN_FDS`), as the package's
//! keyport-agent.socket does in a user session; later requests are served from memory, and the
//! agent leaves once idle. With a stand-in for systemd's socket unit (`socket_unit.rs`), which
//! keeps listening: requests across idle exits and new activations, and the app's agent taking the
//! path over and giving it back, none failing.

use crate::socket_unit::SocketUnit;
use keyport_test_support::Env;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
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
    env.systemd_socket_activate(socket)
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

/// Calls `keyport token` with the keychain out of reach (so only an agent can answer) until
/// `stop`, on `threads` threads; returns the failures (exit status and stderr) and the count.
fn hammer(env: &Env, id: &str, threads: usize, stop: &AtomicBool) -> (Vec<String>, usize) {
    let (failures, calls) = (Mutex::new(Vec::new()), AtomicUsize::new(0));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    let out = env
                        .command(&["token", id])
                        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
                        .output()
                        .unwrap();
                    calls.fetch_add(1, Ordering::SeqCst);
                    if !out.status.success() {
                        failures.lock().unwrap().push(format!(
                            "{}: {}",
                            out.status,
                            String::from_utf8_lossy(&out.stderr)
                        ));
                    }
                }
            });
        }
    });
    (failures.into_inner().unwrap(), calls.into_inner())
}

#[test]
fn requests_made_across_idle_exits_and_new_activations_all_get_their_token_from_an_agent() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let stored = env.stored_tokens(&id).0;
    let socket = env.home.path().canonicalize().unwrap().join("data/agent.sock");
    let unit = SocketUnit::listen(&env, &socket, &["--idle-exit", "1s"]);
    // Pauses around the idle time (1 s, checked every 250 ms): some calls come as the agent
    // decides to leave, some while it leaves, some once it is gone and the socket waits alone.
    let pauses = [0, 900, 1000, 1100, 1200, 1300, 1500, 950, 1050, 1250];
    let mut calls = 0;
    for pause in pauses.iter().cycle().take(24) {
        std::thread::sleep(Duration::from_millis(*pause));
        for _ in 0..2 {
            let out = env.run_without_keychain(&["token", &id]).ok().stdout;
            assert_eq!(out.trim(), stored);
            calls += 1;
        }
    }
    let activations = unit.activations.load(Ordering::SeqCst);
    assert!(
        activations >= 5,
        "the agent left when idle and came back: {activations} activations"
    );
    let uses = env.audit();
    assert_eq!(uses.len(), calls, "{uses:?}");
    assert!(uses.iter().all(|u| u["via"] == "agent"), "{uses:?}");
}

#[test]
fn an_agent_that_asks_takes_the_socket_over_and_hands_it_back_without_a_request_failing() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let socket = env.home.path().canonicalize().unwrap().join("data/agent.sock");
    let unit = SocketUnit::listen(&env, &socket, &["--idle-exit", "10m"]);
    let inode = |p: &Path| std::fs::metadata(p).map(|m| m.ino()).ok();
    let units_file = inode(&socket);
    let questions = env.home.path().join("questions");
    let stop = AtomicBool::new(false);
    let (failures, calls) = std::thread::scope(|scope| {
        let hammering = scope.spawn(|| hammer(&env, &id, 4, &stop));
        // Requests flow through the activated agent first.
        let start = Instant::now();
        while !unit.agent_runs() {
            assert!(start.elapsed() < Duration::from_secs(10), "no activation");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(500));
        // Then the app's agent (one that asks) starts and takes the path over, mid-stream.
        let mut app = asking_agent(&env, &questions, unit.systemctl_dir.path());
        let start = Instant::now();
        while inode(&socket) == units_file {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the asking agent did not take over"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let start = Instant::now();
        while unit.agent_runs() {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "the activated agent did not step aside"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(700));
        // The app quits, still hammered: the socket unit listens at the path again, the app's
        // file goes, and the next requests start an agent again.
        drop(app.stdin.take());
        assert!(app.wait().unwrap().success());
        let start = Instant::now();
        while unit.activations.load(Ordering::SeqCst) < 2 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no agent started after the app quit"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::SeqCst);
        hammering.join().unwrap()
    });
    assert!(
        failures.is_empty(),
        "{} of {calls} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    let asked = std::fs::read_to_string(&questions).unwrap_or_default();
    // The callers after the takeover were asked about (the program behind `keyport`: this test).
    assert!(
        asked.lines().count() > 0,
        "the app's agent answered, asking first: {asked:?}"
    );
    assert_eq!(
        unit.activations.load(Ordering::SeqCst),
        2,
        "one agent before the app, one after"
    );
}

/// The desktop app's agent, without its window: `keyport_core::Agent::with_consent` in a process
/// of its own (this test binary again, running `asking_agent_process`), whose asker notes each
/// question's program in `questions` and allows it once. It quits when its stdin closes, as the
/// app does on exit (`give_the_socket_back`, with `systemctl` from `systemctl_dir`).
fn asking_agent(env: &Env, questions: &Path, systemctl_dir: &Path) -> std::process::Child {
    let path = format!(
        "{}:{}",
        systemctl_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = env.program(&std::env::current_exe().unwrap());
    as_asking_agent(&mut command, questions);
    command.env("PATH", path).spawn().unwrap()
}

/// Has `command`, this test binary, run `asking_agent_process`, noting its questions in
/// `questions`; it quits when its stdin closes.
pub fn as_asking_agent(command: &mut std::process::Command, questions: &Path) {
    command
        .args([
            "activation::asking_agent_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KEYPORT_TEST_ASKING_AGENT", questions)
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
}

/// Not a test: the process `asking_agent` starts (ignored, so that a run of the suite neither
/// runs nor counts it).
#[test]
#[ignore = "the process asking_agent starts, not a test"]
fn asking_agent_process() {
    let Some(questions) = std::env::var_os("KEYPORT_TEST_ASKING_AGENT") else {
        return;
    };
    struct NoteAndAllow(std::path::PathBuf);
    impl keyport_core::Asker for NoteAndAllow {
        fn ask(
            &self,
            question: keyport_core::Question,
            reply: tokio::sync::oneshot::Sender<keyport_core::Reply>,
        ) {
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&self.0)
                .unwrap();
            std::io::Write::write_all(&mut file, format!("{}\n", question.program).as_bytes()).unwrap();
            let _ = reply.send(keyport_core::Reply::Once);
        }
        fn show_device_code(&self, _code: keyport_core::DeviceCode) {}
    }
    let keyport =
        std::sync::Arc::new(keyport_core::Keyport::open(keyport_core::Home::from_env().unwrap()).unwrap());
    // A first start with no account yet: the book asks.
    let book = keyport_core::ConsentBook::open(keyport.home().data_dir(), || false).unwrap();
    let consent = keyport_core::Consent::new(
        std::sync::Arc::new(book),
        std::sync::Arc::new(NoteAndAllow(questions.into())),
        Duration::from_secs(30),
    );
    let agent = keyport_core::Agent::with_consent(keyport, consent);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let serving = runtime.spawn(agent.serve());
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    assert!(!serving.is_finished(), "the agent stopped");
    // As the app on exit (src-tauri's RunEvent::Exit): its agent still serves meanwhile.
    keyport_core::give_the_socket_back();
}

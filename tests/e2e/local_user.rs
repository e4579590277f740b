//! Another user on the same machine: what they can see (a browser's command line) and what they
//! may have been able to change (a shared runtime directory, a pre-created home, umask 000) must
//! never let them connect their account in our place, learn which account is asked for, hand us a
//! token, or redirect a refresh token. The attacker's side runs as uid 65534 where it needs a
//! process of another user.

use keyport_test_support::{Env, Run};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().mode() & 0o777
}

pub(crate) fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[test]
fn the_browser_command_line_carries_no_state_or_challenge() {
    let env = Env::new(60);
    let argv = env.home.path().join("browser-argv");
    let run: Run = env
        .command(&["connect", "demo", "--json", "--timeout", "30"])
        .env("KEYPORT_TEST_BROWSER_ARGV", &argv)
        .output()
        .unwrap()
        .into();
    run.ok();
    let line = std::fs::read_to_string(&argv).unwrap();
    let rest = line
        .trim()
        .strip_prefix("http://127.0.0.1:")
        .expect("a local address");
    assert!(rest.split_once('/').unwrap().1.starts_with("start/"), "{line}");
    for secret in ["state", "code_challenge", "client_id", "redirect_uri"] {
        assert!(!line.contains(secret), "{secret} on the command line: {line}");
    }
}

#[test]
fn a_sign_in_address_opened_by_another_program_first_ends_the_sign_in() {
    let env = Env::new(60);
    let run = env.run_with_browser("raced", &["connect", "demo", "--timeout", "30"]);
    let run = run.fails(1, "opened more than once");
    assert!(run.stderr.contains("Nothing was connected"), "{}", run.stderr);
    assert_eq!(env.list().as_array().unwrap().len(), 0, "nothing stored");
    assert!(env.keychain_item("demo-1").is_none());
}

#[test]
fn an_agent_socket_served_by_another_user_is_refused_before_anything_is_sent() {
    if !running_as_root() {
        eprintln!("skipped: serving a socket as another user needs root");
        return;
    }
    let env = Env::new(60);
    let id = env.connect("alice");
    let data = env.home.path().canonicalize().unwrap().join("data");
    let socket = data.join("agent.sock");
    let heard = env.home.path().join("heard");
    std::fs::write(&heard, "").unwrap();
    std::fs::set_permissions(&heard, std::fs::Permissions::from_mode(0o666)).unwrap();
    // A fake agent: binds where ours would, becomes uid 65534, and records what it is told (into
    // a file it opened before, since as 65534 it could not open one in our private home).
    let fake = r#"
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
out = open(sys.argv[2], "ab", buffering=0)
os.setgid(65534); os.setuid(65534)
s.listen(4)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(2)
    try:
        data = c.recv(4096)
    except Exception:
        data = b""
    out.write(data)
    try:
        c.sendall(b'{"answer":"token","token":"ATTACKER-TOKEN","account":"demo-1","expires_at":null}\n')
    except OSError:
        pass  # the client left at once: what a careful client does
    c.close()
"#;
    let mut server = std::process::Command::new("python3")
        .args(["-c", fake])
        .arg(&socket)
        .arg(&heard)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.as_mut().unwrap()),
        &mut ready,
    )
    .unwrap();
    let run = env.run(&["token", &id]);
    // The fake agent hears what a client sends it: a client that skipped the check would have
    // been heard, as this one is.
    let mut control = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    std::io::Write::write_all(&mut control, b"control\n").unwrap();
    let mut answer = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(&control), &mut answer).unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let run = run.fails(8, "runs as user 65534");
    assert!(!run.stdout.contains("ATTACKER-TOKEN"), "{run:?}");
    assert_eq!(
        std::fs::read_to_string(&heard).unwrap(),
        "control\n",
        "the fake agent learned nothing from keyport"
    );
}

#[test]
fn a_directory_another_user_owns_or_may_write_to_is_refused() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let data = env.home.path().join("data");
    // Writable by everyone (umask 000, or someone else's doing): refused, and left as it is.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = env.run(&["token", &id]).fails(8, "other users may write to it");
    assert!(run.stdout.is_empty());
    assert_eq!(mode(&data), 0o777);
    // Readable by others (an older Keyport under umask 022): tightened, and used.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.run(&["token", &id]).ok();
    assert_eq!(mode(&data), 0o700);
    if running_as_root() {
        // A home that another user created for us beforehand.
        std::os::unix::fs::chown(&data, Some(65534), Some(65534)).unwrap();
        env.run(&["token", &id]).fails(8, "belongs to user 65534");
    }
}

#[test]
fn files_are_owner_only_under_umask_000_and_links_are_not_followed() {
    let env = Env::new(60);
    let keyport = env!("CARGO_BIN_EXE_keyport");
    let umask_000 = |args: &[&str]| -> Run {
        let mut all = vec!["-c", "umask 000; exec \"$@\"", "sh", keyport];
        all.extend_from_slice(args);
        env.program(Path::new("/bin/sh"))
            .args(&all)
            .output()
            .unwrap()
            .into()
    };
    // A fresh home, made entirely under umask 000.
    std::fs::remove_dir_all(env.home.path().join("data")).ok();
    let config = env.home.path().join("config");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o700)).unwrap();
    let id = umask_000(&["connect", "demo", "--json", "--timeout", "30"])
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    umask_000(&["token", &id]).ok();
    let data = env.home.path().join("data");
    for dir in [&data, &data.join("locks")] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }
    for file in [
        "accounts.json",
        "audit.jsonl",
        "locks/accounts.lock",
        "locks/audit.lock",
    ] {
        let path = data.join(file);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{file}");
        }
    }
    assert_eq!(mode(&data.join("accounts.json")), 0o600);
    assert_eq!(mode(&data.join("audit.jsonl")), 0o600);

    // A link planted at the audit log is not followed: the token is still handed out, and the
    // link's target is untouched.
    let target = env.home.path().join("someone-elses-file");
    std::fs::write(&target, "theirs\n").unwrap();
    std::fs::remove_file(data.join("audit.jsonl")).unwrap();
    std::os::unix::fs::symlink(&target, data.join("audit.jsonl")).unwrap();
    env.run(&["token", &id]).ok();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "theirs\n");
}

/// CPU time (user + system) of process `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Holds `n` idle connections open for two seconds and returns the CPU ticks `pid` spent meanwhile.
fn cpu_while_flooded(pid: u32, connect: impl Fn() -> Option<Box<dyn std::any::Any>>, n: usize) -> u64 {
    let idle: Vec<_> = (0..n).filter_map(|_| connect()).collect();
    let before = cpu_ticks(pid);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let spent = cpu_ticks(pid) - before;
    drop(idle);
    spent
}

#[test]
fn idle_connections_neither_spin_nor_stop_the_agent() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let socket = env.home.path().canonicalize().unwrap().join("data/agent.sock");
    // The agent with a small descriptor table, which idle clients then fill.
    let mut agent = env
        .program(Path::new("prlimit"))
        .args(["--nofile=40:40", "--", env!("CARGO_BIN_EXE_keyport"), "agent"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(start.elapsed().as_secs() < 20, "the agent did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let connect = || {
        std::os::unix::net::UnixStream::connect(&socket)
            .ok()
            .map(|s| Box::new(s) as Box<dyn std::any::Any>)
    };
    let spent = cpu_while_flooded(agent.id(), connect, 120);
    assert!(agent.try_wait().unwrap().is_none(), "the agent exited");
    // A busy loop on accept would spend about 200 ticks in those two seconds.
    assert!(spent < 50, "the agent spent {spent} ticks of CPU while flooded");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let run = env.run_without_keychain(&["token", &id]);
    let _ = agent.kill();
    let _ = agent.wait();
    assert_eq!(run.code, 0, "the agent still serves: {run:?}");
}

#[test]
fn idle_connections_neither_spin_nor_stop_a_waiting_sign_in() {
    let env = Env::new(60);
    let keyport = env!("CARGO_BIN_EXE_keyport");
    let mut child = env
        .program(Path::new("prlimit"))
        .args([
            "--nofile=40:40",
            "--",
            keyport,
            "connect",
            "demo",
            "--no-browser",
            "--timeout",
            "30",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    let url = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find_map(|l| l.trim().starts_with("http").then(|| l.trim().to_string()))
        .expect("the sign-in URL is printed");
    std::thread::spawn(move || lines.for_each(drop));
    let redirect = url
        .split("redirect_uri=http%3A%2F%2F127.0.0.1%3A")
        .nth(1)
        .unwrap();
    let port: u16 = redirect.split('%').next().unwrap().parse().unwrap();
    let connect = || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .map(|s| Box::new(s) as Box<dyn std::any::Any>)
    };
    let spent = cpu_while_flooded(child.id(), connect, 120);
    assert!(
        spent < 50,
        "the listener spent {spent} ticks of CPU while flooded"
    );
    // The person's browser still gets through once the idle connections are gone.
    let browser = env
        .program(&keyport_test_support::repo_root().join("tests/oidc-server/browser"))
        .arg(&url)
        .status()
        .unwrap();
    assert!(browser.success());
    assert!(child.wait().unwrap().success(), "the sign-in completed");
    assert_eq!(env.list().as_array().unwrap().len(), 1);
}

#[test]
fn the_audit_log_names_programs_by_their_executable_not_their_name() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let agent = env.agent();
    // A copy of python that calls itself `keyport` and asks the agent directly: it is not
    // Keyport's CLI, so it is recorded as itself, with its path, not as its parent.
    let fake = env.home.path().join("keyport");
    std::fs::copy(
        std::fs::canonicalize("/usr/bin/python3").unwrap_or_else(|_| "/usr/bin/python3".into()),
        &fake,
    )
    .unwrap();
    let ask = format!(
        "import socket; s = socket.socket(socket.AF_UNIX); s.connect({:?}); \
         s.sendall(b'{{\"account\": \"{id}\", \"min_ttl\": 0}}\\n'); print(s.recv(4096))",
        agent.socket.display().to_string()
    );
    let out = std::process::Command::new(&fake)
        .args(["-c", &ask])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("token"), "{out:?}");
    // The real CLI, run by a shell: recorded as the program behind the shell (this test), with
    // the shell it came through, Keyport's own process skipped; also in a form `keyport` hands to
    // `keyport-full` (logging on): the same, not keyport-full.
    for vars in ["", "KEYPORT_LOG=warn "] {
        let script = format!("{vars}{} token {id} >/dev/null", env!("CARGO_BIN_EXE_keyport"));
        let run: Run = env
            .program(Path::new("/bin/sh"))
            .args(["-c", &script])
            .output()
            .unwrap()
            .into();
        run.ok();
    }
    drop(agent);
    let log = std::fs::read_to_string(env.home.path().join("data/audit.jsonl")).unwrap();
    let uses: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let by_fake = &uses[uses.len() - 3];
    assert_eq!(by_fake["program"], "keyport", "{by_fake}");
    assert_eq!(
        by_fake["exe"].as_str().unwrap(),
        fake.canonicalize().unwrap().to_str().unwrap(),
        "{by_fake}"
    );
    let shell = std::fs::canonicalize("/bin/sh").unwrap();
    let me = std::env::current_exe().unwrap();
    for by_shell in &uses[uses.len() - 2..] {
        assert_eq!(
            by_shell["exe"].as_str().unwrap(),
            me.to_str().unwrap(),
            "{by_shell}"
        );
        assert_eq!(
            by_shell["through"].as_str().unwrap(),
            shell.file_name().unwrap().to_str().unwrap(),
            "{by_shell}"
        );
        assert!(by_shell["parent_exe"].is_string(), "{by_shell}");
    }
}

/// Without capabilities: how a process of an ordinary user runs. As root, the kernel lets a
/// process with fewer capabilities read none of another's memory whatever it asks, which would
/// hide the answer; so both sides drop theirs.
pub(crate) const NO_CAPABILITIES: &[&str] = &["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"];

/// Whether a process of the test's own user, without capabilities, can open `/proc/<pid>/environ`:
/// read from the process's memory under the kernel's ptrace check, as `/proc/<pid>/mem` is (which
/// cannot be read at offset 0 even when opening it is allowed).
pub(crate) fn memory_readable(pid: u32) -> bool {
    let path = format!("/proc/{pid}/environ");
    let wrapper: &[&str] = if running_as_root() { NO_CAPABILITIES } else { &[] };
    let mut command = std::process::Command::new(wrapper.first().copied().unwrap_or("head"));
    if !wrapper.is_empty() {
        command.args(&wrapper[1..]).arg("head");
    }
    command
        .args(["-c", "1", &path])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn the_agents_memory_is_not_readable_by_other_processes_of_the_user() {
    let env = Env::new(60);
    env.connect("alice");
    let wrapper: &[&str] = if running_as_root() { NO_CAPABILITIES } else { &[] };
    // A process of the same user that did not protect itself: readable, so the check is real.
    let mut control = std::process::Command::new(wrapper.first().copied().unwrap_or("sleep"));
    if !wrapper.is_empty() {
        control.args(&wrapper[1..]).arg("sleep");
    }
    let mut control = control.arg("30").spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200)); // past setpriv's exec
    assert!(memory_readable(control.id()), "the check itself is broken");
    let _ = control.kill();
    let _ = control.wait();
    let agent = env.agent_via(wrapper);
    assert!(
        !memory_readable(agent.pid()),
        "another process of the user could read the agent's memory"
    );
}

#[test]
fn another_user_who_asks_for_the_sign_in_address_first_gets_nothing_and_the_browser_completes() {
    if !running_as_root() {
        eprintln!("skipped: playing another user needs root");
        return;
    }
    let env = Env::new(60);
    let seen = env.home.path().join("other-user");
    let run: Run = env
        .command(&["connect", "demo", "--json", "--timeout", "30"])
        .env("KEYPORT_TEST_BROWSER_MODE", "other-user-first")
        .env("KEYPORT_TEST_OTHER_USER_OUT", &seen)
        .output()
        .unwrap()
        .into();
    let run = run.ok();
    // Her requests were dropped unread: curl saw the connection close with no answer (52), never
    // an HTTP status, so she learned no state or challenge and delivered nothing.
    let seen = std::fs::read_to_string(&seen).unwrap();
    for line in seen.lines() {
        assert!(
            line.starts_with("52 ") || line.starts_with("56 "),
            "she got an answer: {seen}"
        );
        assert!(line.ends_with(" 000"), "she got an HTTP status: {seen}");
    }
    assert_eq!(
        run.json()["nickname"],
        "alice@example.test",
        "the real browser completed"
    );
}

#[test]
fn another_user_holding_many_connections_does_not_block_a_sign_in() {
    if !running_as_root() {
        eprintln!("skipped: playing another user needs root");
        return;
    }
    let env = Env::new(60);
    let run = env.run_with_browser(
        "other-user-floods",
        &["connect", "demo", "--json", "--timeout", "20"],
    );
    assert_eq!(run.ok().json()["nickname"], "alice@example.test");
}

#[test]
fn a_crashed_agent_leaves_no_core_file_with_its_tokens() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let Some(cores) = CoreDir::proven(&env) else {
        return;
    };
    let agent = env.agent_via(&cores.wrapper());
    let token = env.run(&["token", &id]).ok().stdout;
    assert!(!token.trim().is_empty(), "the agent holds a token");
    crash(agent.pid());
    let start = std::time::Instant::now();
    while std::path::Path::new(&format!("/proc/{}/exe", agent.pid())).exists()
        && std::fs::read_to_string(format!("/proc/{}/stat", agent.pid())).is_ok_and(|s| !s.contains(") Z "))
    {
        assert!(start.elapsed().as_secs() < 10, "the agent did not crash");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(cores.count(), 0, "the crashed agent wrote a core file");
}

/// A working directory where a crashing process writes its core file (of any size), once a
/// process that did not protect itself was seen to leave one there: the check is real on this
/// machine. `None`, said on stderr, where the kernel writes cores elsewhere.
pub(crate) struct CoreDir {
    dir: tempfile::TempDir,
    text: String,
}

impl CoreDir {
    pub(crate) fn proven(env: &Env) -> Option<CoreDir> {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().to_str().unwrap().to_string();
        let cores = CoreDir { dir, text };
        let mut control = env.program(std::path::Path::new("sh"));
        let mut control = control
            .args(&cores.wrapper()[1..])
            .arg("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        crash(control.id());
        let _ = control.wait();
        std::thread::sleep(std::time::Duration::from_millis(300));
        if cores.count() == 0 {
            let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
            eprintln!(
                "skipped: this machine writes no core file into the working directory (core_pattern {pattern:?})"
            );
            return None;
        }
        for entry in std::fs::read_dir(cores.dir.path()).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        Some(cores)
    }

    /// A command line that runs the rest of it in this directory, with no limit on core files.
    pub(crate) fn wrapper(&self) -> [&str; 4] {
        [
            "sh",
            "-c",
            "cd \"$0\" && ulimit -c unlimited && exec \"$@\"",
            &self.text,
        ]
    }

    /// The core files written here.
    pub(crate) fn count(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("core"))
            .count()
    }
}

/// Sends SIGABRT to `pid`, as a failed assertion or a double free would: its default action
/// writes a core file. (Not SIGSEGV: Rust's own handler for it lets a process that did not
/// really fault go on.)
pub(crate) fn crash(pid: u32) {
    let sent = std::process::Command::new("kill")
        .args(["-ABRT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Another user who connects to the sign-in listener as fast as she can, to keep its accept queue
/// full ahead of the browser, does not stall the sign-in: her connections are taken from the queue
/// and dropped as fast as they come, each for one question to the kernel. (Reading the kernel's
/// whole TCP table for each one let her queue hold the browser back for over a minute.) The time
/// from the browser's first request to the answer is printed; docs/BENCHMARKS.md keeps figures.
#[test]
fn another_user_filling_the_listen_queue_does_not_stall_a_sign_in() {
    if !running_as_root() {
        eprintln!("skipped: playing another user needs root");
        return;
    }
    let env = Env::new(60);
    let timing = env.home.path().join("timing");
    let run: Run = env
        .command(&["connect", "demo", "--json", "--timeout", "20"])
        .env("KEYPORT_TEST_BROWSER_MODE", "other-user-fills-queue")
        .env("KEYPORT_TEST_BROWSER_TIMING", &timing)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.ok().json()["nickname"], "alice@example.test");
    let ms = std::fs::read_to_string(&timing).unwrap_or_default();
    eprintln!("sign-in with another user filling the listen queue: {ms} ms from the browser's first request");
}

/// A `keyport` kept one level under a shared directory (an unpacked release under `/tmp`) looks
/// for its helper in `<that directory>/lib/keyport/`, where another user may have put one: hers is
/// never run. Beside `keyport` there is Keyport's own, which then runs; without it, the refusal
/// says why.
#[test]
fn a_helper_another_user_put_where_keyport_looks_is_never_run() {
    use std::os::unix::fs::PermissionsExt;
    if !running_as_root() {
        eprintln!("skipped: playing another user needs root");
        return;
    }
    let env = Env::new(60);
    // A shared directory like /tmp: anyone may write, no one may replace another's files.
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let release = shared.path().join("keyport-release");
    std::fs::create_dir(&release).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_keyport"), release.join("keyport")).unwrap();
    // Hers: a directory and a helper of uid 65534, which would leave a mark if it ever ran.
    let planted_dir = shared.path().join("lib/keyport");
    std::fs::create_dir_all(&planted_dir).unwrap();
    let mark = shared.path().join("ran");
    let planted = planted_dir.join("keyport-full");
    std::fs::write(&planted, format!("#!/bin/sh\necho ran > {}\n", mark.display())).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o755)).unwrap();
    for path in [shared.path().join("lib"), planted_dir.clone(), planted.clone()] {
        let chowned = std::process::Command::new("chown")
            .arg("65534:65534")
            .arg(&path)
            .status()
            .unwrap();
        assert!(chowned.success());
    }

    let refused = env
        .program(&release.join("keyport"))
        .arg("list")
        .output()
        .unwrap();
    let refused: Run = refused.into();
    assert!(!mark.exists(), "her helper ran");
    refused.fails(1, "belongs to user 65534");

    std::fs::copy(env!("CARGO_BIN_EXE_keyport-full"), release.join("keyport-full")).unwrap();
    let run: Run = env
        .program(&release.join("keyport"))
        .args(["list", "--json"])
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!mark.exists(), "her helper ran");
}

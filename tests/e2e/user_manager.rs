//! The agent's units as the package ships them (packaging/keyport-agent.socket and
//! keyport-agent.service), under a real systemd user manager (`systemd --user`), as a login
//! session runs them: the socket enabled, the service started by the first `keyport token`,
//! leaving when idle, started again by the next request, and the socket handed back by an agent
//! that asks (the app's) when it quits, through the real `systemctl`.
//!
//! The test machines' PID 1 is not systemd, and `systemd --user` refuses to run unless
//! /run/systemd/system exists. So the manager runs in a mount namespace of its own, where an
//! empty directory stands there (root may make one, as the local-attacker tests need root too),
//! and everything the test runs (`keyport`, the asking agent) enters that namespace, so that all
//! see the same files. The home is Keyport's default one (no KEYPORT_HOME), under this test's own
//! XDG directories, because the socket unit listens where the default home's agent does.

use crate::activation::as_asking_agent;
use keyport_test_support::{keyport_bin, repo_root, Env};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SYSTEMD: &str = "/lib/systemd/systemd";

struct UserManager {
    dir: tempfile::TempDir,
    manager: Child,
}

impl UserManager {
    /// Starts a user manager with the shipped units in its search path (the service's command
    /// changed by a drop-in, as an administrator would: this build's `keyport`, idle after 3 s),
    /// once `connect` has added an account to the default home.
    fn start(env: &Env) -> UserManager {
        let dir = tempfile::tempdir().unwrap();
        for d in [
            "run",
            "config/systemd/user/keyport-agent.service.d",
            "config/keyport",
            "data",
            "home",
        ] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::set_permissions(dir.path().join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
        let units = dir.path().join("config/systemd/user");
        for unit in ["keyport-agent.socket", "keyport-agent.service"] {
            std::fs::copy(repo_root().join("packaging").join(unit), units.join(unit)).unwrap();
        }
        std::fs::write(
            units.join("keyport-agent.service.d/test.conf"),
            format!(
                "[Service]\nExecStart=\nExecStart={} agent --idle-exit 3s\n",
                keyport_bin().display()
            ),
        )
        .unwrap();
        std::fs::copy(
            env.home.path().join("config/providers.toml"),
            dir.path().join("config/keyport/providers.toml"),
        )
        .unwrap();
        let mut manager = Command::new("unshare");
        manager
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd && \
                 mkdir /run/systemd/system && exec {SYSTEMD} --user"
            ))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let manager = UserManager {
            manager: xdg(&mut manager, dir.path()).spawn().unwrap(),
            dir,
        };
        let start = Instant::now();
        while manager.systemctl(&["is-system-running"]).stdout.is_empty()
            || !manager.dir.path().join("run/systemd/private").exists()
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the user manager did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        manager
    }

    /// `systemctl --user <args>`, talking to this manager.
    fn systemctl(&self, args: &[&str]) -> Output {
        let mut command = Command::new("systemctl");
        command.arg("--user").args(args);
        xdg(&mut command, self.dir.path()).output().unwrap()
    }

    /// A property of a unit (`systemctl --user show -p NAME --value UNIT`).
    fn property(&self, unit: &str, name: &str) -> String {
        let out = self.systemctl(&["show", "-p", name, "--value", unit]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until `unit`'s state is `state`.
    fn wait_for(&self, unit: &str, state: &str, within: Duration) {
        let start = Instant::now();
        while self.property(unit, "ActiveState") != state {
            assert!(
                start.elapsed() < within,
                "{unit} did not become {state}: {}",
                self.property(unit, "ActiveState")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `program` with this env's keychain and browser, in the manager's mount namespace, with
    /// the default home under this test's XDG directories.
    fn inside(&self, env: &Env, program: &Path) -> Command {
        let mut command = env.program(Path::new("nsenter"));
        command
            .args(["-t", &self.manager.id().to_string(), "-m", "--"])
            .arg(program)
            .env_remove("KEYPORT_HOME");
        xdg(&mut command, self.dir.path());
        command
    }

    fn keyport(&self, env: &Env, args: &[&str]) -> Command {
        let mut command = self.inside(env, &keyport_bin());
        command.args(args);
        command
    }

    fn token(&self, env: &Env, account: &str) -> String {
        let out = self.keyport(env, &["token", account]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("run/keyport/agent.sock")
    }

    fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("data/keyport/audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for UserManager {
    fn drop(&mut self) {
        // `exit` stops every unit (the agent among them) before the manager leaves.
        let _ = self.systemctl(&["exit"]);
        let start = Instant::now();
        while self.manager.try_wait().ok().flatten().is_none() {
            if start.elapsed() > Duration::from_secs(10) {
                let _ = self.manager.kill();
                let _ = self.manager.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A session's directories under `dir`: the runtime directory (`%t` in the units), the
/// configuration (where the units are found) and the data.
fn xdg<'a>(command: &'a mut Command, dir: &Path) -> &'a mut Command {
    command
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("HOME", dir.join("home"))
}

/// Why this machine cannot run the test, if it cannot: a user manager needs systemd, and a mount
/// namespace of its own needs root.
fn cannot_run() -> Option<&'static str> {
    if !Path::new(SYSTEMD).exists() {
        return Some("no systemd on this machine (scripts/install-deps installs it)");
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root: a mount namespace for the user manager needs it");
    }
    None
}

#[test]
fn the_shipped_units_under_a_real_user_manager_start_the_agent_and_get_the_socket_back_from_the_app() {
    if let Some(why) = cannot_run() {
        eprintln!("skipped: {why}");
        return;
    }
    let env = Env::new(3600);
    let manager = UserManager::start(&env);
    // An account first, with nothing listening yet.
    let connect = manager
        .keyport(&env, &["connect", "demo", "--json", "--timeout", "30"])
        .env("KEYPORT_TEST_LOGIN", "alice")
        .output()
        .unwrap();
    assert!(
        connect.status.success(),
        "{}",
        String::from_utf8_lossy(&connect.stderr)
    );
    let id = serde_json::from_slice::<serde_json::Value>(&connect.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let stored: serde_json::Value = serde_json::from_str(
        &env.keychain
            .lookup("keyport", &format!("account:{id}"))
            .expect("the default home's keychain item"),
    )
    .unwrap();
    let stored = stored["access_token"].as_str().unwrap().to_string();

    // The package enables the socket; its service waits for a request. The service reaches the
    // keychain through the session's bus, as a login session's manager passes it on.
    let bus = format!("DBUS_SESSION_BUS_ADDRESS={}", env.keychain.address);
    assert!(manager.systemctl(&["set-environment", &bus]).status.success());
    let enable = manager.systemctl(&["enable", "--now", "keyport-agent.socket"]);
    assert!(
        enable.status.success(),
        "{}",
        String::from_utf8_lossy(&enable.stderr)
    );
    manager.wait_for("keyport-agent.socket", "active", Duration::from_secs(10));
    assert!(
        manager.socket().exists(),
        "the socket unit listens at the agent's path"
    );
    assert_eq!(
        manager.property("keyport-agent.service", "ActiveState"),
        "inactive"
    );

    // The first request starts the service; the next is answered with the keychain out of reach.
    assert_eq!(manager.token(&env, &id), stored);
    assert_eq!(manager.property("keyport-agent.service", "ActiveState"), "active");
    let first = manager.property("keyport-agent.service", "InvocationID");
    let out = manager
        .keyport(&env, &["token", &id])
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), stored, "{out:?}");
    let uses = manager.audit();
    assert!(
        uses.len() >= 2 && uses.iter().rev().take(2).all(|u| u["via"] == "agent"),
        "{uses:?}"
    );

    // Idle, it leaves on its own and successfully (so systemd does not restart it), and the
    // socket goes on listening: the next request starts a new run.
    manager.wait_for("keyport-agent.service", "inactive", Duration::from_secs(20));
    assert_eq!(manager.property("keyport-agent.service", "Result"), "success");
    assert_eq!(manager.property("keyport-agent.socket", "ActiveState"), "active");
    assert_eq!(manager.token(&env, &id), stored);
    let second = manager.property("keyport-agent.service", "InvocationID");
    assert_ne!(first, second, "a new activation");

    // The app's agent (one that asks) takes the path over; the activated one steps aside.
    let questions = manager.dir.path().join("questions");
    let mut app = {
        let mut command = manager.inside(&env, &std::env::current_exe().unwrap());
        as_asking_agent(&mut command, &questions);
        command.stderr(Stdio::null()).spawn().unwrap()
    };
    manager.wait_for("keyport-agent.service", "inactive", Duration::from_secs(20));
    assert_eq!(manager.token(&env, &id), stored);
    let asked = std::fs::read_to_string(&questions).unwrap_or_default();
    assert_eq!(asked.lines().count(), 1, "the app's agent asked: {asked:?}");
    assert_eq!(
        manager.property("keyport-agent.service", "ActiveState"),
        "inactive"
    );

    // The app quits: it has the real systemd listen at the path again, and the next request
    // starts the service once more.
    drop(app.stdin.take());
    assert!(app.wait().unwrap().success());
    manager.wait_for("keyport-agent.socket", "active", Duration::from_secs(10));
    let out = manager
        .keyport(&env, &["token", &id])
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), stored);
    assert_eq!(manager.property("keyport-agent.service", "ActiveState"), "active");
    let third = manager.property("keyport-agent.service", "InvocationID");
    assert!(![first.as_str(), second.as_str()].contains(&third.as_str()));
    assert_eq!(
        std::fs::read_to_string(&questions)
            .unwrap_or_default()
            .lines()
            .count(),
        1,
        "the activated agent asks nobody"
    );
}

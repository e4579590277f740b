//! A private D-Bus session bus with gnome-keyring's Secret Service on it, unlocked, torn down when
//! dropped. Nothing touches the developer's own keychain.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SessionKeychain {
    pub address: String,
    _dir: tempfile::TempDir,
    daemon: Child,
    // Dropped after the daemon is stopped.
    _bus: BareBus,
}

impl SessionKeychain {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bus = Self::bus_only();
        let address = bus.address.clone();
        let runtime = dir.path().join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", dir.path())
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon is installed (scripts/install-deps installs it)");
        // The password of the new login keyring; closing stdin tells the daemon it is complete.
        daemon.stdin.take().unwrap().write_all(b"test-password").unwrap();
        let keychain = SessionKeychain {
            address,
            _dir: dir,
            daemon,
            _bus: bus,
        };
        keychain.wait_for_service();
        keychain
    }

    /// Whether gnome-keyring is still up (it was started here, and nothing restarts it).
    pub fn is_running(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.daemon.id())).is_ok_and(
            |stat| !matches!(stat.rsplit(')').next(), Some(rest) if rest.trim_start().starts_with('Z')),
        )
    }

    /// A session bus with no Secret Service on it. Its configuration names no service
    /// directories, so nothing is started on demand (the stock session configuration would
    /// auto-start gnome-keyring, with a keyring of its own).
    pub fn bus_only() -> BareBus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("bus.conf");
        std::fs::write(&config, BUS_CONFIG).unwrap();
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon is installed (scripts/install-deps installs it)");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        BareBus {
            address,
            bus,
            _dir: dir,
        }
    }

    /// Until the Secret Service owns its bus name, a client could make D-Bus start another one.
    fn wait_for_service(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            let out = Command::new("dbus-send")
                .args([
                    "--session",
                    "--dest=org.freedesktop.DBus",
                    "--print-reply",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .output()
                .unwrap();
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("gnome-keyring did not come up on the test session bus");
    }

    /// `secret-tool lookup service <service> username <user>`.
    pub fn lookup(&self, service: &str, user: &str) -> Option<String> {
        let out = Command::new("secret-tool")
            .args(["lookup", "service", service, "username", user])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .expect("secret-tool is installed (scripts/install-deps installs it)");
        (out.status.success() && !out.stdout.is_empty()).then(|| String::from_utf8(out.stdout).unwrap())
    }

    /// How many items carry `service`.
    pub fn count(&self, service: &str) -> usize {
        self.usernames(service).len()
    }

    /// The user names of the items that carry `service` (`account:<id>`, `registered-client:…`),
    /// as `secret-tool search` lists them.
    pub fn usernames(&self, service: &str) -> Vec<String> {
        // A search that failed is no answer, never "no items" (which secret-tool also says with
        // success): read as empty, it once made a test report an account's secret missing. The
        // keyring is asked again a few times before the test says it failed.
        let mut tries = 0;
        let out = loop {
            let out = Command::new("secret-tool")
                .args(["search", "--all", "service", service])
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .output()
                .unwrap();
            tries += 1;
            if out.status.success() {
                break out;
            }
            assert!(
                tries < 5,
                "secret-tool search failed {tries} times: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        text.lines()
            .filter_map(|l| l.strip_prefix("attribute.username = "))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for SessionKeychain {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

pub struct BareBus {
    pub address: String,
    bus: Child,
    _dir: tempfile::TempDir,
}

const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

impl Drop for BareBus {
    fn drop(&mut self) {
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

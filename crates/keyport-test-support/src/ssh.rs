//! A real OpenSSH server (`sshd`) on a loopback port, run for the test by the test's own user,
//! so that `keyport ssh` can reach "another machine": a session whose environment (set by the
//! server's `SetEnv`) has a home of its own, where Keyport has no accounts and no keychain.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct SshServer {
    pub port: u16,
    /// The remote session's Keyport home (empty: the remote keeps nothing).
    pub remote_home: tempfile::TempDir,
    dir: tempfile::TempDir,
    child: Child,
}

impl SshServer {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let remote_home = tempfile::tempdir().unwrap();
        let keygen = |name: &str| {
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.path().join(name))
                .status()
                .unwrap()
                .success();
            assert!(ok, "ssh-keygen");
        };
        keygen("host_key");
        keygen("client_key");
        // sshd refuses to start as root without its privilege separation directory.
        if euid() == 0 {
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let port = free_port();
        let config = format!(
            "Port {port}\n\
             ListenAddress 127.0.0.1\n\
             HostKey {dir}/host_key\n\
             AuthorizedKeysFile {dir}/client_key.pub\n\
             PidFile none\n\
             UsePAM no\n\
             PermitRootLogin prohibit-password\n\
             StrictModes no\n\
             AllowStreamLocalForwarding yes\n\
             LogLevel ERROR\n\
             SetEnv HOME={remote} XDG_RUNTIME_DIR= GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null\n",
            dir = dir.path().display(),
            remote = remote_home.path().display(),
        );
        std::fs::write(dir.path().join("sshd_config"), config).unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(dir.path().join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("OpenSSH's sshd is installed (scripts/install-deps)");
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed().as_secs() < 20, "sshd did not start listening");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        SshServer {
            port,
            remote_home,
            dir,
            child,
        }
    }

    /// ssh's options and destination for this server (before a remote command).
    pub fn ssh_args(&self) -> Vec<String> {
        let user = std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| if euid() == 0 { "root".into() } else { whoami() });
        [
            "-p",
            &self.port.to_string(),
            "-i",
            &self.key().display().to_string(),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            &format!("{user}@127.0.0.1"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    /// The destination as ssh's command line names it (what the agent shows).
    pub fn destination(&self) -> String {
        self.ssh_args().last().unwrap().clone()
    }

    /// A directory for files the remote session uses.
    pub fn scratch(&self) -> &Path {
        self.remote_home.path()
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn euid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

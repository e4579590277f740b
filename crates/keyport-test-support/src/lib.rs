//! Fixtures shared by the end-to-end tests (`tests/e2e`) and the benchmark suite (`benches/suite`):
//! each test gets its own keychain, provider and Keyport home, so tests run in parallel without
//! seeing each other, and every run is of the real `keyport` binary.

pub mod faults;
mod git;
mod hostile_mcp;
mod keychain;
mod mcp;
mod provider;
mod quirks;
mod ssh;
mod webdriver;

pub use git::GitServer;
pub use hostile_mcp::HostileMcp;
pub use keychain::SessionKeychain;
pub use mcp::McpServer;
pub use provider::OidcServer;
pub use quirks::QuirksServer;
pub use ssh::SshServer;
pub use webdriver::WebDriver;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root, where `tests/oidc-server` lives.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The `keyport` binary cargo built for the running test or benchmark: it sits in the target
/// directory that holds the running executable's `deps/` folder (as `CARGO_BIN_EXE_keyport` says
/// to the test crate itself, which this crate cannot see).
pub fn keyport_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the running executable has a path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests and benchmarks run from <target>/<profile>/deps");
    let bin = profile_dir.join("keyport");
    assert!(bin.exists(), "{} is not built", bin.display());
    bin
}

/// Starts `node <script>` on port 0 with `vars`, and returns it with the JSON line it announces
/// itself with on stdout (its address).
pub fn start_node_server(script: &Path, vars: &[(&str, &str)]) -> (std::process::Child, serde_json::Value) {
    start_server(Path::new("node"), script, vars)
}

/// Starts `program <script>` on port 0 with `vars`, and returns it with the JSON line it
/// announces itself with on stdout.
pub fn start_server(
    program: &Path,
    script: &Path,
    vars: &[(&str, &str)],
) -> (std::process::Child, serde_json::Value) {
    use std::io::BufRead;
    let mut child = Command::new(program)
        .arg(script)
        .env("PORT", "0")
        .envs(vars.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{} could not start: {e}", program.display()));
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{script:?} announced {line:?}: {e}"));
    (child, info)
}

/// A Keyport home wired to a private keychain and a local provider called `demo`.
pub struct Env {
    pub home: tempfile::TempDir,
    pub keychain: SessionKeychain,
    pub server: OidcServer,
}

/// What a `keyport` run did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts a failure with exit `code` whose message contains `expected`.
    #[track_caller]
    pub fn fails(self, code: i32, expected: &str) -> Self {
        assert_eq!(self.code, code, "stderr: {}", self.stderr);
        assert!(
            self.stderr.contains(expected),
            "no {expected:?} in: {}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "keyport failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Env {
    /// A fresh home; the provider issues access tokens valid for `access_token_ttl` seconds.
    pub fn new(access_token_ttl: u64) -> Self {
        Self::with_provider(access_token_ttl, &[])
    }

    /// Like [`Env::new`], with more of the provider's environment (`ID_TOKEN_TTL`, …: see
    /// tests/oidc-server/server.mjs).
    pub fn with_provider(access_token_ttl: u64, vars: &[(&str, &str)]) -> Self {
        let keychain = SessionKeychain::start();
        let server = OidcServer::start_with(access_token_ttl, vars);
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("config")).unwrap();
        std::fs::write(
            home.path().join("config/providers.toml"),
            format!(
                "[providers.demo]\n\
                 display_name = \"Demo\"\n\
                 issuer = \"{}\"\n\
                 client_id = \"keyport-test\"\n\
                 scopes = [\"openid\", \"email\", \"profile\", \"offline_access\"]\n\
                 # oidc-provider issues refresh tokens only when consent is prompted.\n\
                 authorization_params = {{ prompt = \"consent\" }}\n",
                server.issuer
            ),
        )
        .unwrap();
        Env {
            home,
            keychain,
            server,
        }
    }

    /// `keyport <args>` with this home, keychain and the scripted browser.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.program(&keyport_bin());
        cmd.args(args);
        cmd
    }

    /// `program` with this home, keychain and the scripted browser, and nothing else from our
    /// environment.
    pub fn program(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("KEYPORT_HOME", self.home.path())
            .env("DBUS_SESSION_BUS_ADDRESS", &self.keychain.address)
            .env("BROWSER", repo_root().join("tests/oidc-server/browser"))
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().unwrap().into()
    }

    /// `keyport <args>` with the keychain out of reach: only a running agent can answer a token.
    pub fn run_without_keychain(&self, args: &[&str]) -> Run {
        self.command(args)
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
            .output()
            .unwrap()
            .into()
    }

    /// `keyport <args>` with the scripted browser in `mode` (see tests/oidc-server/browser.mjs).
    pub fn run_with_browser(&self, mode: &str, args: &[&str]) -> Run {
        self.command(args)
            .env("KEYPORT_TEST_BROWSER_MODE", mode)
            .output()
            .unwrap()
            .into()
    }

    /// Connects `login` at the demo provider and returns the new account id.
    pub fn connect(&self, login: &str) -> String {
        self.connect_to("demo", login)
    }

    /// Connects `login` at `provider` (one of this home's catalog) and returns the new account id.
    pub fn connect_to(&self, provider: &str, login: &str) -> String {
        let run: Run = self
            .command(&["connect", provider, "--json", "--timeout", "30"])
            .env("KEYPORT_TEST_LOGIN", login)
            .output()
            .unwrap()
            .into();
        run.ok().json()["id"].as_str().unwrap().to_string()
    }

    /// The keychain service name this home's items carry.
    pub fn service(&self) -> String {
        format!("keyport:{}", self.home.path().canonicalize().unwrap().display())
    }

    /// The account's keychain item, read by `secret-tool` (another process, another client library).
    pub fn keychain_item(&self, account: &str) -> Option<serde_json::Value> {
        self.keychain
            .lookup(&self.service(), &format!("account:{account}"))
            .map(|s| serde_json::from_str(&s).expect("Keyport stores JSON"))
    }

    /// The account's access and refresh tokens, as the keychain holds them.
    pub fn stored_tokens(&self, account: &str) -> (String, String) {
        let item = self
            .keychain_item(account)
            .expect("the account has a keychain item");
        let field = |name: &str| {
            item[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name}"))
                .to_string()
        };
        (field("access_token"), field("refresh_token"))
    }

    /// Runs `keyport token <account>` `n` times at once; every call must succeed. Their tokens.
    pub fn concurrent_tokens(&self, account: &str, n: usize) -> Vec<String> {
        let children: Vec<_> = (0..n)
            .map(|_| {
                self.command(&["token", account])
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        children
            .into_iter()
            .map(|c| {
                let out = c.wait_with_output().unwrap();
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                String::from_utf8(out.stdout).unwrap().trim().to_string()
            })
            .collect()
    }

    pub fn accounts_file(&self) -> String {
        std::fs::read_to_string(self.home.path().join("data/accounts.json")).unwrap_or_default()
    }

    /// `systemd-socket-activate -l SOCKET` passing this home's environment on (it passes only what
    /// it is told to, as a systemd unit would); the program to start and its arguments follow.
    pub fn systemd_socket_activate(&self, socket: &Path) -> Command {
        let mut command = self.program(Path::new("systemd-socket-activate"));
        command.arg("-l").arg(socket);
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

    /// Starts `keyport agent` for this home and waits until it listens.
    pub fn agent(&self) -> AgentProcess {
        self.agent_via(&[])
    }

    /// Starts `keyport agent` through `wrapper` (a program and its arguments, which then runs
    /// the rest of its command line: `setpriv …`), and waits until it listens.
    pub fn agent_via(&self, wrapper: &[&str]) -> AgentProcess {
        let socket = self.home.path().canonicalize().unwrap().join("data/agent.sock");
        let bin = keyport_bin();
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = self.program(Path::new(program));
                c.args(rest).arg(&bin);
                c
            }
            None => self.program(&bin),
        };
        let child = command
            .arg("agent")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let agent = AgentProcess { child, socket };
        let start = std::time::Instant::now();
        while std::os::unix::net::UnixStream::connect(&agent.socket).is_err() {
            assert!(
                start.elapsed().as_secs() < 20,
                "the agent did not start listening"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        agent
    }

    /// Starts `keyport <args>` (a connect that prints its sign-in URL instead of opening a
    /// browser), reads stderr up to that URL, and keeps reading the rest like a terminal would.
    /// Returns the process, the URL, and the rest of stderr once the process is done.
    pub fn connect_printing_url(
        &self,
        args: &[&str],
    ) -> (std::process::Child, String, std::thread::JoinHandle<String>) {
        use std::io::BufRead;
        let mut child = self
            .command(args)
            .env("BROWSER", "/nonexistent/browser-must-not-run")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let url = lines
            .by_ref()
            .map(|l| l.unwrap())
            .find_map(|l| l.trim().starts_with("http://").then(|| l.trim().to_string()))
            .expect("the sign-in URL is printed");
        let rest = std::thread::spawn(move || lines.map(|l| l.unwrap()).collect::<Vec<_>>().join("\n"));
        (child, url, rest)
    }

    /// Appends `text` to this home's `providers.toml`.
    pub fn add_providers(&self, text: &str) {
        let file = self.home.path().join("config/providers.toml");
        let mut all = std::fs::read_to_string(&file).unwrap();
        all.push_str(text);
        std::fs::write(&file, all).unwrap();
    }

    /// The audit log's records, oldest first.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.home.path().join("data/audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn list(&self) -> serde_json::Value {
        self.run(&["list", "--json"]).ok().json()
    }
}

/// A running `keyport agent`, stopped when dropped.
pub struct AgentProcess {
    child: std::process::Child,
    pub socket: PathBuf,
}

impl AgentProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

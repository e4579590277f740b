//! MCP servers that misbehave on purpose, for the tests of what Keyport refuses them: Python scripts
//! in `tests/mcp-server/` other than `server.py` (same origin, hostile metadata, endless step-ups),
//! built on the official SDK like it, run from the same virtual environment. Each prints one JSON
//! line when it listens (its addresses), which [`HostileMcp::info`] holds.

use std::process::{Child, Command, Stdio};

pub struct HostileMcp {
    /// What the script announced: its URLs, and whatever else it says it serves.
    pub info: serde_json::Value,
    child: Child,
}

impl HostileMcp {
    /// Starts `tests/mcp-server/<script>` with `vars` in its environment.
    pub fn start(script: &str, vars: &[(&str, &str)]) -> Self {
        use std::io::BufRead;
        let root = super::repo_root();
        let python = root.join(".tools/mcp-venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: scripts/install-deps installs the MCP SDK there",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(root.join("tests/mcp-server").join(script))
            .env("PORT", "0")
            .envs(vars.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{script} announced {line:?}: {e}"));
        HostileMcp { info, child }
    }

    /// The announced string `key` (a URL).
    pub fn url(&self, key: &str) -> String {
        self.info[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {}", self.info))
            .to_string()
    }

    /// `GET url` as JSON: the counters a script serves.
    pub fn get_json(&self, url: &str) -> serde_json::Value {
        ureq::get(url).call().unwrap().body_mut().read_json().unwrap()
    }
}

impl Drop for HostileMcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

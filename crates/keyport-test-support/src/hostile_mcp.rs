//! MCP servers that misbehave on purpose, for the tests of what Keyport refuses them: Python scripts
//! in `tests/mcp-server/` other than `server.py` (same origin, hostile metadata, endless step-ups),
//! built on the official SDK like it, run from the same virtual environment. Each prints one JSON
//! line when it listens (its addresses), which [`HostileMcp::info`] holds.

use std::process::Child;

pub struct HostileMcp {
    /// What the script announced: its URLs, and whatever else it says it serves.
    pub info: serde_json::Value,
    child: Child,
}

impl HostileMcp {
    /// Starts `tests/mcp-server/<script>` with `vars` in its environment.
    pub fn start(script: &str, vars: &[(&str, &str)]) -> Self {
        let (child, info) = super::mcp::start_announcing(script, vars);
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

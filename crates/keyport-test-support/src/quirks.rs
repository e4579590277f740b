//! The quirks server (`tests/quirks-server/server.mjs`): our own small authorization server that
//! answers like providers that deviate from the standards, one profile per path prefix.

use std::process::Child;

pub struct QuirksServer {
    pub base: String,
    child: Child,
}

impl QuirksServer {
    pub fn start() -> Self {
        let script = super::repo_root().join("tests/quirks-server/server.mjs");
        let (child, info) = super::start_node_server(&script, &[]);
        QuirksServer {
            base: info["base"].as_str().unwrap().to_string(),
            child,
        }
    }

    /// `[providers.<id>]` overriding the built-in preset's endpoints with this server's
    /// `<profile>` ones (`fields` maps a URL field to its path); every quirk field stays the
    /// preset's own, so the test checks what the catalog ships.
    pub fn preset_override(&self, id: &str, profile: &str, fields: &[(&str, &str)]) -> String {
        let mut out =
            format!("\n[providers.{id}]\nclient_id = \"quirks-client\"\nclient_secret = \"quirks-secret\"\n");
        for (field, path) in fields {
            out.push_str(&format!("{field} = \"{}/{profile}/{path}\"\n", self.base));
        }
        out
    }

    /// Every request the server saw, and the tokens it revoked.
    pub fn log(&self) -> serde_json::Value {
        ureq::get(&format!("{}/_log", self.base))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    }

    /// The requests to `<profile>/<path>`.
    pub fn requests(&self, profile: &str, path: &str) -> Vec<serde_json::Value> {
        self.log()["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["profile"] == profile && r["path"] == path)
            .cloned()
            .collect()
    }
}

impl Drop for QuirksServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! A real MCP server with OAuth for the tests: `tests/mcp-server/server.py`, built on the official
//! Python SDK (`mcp`, installed by scripts/install-deps into `.tools/mcp-venv`), its own auth
//! handlers (metadata, registration, authorize, token, revoke) and an auto-approving provider.

use std::process::Child;

pub struct McpServer {
    /// The MCP endpoint, `http://127.0.0.1:<port>/mcp`.
    pub url: String,
    child: Child,
}

impl McpServer {
    /// Starts the server with access tokens living `access_ttl` seconds.
    pub fn start(access_ttl: u64) -> Self {
        Self::start_with(access_ttl, &[])
    }

    /// Like [`McpServer::start`], with more of the server's environment (`PRM_RESOURCE`: the
    /// resource its metadata names instead of its own URL).
    pub fn start_with(access_ttl: u64, vars: &[(&str, &str)]) -> Self {
        Self::start_script("server.py", access_ttl, vars)
    }

    /// A misbehaving server of `tests/mcp-server/hostile.py`, `HOSTILE=mode`, with `vars`.
    pub fn start_hostile(mode: &str, vars: &[(&str, &str)]) -> Self {
        let mut all = vec![("HOSTILE", mode)];
        all.extend_from_slice(vars);
        Self::start_script("hostile.py", 3600, &all)
    }

    /// `tests/mcp-server/<script>`, announcing itself as server.py does.
    fn start_script(script: &str, access_ttl: u64, vars: &[(&str, &str)]) -> Self {
        let ttl = access_ttl.to_string();
        let mut all = vec![("ACCESS_TTL", ttl.as_str()), ("JSON_RESPONSE", "1")];
        all.extend_from_slice(vars);
        let (child, info) = start_announcing(script, &all);
        McpServer {
            url: info["url"].as_str().unwrap().to_string(),
            child,
        }
    }

    /// The server's counters: registrations, authorizations, token grants by type, the last
    /// `resource` seen on authorize and token requests, tool calls.
    pub fn stats(&self) -> serde_json::Value {
        let base = self.url.trim_end_matches("/mcp").trim_end_matches("/sse");
        ureq::get(&format!("{base}/test/stats"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    }

    /// Makes the server forget every client registered with it, as a restarted server that keeps
    /// them in memory does.
    pub fn forget_clients(&self) {
        let base = self.url.trim_end_matches("/mcp").trim_end_matches("/sse");
        ureq::post(&format!("{base}/test/forget-clients"))
            .send_empty()
            .unwrap();
    }

    /// Calls the `whoami` tool over Streamable HTTP with `token`: the HTTP status of the call, and
    /// the tool's text when it succeeded.
    pub fn call_whoami(&self, token: &str) -> (u16, String) {
        let post = |body: serde_json::Value, session: Option<&str>| {
            let mut request = ureq::post(&self.url)
                .config()
                .http_status_as_error(false)
                .build()
                .header("authorization", &format!("Bearer {token}"))
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2025-11-25");
            if let Some(session) = session {
                request = request.header("mcp-session-id", session);
            }
            request.send_json(body).unwrap()
        };
        let init = post(
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "keyport-tests", "version": "1"}}}),
            None,
        );
        if init.status() != 200 {
            return (init.status().as_u16(), String::new());
        }
        let session = init
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        post(
            serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            session.as_deref(),
        );
        let mut call = post(
            serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                               "params": {"name": "whoami", "arguments": {}}}),
            session.as_deref(),
        );
        let status = call.status().as_u16();
        let body: serde_json::Value = call.body_mut().read_json().unwrap_or_default();
        let text = body["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (status, text)
    }
}

impl Drop for McpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tests/mcp-server/<script>` on the MCP SDK's venv with `vars` and a free port, and reads
/// the JSON line it announces itself with (its URLs).
pub(crate) fn start_announcing(
    script: &str,
    vars: &[(&str, &str)],
) -> (std::process::Child, serde_json::Value) {
    let root = super::repo_root();
    let python = root.join(".tools/mcp-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: scripts/install-deps installs the MCP SDK there",
        python.display()
    );
    super::start_server(&python, &root.join("tests/mcp-server").join(script), vars)
}

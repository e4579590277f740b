//! The local OpenID Connect provider (`tests/oidc-server/server.mjs`), one per test, on port 0.

use std::process::Child;

pub struct OidcServer {
    pub issuer: String,
    /// Everything the server announced (with MCP=1, the machines' private keys: `machine_keys`).
    pub announced: serde_json::Value,
    child: Child,
}

impl OidcServer {
    pub fn start(access_token_ttl: u64) -> Self {
        Self::start_with(access_token_ttl, &[])
    }

    /// Like [`OidcServer::start`], with more of the server's environment (`MCP=1`: open
    /// registration and resource indicators, the authorization server of an MCP server).
    pub fn start_with(access_token_ttl: u64, vars: &[(&str, &str)]) -> Self {
        let dir = super::repo_root().join("tests/oidc-server");
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "run `npm ci --prefix tests/oidc-server` (scripts/install-deps does) before the tests"
        );
        let ttl = access_token_ttl.to_string();
        let mut all = vec![("ACCESS_TOKEN_TTL", ttl.as_str())];
        all.extend_from_slice(vars);
        let (child, info) = super::start_node_server(&dir.join("server.mjs"), &all);
        OidcServer {
            issuer: info["issuer"].as_str().unwrap().to_string(),
            announced: info,
            child,
        }
    }

    /// How many token requests succeeded with `grant_type` (e.g. "refresh_token").
    pub fn grants(&self, grant_type: &str) -> u64 {
        self.stats()["grants"][grant_type].as_u64().unwrap_or(0)
    }

    pub fn stats(&self) -> serde_json::Value {
        ureq::get(&format!("{}/test/stats", self.issuer))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    }

    /// Whether the server still considers `token` active (RFC 7662 introspection).
    pub fn is_active(&self, token: &str) -> bool {
        let v: serde_json::Value = ureq::post(&format!("{}/token/introspection", self.issuer))
            .header(
                "Authorization",
                "Basic aW50cm9zcGVjdG9yOmludHJvc3BlY3Rvci1zZWNyZXQ=",
            )
            .send_form([("token", token)])
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        v["active"].as_bool().unwrap()
    }

    /// The HTTP status of a userinfo request made with `token`.
    pub fn userinfo_status(&self, token: &str) -> u16 {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        agent
            .get(&format!("{}/me", self.issuer))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .status()
            .as_u16()
    }
}

impl Drop for OidcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

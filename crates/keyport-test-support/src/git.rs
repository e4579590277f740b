//! A git server over HTTP (`tests/git-server/server.mjs`: `git http-backend` behind a check of
//! each request's token at the local provider's introspection endpoint), with bare repositories
//! of its own.

use std::path::PathBuf;
use std::process::Child;

pub struct GitServer {
    pub url: String,
    pub repos: tempfile::TempDir,
    child: Child,
}

impl GitServer {
    pub fn start(issuer: &str) -> Self {
        let repos = tempfile::tempdir().unwrap();
        let script = super::repo_root().join("tests/git-server/server.mjs");
        let root = repos.path().to_str().unwrap().to_string();
        let (child, info) = super::start_node_server(&script, &[("ISSUER", issuer), ("REPOS", &root)]);
        GitServer {
            url: info["url"].as_str().unwrap().to_string(),
            repos,
            child,
        }
    }

    /// A new empty bare repository `name`, and its URL.
    pub fn create(&self, name: &str) -> String {
        let path = self.repos.path().join(name);
        let ok = std::process::Command::new("git")
            .args(["init", "--quiet", "--bare", "--initial-branch=main"])
            .arg(&path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "git init --bare");
        format!("{}/{name}", self.url)
    }

    pub fn repo_path(&self, name: &str) -> PathBuf {
        self.repos.path().join(name)
    }

    /// The `[user, token]` pairs the server accepted, in order.
    pub fn seen(&self) -> Vec<(String, String)> {
        let v: serde_json::Value = ureq::get(&format!("{}/test/seen", self.url))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_string(),
                    p[1].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

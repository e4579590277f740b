//! kubectl's exec credential plugin: the real `kubectl`, with the kubeconfig entry pasted from
//! docs/integrations.md, against an HTTPS stand-in for a cluster's API server on loopback
//! (`tests/kube-api/server.py`) that answers only the bearer the test expects.

use keyport_test_support::{repo_root, start_server, Env, Run};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const KEYPORT: &str = env!("CARGO_BIN_EXE_keyport");

/// The API server stand-in: its address, its certificate, and the file holding the bearer it
/// accepts.
struct KubeApi {
    child: Child,
    dir: tempfile::TempDir,
    server: String,
}

impl KubeApi {
    fn start() -> KubeApi {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let made = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
            ])
            .args([
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(made.success(), "openssl made the stand-in's certificate");
        std::fs::write(dir.path().join("token"), "").unwrap();
        let token_file = dir.path().join("token");
        let vars = [
            ("CERT", cert.to_str().unwrap()),
            ("KEY", key.to_str().unwrap()),
            ("TOKEN_FILE", token_file.to_str().unwrap()),
        ];
        let script = repo_root().join("tests/kube-api/server.py");
        let (child, announced) = start_server(Path::new("python3"), &script, &vars);
        let port = announced["port"]
            .as_u64()
            .expect("the stand-in announces its port");
        KubeApi {
            child,
            dir,
            server: format!("https://127.0.0.1:{port}"),
        }
    }

    /// From now on, the stand-in answers this bearer and no other.
    fn accept(&self, token: &str) {
        std::fs::write(self.dir.path().join("token"), token).unwrap();
    }

    /// A kubeconfig for this cluster whose user is `users` (YAML of the `users:` key).
    fn kubeconfig(&self, users: &str) -> PathBuf {
        use base64::Engine as _;
        let ca = std::fs::read(self.dir.path().join("cert.pem")).unwrap();
        let ca = base64::engine::general_purpose::STANDARD.encode(ca);
        let config = format!(
            "apiVersion: v1\nkind: Config\n\
             clusters:\n- name: stand-in\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\n\
             contexts:\n- name: here\n  context:\n    cluster: stand-in\n    user: sso\n\
             current-context: here\n{users}",
            self.server
        );
        let path = self.dir.path().join(format!("kubeconfig-{}", rand_suffix()));
        std::fs::write(&path, config).unwrap();
        path
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A kubectl to test with, and its minor version.
struct Kubectl {
    path: PathBuf,
    minor: u32,
}

impl Kubectl {
    /// Every kubectl here: the one on PATH, and Debian 12's (1.20, `v1beta1` only), which
    /// scripts/install-deps unpacks into .tools when another kubectl is installed.
    fn all() -> Vec<Kubectl> {
        let debian = repo_root().join(".tools/kubectl-debian/usr/bin/kubectl");
        let found: Vec<Kubectl> = [PathBuf::from("kubectl"), debian]
            .into_iter()
            .filter_map(|path| {
                let out = Command::new(&path)
                    .args(["version", "--client", "-o", "json"])
                    .output()
                    .ok()?;
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
                let minor = v["clientVersion"]["minor"]
                    .as_str()?
                    .trim_end_matches('+')
                    .parse()
                    .ok()?;
                Some(Kubectl { path, minor })
            })
            .collect();
        assert!(!found.is_empty(), "no kubectl: scripts/install-deps installs one");
        found
    }

    /// The kubeconfig entry of docs/integrations.md for this kubectl (`v1` from 1.22 on, else
    /// `v1beta1`), its account `sso` made the test's `demo`.
    fn documented_entry(&self) -> String {
        let api = match self.minor >= 22 {
            true => "client.authentication.k8s.io/v1\n",
            false => "client.authentication.k8s.io/v1beta1\n",
        };
        let blocks: Vec<String> = crate::integrations::doc_blocks("## Kubernetes: kubectl", "yaml")
            .into_iter()
            .filter(|b| b.contains(api))
            .collect();
        assert_eq!(blocks.len(), 1, "one kubeconfig entry in the docs for {api}");
        let entry = blocks[0].replace("\"token\", \"sso\"", "\"token\", \"demo\"");
        assert!(entry.contains("\"demo\""), "{entry}");
        assert_eq!(
            entry.contains("interactiveMode: Never"),
            self.minor >= 22,
            "{entry}"
        );
        assert!(entry.contains("provideClusterInfo: true"), "{entry}");
        entry
    }

    /// `kubectl get --raw` of the default namespace's pods with `kubeconfig`, `keyport` on its
    /// PATH.
    fn pods(&self, env: &Env, kubeconfig: &Path) -> Run {
        let bin_dir = Path::new(KEYPORT).parent().unwrap();
        let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
        env.program(&self.path)
            .env("PATH", path)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["get", "--raw", "/api/v1/namespaces/default/pods"])
            .output()
            .unwrap()
            .into()
    }
}

/// The claims of a JWT, read without checking it (the stand-in compares the whole token).
fn claims(jwt: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn kubectl_reaches_the_cluster_with_the_id_token_from_the_documented_entry() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let item = env.keychain_item(&id).unwrap();
    let id_token = item["id_token"]
        .as_str()
        .expect("the sign-in kept an ID token")
        .to_string();
    let access_token = item["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims(&id_token)["iss"], env.server.issuer.as_str());
    let api = KubeApi::start();
    for kubectl in Kubectl::all() {
        let entry = kubectl.documented_entry();
        let v = kubectl.minor;
        // The cluster takes the ID token, and only it: the access token is refused.
        api.accept(&id_token);
        let pods = kubectl.pods(&env, &api.kubeconfig(&entry)).ok().json();
        assert_eq!(
            pods["items"][0]["metadata"]["name"], "checked-by-bearer",
            "kubectl 1.{v}: {pods}"
        );
        api.accept(&access_token);
        let refused = kubectl.pods(&env, &api.kubeconfig(&entry));
        assert_ne!(refused.code, 0, "kubectl 1.{v}: {refused:?}");

        // `--use access` for a cluster that takes the access token; `v1beta1` where both are
        // known; no `provideClusterInfo` (kubectl still says which version it asks for).
        let access = entry.replace("\"kubectl\"]", "\"kubectl\", \"--use\", \"access\"]");
        kubectl.pods(&env, &api.kubeconfig(&access)).ok();
        api.accept(&id_token);
        let beta = entry.replace("k8s.io/v1\n", "k8s.io/v1beta1\n");
        assert!(beta.contains("v1beta1"), "{beta}");
        kubectl.pods(&env, &api.kubeconfig(&beta)).ok();
        let told_nothing = entry.replace("provideClusterInfo: true", "");
        kubectl.pods(&env, &api.kubeconfig(&told_nothing)).ok();

        // Through a running agent (the small binary's path) the same, served from memory.
        let agent = env.agent();
        let before = env.audit().len();
        kubectl.pods(&env, &api.kubeconfig(&entry)).ok();
        let uses = env.audit().split_off(before);
        assert!(
            !uses.is_empty()
                && uses
                    .iter()
                    .all(|u| u["via"] == "agent" && u["program"] == "kubectl"),
            "kubectl 1.{v}: the agent handed it to kubectl: {uses:?}"
        );
        drop(agent);
    }

    // What kubectl reads: the version it asked for (`v1` when no kubectl asks), the ID token,
    // its expiry in RFC 3339.
    let out = env.run(&["token", "demo", "--format", "kubectl"]).ok().json();
    assert_eq!(out["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(out["kind"], "ExecCredential");
    assert_eq!(out["status"]["token"], id_token.as_str());
    let exp = claims(&id_token)["exp"].as_u64().unwrap();
    let at = humantime::parse_rfc3339(out["status"]["expirationTimestamp"].as_str().unwrap()).unwrap();
    assert_eq!(at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(), exp);
}

#[test]
fn an_id_token_near_its_expiry_is_refreshed_first() {
    // Access tokens for an hour, ID tokens for 8 seconds: the ID token's own expiry decides.
    let env = Env::with_provider(3600, &[("ID_TOKEN_TTL", "8")]);
    let id = env.connect("alice");
    let first = env.run(&["token", &id, "--use", "id"]).ok().stdout;
    assert_eq!(env.server.grants("refresh_token"), 0);
    std::thread::sleep(std::time::Duration::from_secs(5)); // past half its life
    let api = KubeApi::start();
    let out = env.run(&["token", &id, "--format", "kubectl"]).ok().json();
    let second = out["status"]["token"].as_str().unwrap().to_string();
    assert_ne!(second, first.trim(), "a new ID token");
    assert_eq!(env.server.grants("refresh_token"), 1);
    assert_eq!(env.keychain_item(&id).unwrap()["id_token"], second.as_str());
    api.accept(&second);
    for kubectl in Kubectl::all() {
        kubectl
            .pods(&env, &api.kubeconfig(&kubectl.documented_entry()))
            .ok();
    }
    // The agent renews it the same way, by its own expiry.
    let _agent = env.agent();
    std::thread::sleep(std::time::Duration::from_secs(5));
    let third = env.run(&["token", &id, "--use", "id"]).ok().stdout;
    assert_ne!(third.trim(), second);
    assert_eq!(env.server.grants("refresh_token"), 2);
}

#[test]
fn what_kubectl_cannot_use_is_refused_in_words() {
    let env = Env::new(3600);
    // A sign-in without `openid`: a plain OAuth account, with no ID token.
    env.add_providers(&format!(
        "\n[providers.plain]\ndisplay_name = \"Plain\"\nissuer = \"{}\"\nclient_id = \"keyport-test\"\n\
         scopes = [\"offline_access\", \"email\"]\nauthorization_params = {{ prompt = \"consent\" }}\n",
        env.server.issuer
    ));
    let plain = env.connect_to("plain", "bob");
    env.run(&["token", &plain, "--format", "kubectl"])
        .fails(7, "has no ID token");
    // The access token is still there for whoever takes it.
    env.run(&["token", &plain, "--format", "kubectl", "--use", "access"])
        .ok();
    {
        let _agent = env.agent();
        env.run(&["token", &plain, "--format", "kubectl"])
            .fails(7, "has no ID token");
    }

    let id = env.connect("alice");
    let malformed = env
        .command(&["token", &id, "--format", "kubectl"])
        .env(
            "KUBERNETES_EXEC_INFO",
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v9"}"#,
        )
        .output()
        .unwrap();
    Run::from(malformed).fails(2, "KUBERNETES_EXEC_INFO");
}

//! kubectl's exec credential plugin (`client.authentication.k8s.io`): what kubectl tells the
//! plugin in `KUBERNETES_EXEC_INFO`, and the `ExecCredential` Keyport answers with. kubectl runs
//! the plugin for every command that needs the cluster, so this sits on `keyport token`'s hot
//! path: a few lines of JSON each way, nothing more.

use crate::error::{Error, Result};
use crate::secret::Secret;
use serde::Deserialize;

/// The versions of the exec credential API kubectl speaks: `v1` (kubectl 1.22 and later), and
/// `v1beta1`, the only one of older kubectls (Debian 12's is 1.20), which newer ones still take.
/// The answer must carry the version asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecApi {
    #[default]
    V1,
    V1beta1,
}

impl ExecApi {
    pub fn api_version(self) -> &'static str {
        match self {
            ExecApi::V1 => "client.authentication.k8s.io/v1",
            ExecApi::V1beta1 => "client.authentication.k8s.io/v1beta1",
        }
    }
}

/// What kubectl said about the request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecInfo {
    pub api: ExecApi,
    /// Whether kubectl lets the plugin talk to the person on its stdin (`interactiveMode`).
    /// Keyport's `token` never does: a consent question goes to Keyport's window, a sign-in is a
    /// command of its own.
    pub interactive: bool,
    /// The cluster's API server, when the kubeconfig says `provideClusterInfo: true`.
    pub cluster_server: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sent {
    api_version: String,
    kind: String,
    #[serde(default)]
    spec: Spec,
}

#[derive(Deserialize, Default)]
struct Spec {
    #[serde(default)]
    interactive: bool,
    #[serde(default)]
    cluster: Option<Cluster>,
}

#[derive(Deserialize)]
struct Cluster {
    server: String,
}

/// Reads `KUBERNETES_EXEC_INFO` (`None` when it is not set: not run by kubectl, which sets it
/// since 1.20 with or without `provideClusterInfo`; then `v1`, not interactive).
pub fn exec_info(sent: Option<&str>) -> Result<ExecInfo> {
    let Some(sent) = sent else {
        return Ok(ExecInfo::default());
    };
    let bad = |why: String| {
        Error::Usage(format!(
            "KUBERNETES_EXEC_INFO is not an ExecCredential request kubectl would send ({why}); run \
             `keyport token --format kubectl` from kubectl's exec entry (docs/integrations.md)"
        ))
    };
    let sent: Sent = serde_json::from_str(sent).map_err(|e| bad(e.to_string()))?;
    if sent.kind != "ExecCredential" {
        return Err(bad(format!(
            "its kind is \"{}\"",
            crate::text::escape_controls(&sent.kind)
        )));
    }
    let api = match sent.api_version.as_str() {
        "client.authentication.k8s.io/v1" => ExecApi::V1,
        "client.authentication.k8s.io/v1beta1" => ExecApi::V1beta1,
        other => {
            return Err(bad(format!(
                "Keyport speaks client.authentication.k8s.io/v1 and v1beta1, not \"{}\"",
                crate::text::escape_controls(other)
            )))
        }
    };
    Ok(ExecInfo {
        api,
        interactive: sent.spec.interactive,
        cluster_server: sent.spec.cluster.map(|c| c.server),
    })
}

/// The `ExecCredential` kubectl reads from the plugin's stdout: the bearer token and when it
/// expires (RFC 3339), after which kubectl runs the plugin again.
pub fn render(api: ExecApi, token: &Secret, expires_at: Option<u64>) -> String {
    let mut status = serde_json::json!({ "token": token.expose() });
    if let Some(at) = expires_at {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(at);
        status["expirationTimestamp"] = humantime::format_rfc3339_seconds(at).to_string().into();
    }
    serde_json::to_string(&serde_json::json!({
        "apiVersion": api.api_version(),
        "kind": "ExecCredential",
        "status": status,
    }))
    .expect("JSON values serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectls_request_names_the_version_to_answer_in() {
        assert_eq!(exec_info(None).unwrap(), ExecInfo::default());
        // What kubectl 1.32 sends with `provideClusterInfo: true` and `interactiveMode: Never`.
        let sent = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://127.0.0.1:6443","certificate-authority-data":"LS0t","config":null},"interactive":false}}"#;
        let info = exec_info(Some(sent)).unwrap();
        assert_eq!(info.api, ExecApi::V1);
        assert!(!info.interactive);
        assert_eq!(info.cluster_server.as_deref(), Some("https://127.0.0.1:6443"));
        let old =
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{}}"#;
        assert_eq!(exec_info(Some(old)).unwrap().api, ExecApi::V1beta1);
        for bad in [
            "not json",
            r#"{"kind":"Pod","apiVersion":"client.authentication.k8s.io/v1"}"#,
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v2"}"#,
        ] {
            let e = exec_info(Some(bad)).unwrap_err();
            assert!(e.to_string().contains("KUBERNETES_EXEC_INFO"), "{e}");
        }
    }

    #[test]
    fn the_answer_carries_the_asked_version_and_an_rfc3339_expiry() {
        let out = render(ExecApi::V1beta1, &Secret::new("eyJ.x.y"), Some(1_700_000_000));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["apiVersion"], "client.authentication.k8s.io/v1beta1");
        assert_eq!(v["kind"], "ExecCredential");
        assert_eq!(v["status"]["token"], "eyJ.x.y");
        assert_eq!(v["status"]["expirationTimestamp"], "2023-11-14T22:13:20Z");
        let forever = render(ExecApi::V1, &Secret::new("t"), None);
        assert!(!forever.contains("expirationTimestamp"), "{forever}");
    }
}

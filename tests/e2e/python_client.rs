//! The Python client (`clients/python`), run by the real Python with real httpx and requests
//! (`.tools/py-client-venv`), against the real agent: tokens over the socket with no `keyport`
//! process, one refresh and one retry after a server's 401, the audit naming Python, `keyport
//! token` when no agent runs, the documented snippets as pasted; and the same client inside a
//! bubblewrap sandbox given the agent's socket (docs/integrations.md, "Containers and sandboxes").

use crate::integrations::doc_blocks;
use keyport_test_support::{repo_root, Env, Run};
use std::path::{Path, PathBuf};
use std::process::Command;

fn venv_python() -> PathBuf {
    let python = repo_root().join(".tools/py-client-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/install-deps",
        python.display()
    );
    python
}

/// The venv's Python with the client on its path, and a PATH without `keyport`: a token can come
/// from the agent's socket only, unless `with_keyport` puts it back.
fn python(env: &Env, with_keyport: bool) -> Command {
    let mut c = env.program(&venv_python());
    let mut path = String::from("/usr/bin:/bin");
    if with_keyport {
        let bin = keyport_test_support::keyport_bin();
        path = format!("{}:{path}", bin.parent().unwrap().display());
    }
    c.env("PYTHONPATH", repo_root().join("clients/python"))
        .env("PATH", path)
        .current_dir(repo_root());
    c
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn httpx_and_requests_get_the_agents_token_and_one_refresh_after_a_401() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let _agent = env.agent();
    let script = repo_root().join("tests/python-client/ask.py");
    for (n, client) in ["httpx", "httpx-async", "requests"].into_iter().enumerate() {
        let refreshes = env.server.grants("refresh_token");
        let run: Run = python(&env, false)
            .arg(&script)
            .args([client, &id, &env.server.issuer])
            .output()
            .unwrap()
            .into();
        let out = run.ok().json();
        assert!(
            out["module"]
                .as_str()
                .unwrap()
                .starts_with(repo_root().to_str().unwrap()),
            "the client under test: {out}"
        );
        assert_eq!(out["statuses"], serde_json::json!([200, 200]), "{client}: {out}");
        // The server refused the first token; the retry brought a refreshed one, which the next
        // call got from the agent's memory.
        let seen = strings(&out["seen"]);
        assert_eq!(seen.len(), 3, "{client}: one retry, then none: {out}");
        assert_ne!(seen[0], seen[1], "{client}: the retry sent another token");
        assert_eq!(seen[1], seen[2], "{client}");
        assert_eq!(
            env.server.grants("refresh_token"),
            refreshes + 1,
            "{client}: one refresh for the refused token"
        );
        assert_eq!(
            env.stored_tokens(&id).0,
            seen[1],
            "{client}: the refresh was stored"
        );
        let uses = env.audit();
        assert_eq!(uses.len(), 3 * (n + 1), "one record per token handed out");
        for u in &uses[3 * n..] {
            assert_eq!(u["via"], "agent", "{u}");
            assert!(
                u["program"].as_str().unwrap().starts_with("python3"),
                "named Python: {u}"
            );
            assert!(u["exe"].as_str().unwrap().contains("python3"), "{u}");
        }
    }
}

#[test]
fn the_documented_httpx_and_requests_snippets_work_as_pasted() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let _agent = env.agent();
    let blocks = doc_blocks("### The `keyport` package: httpx, requests", "python");
    assert_eq!(blocks.len(), 2, "an httpx and a requests snippet");
    // The provider's userinfo endpoint is a real API that checks the bearer.
    let api = format!("{}/me", env.server.issuer);
    for code in blocks {
        let code = code
            .replace("https://api.github.com/user", &api)
            .replace("\"github\"", &format!("\"{id}\""));
        let run: Run = python(&env, false).args(["-c", &code]).output().unwrap().into();
        let printed = run.ok().stdout.replace('\'', "\"");
        assert!(printed.contains("\"sub\""), "userinfo answered: {printed}");
    }
    assert_eq!(env.audit().len(), 2);
}

#[test]
fn without_an_agent_the_client_runs_keyport_and_its_errors_are_typed() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let stored = env.stored_tokens(&id).0;
    let code = format!(
        "import json, keyport\n\
         t = keyport.token({id:?}, min_ttl=60)\n\
         try:\n    keyport.token('nobody')\n    kind = None\n\
         except keyport.KeyportError as e:\n    kind = e.kind\n\
         print(json.dumps({{'token': t.access_token, 'account': t.account, 'kind': kind}}))"
    );
    let run: Run = python(&env, true).args(["-c", &code]).output().unwrap().into();
    let out = run.ok().json();
    assert_eq!(out["token"], stored.as_str());
    assert_eq!(out["account"], id.as_str());
    assert_eq!(out["kind"], "not_found");
    let last = env.audit().last().unwrap().clone();
    assert_eq!(last["via"], "keychain", "{last}");
    assert!(last["program"].as_str().unwrap().starts_with("python3"), "{last}");

    // A 401 without an agent: `keyport refresh`, then the new token, and the retry succeeds.
    let refreshes = env.server.grants("refresh_token");
    let run: Run = python(&env, true)
        .arg(repo_root().join("tests/python-client/ask.py"))
        .args(["requests", &id, &env.server.issuer])
        .output()
        .unwrap()
        .into();
    let out = run.ok().json();
    assert_eq!(out["statuses"], serde_json::json!([200, 200]), "{out}");
    let seen = strings(&out["seen"]);
    assert_ne!(seen[0], seen[1], "{out}");
    assert_eq!(env.server.grants("refresh_token"), refreshes + 1);

    // Neither an agent nor `keyport`: the error says where it looked.
    let run: Run = python(&env, false).args(["-c", &code]).output().unwrap().into();
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("no Keyport agent answers at"), "{run:?}");
}

/// The socket is found where `keyport` finds it: here a home's own name in `$XDG_RUNTIME_DIR`.
#[test]
fn the_client_finds_a_homes_socket_in_the_runtime_directory() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let runtime = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        runtime.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let mut agent = env
        .program(&keyport_test_support::keyport_bin())
        .env("XDG_RUNTIME_DIR", runtime.path())
        .arg("agent")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let code = format!("import keyport; print(keyport.token({id:?}).access_token)");
    let start = std::time::Instant::now();
    let run: Run = loop {
        let run: Run = python(&env, false)
            .env("XDG_RUNTIME_DIR", runtime.path())
            .args(["-c", &code])
            .output()
            .unwrap()
            .into();
        if run.code == 0 || start.elapsed().as_secs() > 20 {
            break run;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = agent.kill();
    let _ = agent.wait();
    assert_eq!(run.ok().stdout.trim(), env.stored_tokens(&id).0);
    assert_eq!(env.audit().last().unwrap()["via"], "agent");
}

/// The bubblewrap command of docs/integrations.md that holds `marker`, as pasted but for the
/// socket and the account (the test's agent and `id` in place of "github").
fn documented_sandbox(marker: &str, socket: &Path, id: &str) -> String {
    doc_blocks("## Containers and sandboxes", "sh")
        .into_iter()
        .find(|b| b.starts_with("bwrap ") && b.contains(marker))
        .unwrap_or_else(|| panic!("no bubblewrap command with {marker:?} in the docs"))
        .replace(
            "\"$XDG_RUNTIME_DIR/keyport/agent.sock\"",
            &format!("'{}'", socket.display()),
        )
        .replace("\"github\"", &format!("\"{id}\""))
        .replace("keyport token github", &format!("keyport token {id}"))
}

/// `command` run by `sh -c` from the repository's root, as a person pastes it.
fn pasted(env: &Env, command: &str) -> Run {
    env.program(Path::new("/bin/sh"))
        .args(["-c", command])
        .current_dir(repo_root())
        .output()
        .unwrap()
        .into()
}

/// The bubblewrap command of docs/integrations.md, as pasted (the socket and account swapped for
/// the test's): a program in its own PID, mount, user and network namespaces, with the agent's
/// socket and nothing else of Keyport, gets the token; the audit names the program inside.
#[test]
fn a_sandboxed_program_given_the_agents_socket_gets_tokens_and_is_named() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let agent = env.agent();
    let command = documented_sandbox("import keyport", &agent.socket, &id);
    let out = pasted(&env, &command).ok();
    assert_eq!(out.stdout.trim(), env.stored_tokens(&id).0);
    let last = env.audit().last().unwrap().clone();
    assert_eq!(last["via"], "agent", "{last}");
    assert!(
        last["program"].as_str().unwrap().starts_with("python3"),
        "the program inside: {last}"
    );
    assert!(
        last["exe"].as_str().unwrap().starts_with("/usr/bin/python3"),
        "{last}"
    );

    // Inside, nothing but the socket leads to a token: without it the sandbox has no agent, no
    // `keyport` and no keychain.
    let without = command.replace(&format!("'{}'", agent.socket.display()), "/dev/null");
    let failed = pasted(&env, &without);
    assert_ne!(failed.code, 0, "{failed:?}");
    assert!(failed.stderr.contains("KeyportError"), "{failed:?}");
}

/// `keyport` itself inside a sandbox, the agent's socket mounted there (the command pasted from
/// docs/integrations.md, with the `keyport` under test in place of the installed one): it asks
/// the mounted socket as this machine's agent, and the program named is the one that ran it inside.
#[test]
fn keyport_in_a_sandbox_asks_the_mounted_socket_and_its_caller_is_named() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let agent = env.agent();
    let command = documented_sandbox("keyport token", &agent.socket, &id).replace(
        "--ro-bind /usr /usr",
        &format!(
            "--ro-bind /usr /usr --ro-bind '{}' /opt/keyport/keyport --setenv PATH /opt/keyport:/usr/bin",
            keyport_test_support::keyport_bin().display()
        ),
    );
    assert_eq!(
        pasted(&env, &command).ok().stdout.trim(),
        env.stored_tokens(&id).0
    );
    let last = env.audit().last().unwrap().clone();
    assert_eq!(last["via"], "agent", "{last}");
    assert!(
        last["program"].as_str().unwrap().starts_with("python3"),
        "the program that ran keyport inside, not keyport or bwrap: {last}"
    );
}

/// Callers refused the same token at once (a burst of requests when a token is revoked) get one
/// new token, from one refresh.
#[test]
fn callers_refused_the_same_token_together_cause_one_refresh() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let refused = env.stored_tokens(&id).0;
    let _agent = env.agent();
    let code = format!(
        "import json, keyport\n\
         from concurrent.futures import ThreadPoolExecutor\n\
         with ThreadPoolExecutor(8) as pool:\n    \
             got = list(pool.map(lambda _: keyport.token({id:?}, rejected={refused:?}).access_token, range(8)))\n\
         print(json.dumps(got))"
    );
    let run: Run = python(&env, false).args(["-c", &code]).output().unwrap().into();
    let got = strings(&run.ok().json());
    assert_eq!(got.len(), 8);
    assert!(got.iter().all(|t| *t == got[0] && *t != refused), "{got:?}");
    assert_eq!(env.server.grants("refresh_token"), 1);
    assert!(env.server.is_active(&got[0]));
}

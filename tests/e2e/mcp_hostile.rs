//! MCP servers that try to get what is not theirs, against the real `keyport` and servers built on
//! the official MCP Python SDK (`tests/mcp-server/`, one script per kind of hostility): a neighbour
//! on the same origin after another server's token.

use keyport_test_support::{Env, HostileMcp, Run};
use std::process::Command;

/// The Python SDK's stdio client (`tests/mcp-server/client.py`) running `keyport mcp <url>`.
fn sdk_client(env: &Env, url: &str) -> Command {
    let root = keyport_test_support::repo_root();
    let mut client = env.program(&root.join(".tools/mcp-venv/bin/python"));
    client
        .arg(root.join("tests/mcp-server/client.py"))
        .arg(keyport_test_support::keyport_bin())
        .args(["mcp", url, "--timeout", "30"]);
    client
}

/// Which server answered the client's `whoami` calls, each time.
fn answered_by(run: Run) -> Vec<String> {
    let said = run.ok().json();
    said["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|call| {
            let call: serde_json::Value = serde_json::from_str(call.as_str().unwrap()).unwrap();
            call["server"].as_str().unwrap().to_string()
        })
        .collect()
}

/// The SDK's client through `keyport mcp <url>`, to its end.
fn client_run(env: &Env, url: &str) -> Run {
    sdk_client(env, url).output().unwrap().into()
}

#[test]
fn a_server_on_the_same_origin_never_gets_another_servers_token() {
    // One origin, two servers with an authorization server each; both resource metadata documents
    // claim the origin's root, a prefix of every URL there.
    let env = Env::new(60);
    let servers = HostileMcp::start("same_origin.py", &[]);
    let (a, alt, b) = (servers.url("a"), servers.url("alt"), servers.url("b"));
    let seen = || servers.get_json(&format!("{}test/seen", servers.url("origin")));
    let a_id = env.run(&["connect", &a, "--json", "--timeout", "30"]).ok().json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a_token = env.stored_tokens(&a_id).0;

    // A real client through `keyport mcp` to B: B asks, and gets a sign-in at its own
    // authorization server, never A's token.
    let through_b = client_run(&env, &b);
    let after_b = seen();
    let issued_by_b = after_b["issued"].as_array().unwrap();
    for bearer in after_b["bearers"].as_array().unwrap() {
        let token = bearer.as_str().unwrap().trim_start_matches("Bearer ");
        assert_ne!(token, a_token, "B was sent A's token: {after_b}");
        assert!(
            issued_by_b.iter().any(|t| t == token),
            "B was sent a token it did not issue: {after_b}"
        );
    }
    assert_eq!(answered_by(through_b), ["b", "b"]);
    assert_eq!(after_b["authorizations"]["b"], 1, "{after_b}");
    assert_eq!(env.list().as_array().unwrap().len(), 2, "{}", env.list());

    // A's account still serves A, and only it: by its URL, and through `keyport mcp` with no new
    // sign-in.
    let by_url = env.run(&["token", "--resource", &a]).ok().stdout;
    assert_eq!(by_url.trim(), a_token);
    assert_eq!(answered_by(client_run(&env, &a)), ["a", "a"]);
    assert_eq!(seen()["authorizations"]["a"], 1);

    // Another URL of A, whose own metadata names A's resource and A's authorization server, is
    // A's: no sign-in, no new account, and the URL is kept in A's entry.
    assert_eq!(answered_by(client_run(&env, &alt)), ["a", "a"]);
    let end = seen();
    assert_eq!(
        end["authorizations"],
        serde_json::json!({"a": 1, "b": 1}),
        "{end}"
    );
    assert_eq!(env.list().as_array().unwrap().len(), 2);
    let providers = std::fs::read_to_string(env.home.path().join("config/providers.toml")).unwrap();
    assert!(
        providers.contains(&format!("mcp_urls = [\"{a}\", \"{alt}\"]")),
        "{providers}"
    );
}

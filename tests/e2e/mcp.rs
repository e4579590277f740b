//! Remote MCP servers, connected by their URL alone, against a real MCP server and authorization
//! server built on the official Python SDK (`tests/mcp-server`): discovery from the 401, resource
//! metadata and authorization-server metadata, dynamic registration with the exact redirect, the
//! resource indicator on every request, and the tokens used on the server's own tool.

use keyport_test_support::{Env, McpServer, OidcServer, Run};
use std::process::Command;

/// Connects the MCP server at `url` (`keyport connect URL`): the account's id.
fn connect_mcp(env: &Env, url: &str) -> String {
    env.run(&["connect", url, "--json", "--timeout", "30"])
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The Python SDK's stdio client through `keyport mcp <url>`, calling `admin_report` (which needs
/// a step-up) after its `whoami` calls: what it printed, and that last call's answer.
fn admin_report_through_the_sdk_client(env: &Env, url: &str) -> (serde_json::Value, serde_json::Value) {
    let run: Run = sdk_client(env, url)
        .env("EXTRA_TOOL", "admin_report")
        .output()
        .unwrap()
        .into();
    let said = run.ok().json();
    let calls = said["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 3, "whoami twice, then admin_report: {said}");
    let admin = serde_json::from_str(calls[2].as_str().unwrap()).unwrap();
    (said, admin)
}

/// The Python SDK's stdio client (shared by the MCP test files) (`tests/mcp-server/client.py`) running `keyport mcp <url>`.
pub(crate) fn sdk_client(env: &Env, url: &str) -> Command {
    let root = keyport_test_support::repo_root();
    let mut client = env.program(&root.join(".tools/mcp-venv/bin/python"));
    client
        .arg(root.join("tests/mcp-server/client.py"))
        .arg(keyport_test_support::keyport_bin())
        .args(["mcp", url, "--timeout", "30"]);
    client
}

#[test]
fn an_mcp_server_is_connected_by_its_url_and_its_tokens_call_its_tools() {
    let env = Env::new(60);
    let server = McpServer::start(3600);
    // Without a token the server says no; that is where discovery starts.
    assert_eq!(server.call_whoami("nothing").0, 401);

    let account = env
        .run(&["connect", &server.url, "--json", "--timeout", "30"])
        .ok()
        .json();
    let id = account["id"].as_str().unwrap().to_string();
    assert_eq!(account["status"], "ok");
    let stats = server.stats();
    assert_eq!(stats["registrations"], 1, "Keyport registered itself: {stats}");
    assert_eq!(stats["token_grants"]["authorization_code"], 1, "{stats}");
    assert_eq!(stats["last_authorize_resource"], server.url.as_str(), "{stats}");
    assert_eq!(stats["last_token_resource"], server.url.as_str(), "{stats}");

    // The token for that server, by its URL; the server accepts it on its tool.
    let token = env.run(&["token", "--resource", &server.url]).ok().stdout;
    assert_eq!(token.trim(), env.stored_tokens(&id).0);
    let (status, said) = server.call_whoami(token.trim());
    assert_eq!(status, 200, "{said}");
    assert!(
        said.contains(&server.url),
        "the token is for this resource: {said}"
    );

    // A refresh carries the same resource, and the new token works too.
    env.run(&["refresh", &id]).ok();
    let stats = server.stats();
    assert_eq!(stats["token_grants"]["refresh_token"], 1, "{stats}");
    assert_eq!(stats["last_token_resource"], server.url.as_str(), "{stats}");
    let fresh = env.run(&["token", &id]).ok().stdout;
    assert_ne!(fresh.trim(), token.trim());
    assert_eq!(server.call_whoami(fresh.trim()).0, 200);

    // Connecting the same server again reuses its entry, its account and its registration.
    env.run(&["connect", &server.url, "--timeout", "30"]).ok();
    assert_eq!(env.list().as_array().unwrap().len(), 1, "one account per server");
    let providers = std::fs::read_to_string(env.home.path().join("config/providers.toml")).unwrap();
    assert_eq!(providers.matches("resource = ").count(), 1, "{providers}");
    let stats = server.stats();
    assert_eq!(
        stats["registrations"], 1,
        "the same client signed in again: {stats}"
    );
    assert_eq!(stats["authorizations"], 2, "{stats}");
}

/// The registration kept for the server, from `registrations.json`.
fn kept_registration(env: &Env) -> serde_json::Value {
    let text = std::fs::read_to_string(env.home.path().join("data/registrations.json")).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    let all = file["registrations"].as_array().unwrap();
    assert_eq!(all.len(), 1, "one registration per server: {text}");
    all[0].clone()
}

#[test]
fn a_kept_registration_whose_port_is_taken_or_that_the_server_forgot_is_made_again() {
    let env = Env::new(60);
    let server = McpServer::start(3600);
    env.run(&["connect", &server.url, "--timeout", "30"]).ok();
    let first = kept_registration(&env);
    let redirect = first["redirect_uri"].as_str().unwrap();
    let port: u16 = redirect
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.split('/').next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("a loopback redirect: {redirect}"));
    assert!(!first["client_id"].as_str().unwrap().is_empty());

    // The server matches redirects exactly, port included: with that port taken by another
    // program, the registered client cannot come back, so Keyport registers again.
    let squatter = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    env.run(&["connect", &server.url, "--timeout", "30"]).ok();
    drop(squatter);
    let second = kept_registration(&env);
    assert_ne!(second["client_id"], first["client_id"]);
    assert_ne!(second["redirect_uri"], first["redirect_uri"]);
    assert_eq!(server.stats()["registrations"], 2);

    // A server that forgot its clients (many keep them in memory) shows an error page instead of
    // coming back: that sign-in times out, and the next one registers again and succeeds.
    server.forget_clients();
    let failed = env.run(&["connect", &server.url, "--timeout", "3"]);
    assert_ne!(failed.code, 0, "{failed:?}");
    let kept = std::fs::read_to_string(env.home.path().join("data/registrations.json")).unwrap();
    assert!(
        kept.contains("\"registrations\": []"),
        "the refused client is forgotten: {kept}"
    );
    env.run(&["connect", &server.url, "--timeout", "30"]).ok();
    assert_eq!(server.stats()["registrations"], 3);
    assert_eq!(env.list()[0]["status"], "ok");

    // Forgotten again, the server refuses the client's refresh (invalid_client): the account
    // needs a reconnect, which registers again.
    server.forget_clients();
    let id = env.list()[0]["id"].as_str().unwrap().to_string();
    env.run(&["refresh", &id])
        .fails(4, "no longer knows the client Keyport registered");
    env.run(&["connect", &server.url, "--timeout", "30"]).ok();
    assert_eq!(server.stats()["registrations"], 4);
    env.run(&["refresh", &id]).ok();
}

#[test]
fn a_server_whose_metadata_names_another_resource_is_refused() {
    let env = Env::new(60);
    let server = McpServer::start_with(3600, &[("PRM_RESOURCE", "http://127.0.0.1:1/elsewhere")]);
    let run = env
        .run(&["connect", &server.url, "--timeout", "10"])
        .fails(6, "not");
    assert!(run.stderr.contains("another server"), "{}", run.stderr);
    assert_eq!(server.stats()["registrations"], 0, "nothing was registered");
    assert_eq!(env.list(), serde_json::json!([]));
    assert!(
        !std::fs::read_to_string(env.home.path().join("config/providers.toml"))
            .unwrap_or_default()
            .contains("resource =")
    );
}

#[test]
fn a_real_mcp_client_uses_the_server_through_keyport_mcp_across_a_token_expiry() {
    // Tokens of 3 s: the second call comes after the first token expired.
    let env = Env::new(60);
    let server = McpServer::start(3);
    let client = |pause: &str| -> keyport_test_support::Run {
        sdk_client(&env, &server.url)
            .env("PAUSE", pause)
            .output()
            .unwrap()
            .into()
    };
    // No account yet: the bridge signs in first (the scripted browser), then serves.
    let first = client("4").ok();
    let said = first.json();
    assert!(
        said["tools"].as_array().unwrap().contains(&"whoami".into()),
        "{}",
        first.stderr
    );
    let calls = said["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    for call in calls {
        assert!(call.as_str().unwrap().contains(&server.url), "{call}");
    }
    let stats = server.stats();
    assert_eq!(stats["registrations"], 1, "{stats}");
    assert_eq!(
        stats["token_grants"]["refresh_token"], 1,
        "the expired token was refreshed: {stats}"
    );
    assert_eq!(stats["tool_calls"], 2, "{stats}");
    // The client's stdout held only the protocol: the script printed one JSON line, and no token
    // appeared anywhere the client could show.
    let token = env.stored_tokens(env.list()[0]["id"].as_str().unwrap()).0;
    assert!(!first.stderr.contains(&token));

    // A second client later uses the same account: no new sign-in.
    client("0").ok();
    assert_eq!(
        server.stats()["authorizations"],
        1,
        "one sign-in for both clients"
    );
    assert_eq!(env.list().as_array().unwrap().len(), 1);
}

#[test]
fn the_documented_client_configuration_and_header_command_work() {
    let env = Env::new(60);
    let server = McpServer::start(3600);
    let root = keyport_test_support::repo_root();
    let docs = std::fs::read_to_string(root.join("docs/integrations.md")).unwrap();
    let section = &docs[docs.find("## MCP clients").expect("the MCP section")..];
    let block = |fence: &str| -> String {
        let start = section.find(fence).unwrap() + fence.len();
        section[start..][..section[start..].find("```").unwrap()].to_string()
    };
    let config: serde_json::Value = serde_json::from_str(&block("```json\n")).unwrap();
    let entry = &config["mcpServers"]["example"];
    let documented = "https://mcp.example.com/mcp";
    let command = entry["command"].as_str().unwrap();
    let args: Vec<String> = entry["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().replace(documented, &server.url))
        .collect();
    assert_eq!(command, "keyport");
    // As installed: `keyport` on PATH.
    let bin_dir = keyport_test_support::keyport_bin()
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let run: keyport_test_support::Run = env
        .program(&root.join(".tools/mcp-venv/bin/python"))
        .arg(root.join("tests/mcp-server/client.py"))
        .arg(command)
        .args(&args)
        .env("PATH", &path)
        .output()
        .unwrap()
        .into();
    assert!(run.ok().json()["tools"]
        .as_array()
        .unwrap()
        .contains(&"whoami".into()));

    // The header command, as documented.
    let line = block("```sh\n");
    let words: Vec<String> = line
        .split_whitespace()
        .map(|w| w.replace(documented, &server.url))
        .collect();
    assert_eq!(words[0], "keyport");
    let header: keyport_test_support::Run = env
        .program(&bin_dir.join("keyport"))
        .args(&words[1..])
        .output()
        .unwrap()
        .into();
    let id = env.list()[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        header.ok().stdout.trim(),
        format!("Authorization: Bearer {}", env.stored_tokens(&id).0)
    );
}

#[test]
fn two_clients_starting_at_once_make_one_sign_in() {
    let env = Env::new(60);
    let server = McpServer::start(3600);
    let start = || {
        sdk_client(&env, &server.url)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    for client in [a, b] {
        let run: keyport_test_support::Run = client.wait_with_output().unwrap().into();
        assert!(run.ok().json()["tools"]
            .as_array()
            .unwrap()
            .contains(&"whoami".into()));
    }
    let stats = server.stats();
    assert_eq!(stats["authorizations"], 1, "one browser trip for both: {stats}");
    assert_eq!(env.list().as_array().unwrap().len(), 1);
}

#[test]
fn a_plain_oauth_server_is_added_by_its_issuer_from_its_rfc_8414_metadata() {
    // The SDK's authorization server publishes RFC 8414 metadata only, no OpenID discovery.
    let env = Env::new(60);
    let server = McpServer::start(3600);
    let issuer = server.url.trim_end_matches("mcp").to_string();
    env.run(&[
        "providers",
        "add",
        "--issuer",
        &issuer,
        "--id",
        "plain",
        "--client-id",
        "x",
    ])
    .ok();
    let providers = std::fs::read_to_string(env.home.path().join("config/providers.toml")).unwrap();
    for field in [
        "authorization_url",
        "token_url",
        "revocation_url",
        "dynamic_registration_url",
    ] {
        assert!(
            providers.contains(&format!("{field} = \"{issuer}")),
            "{field} missing: {providers}"
        );
    }
}

#[test]
fn a_tool_that_needs_more_scopes_gets_a_step_up_sign_in_in_the_middle_of_a_session() {
    // `admin_report` answers 403 insufficient_scope (scope "admin") to a token without it.
    let env = Env::new(60);
    let server = McpServer::start(3600);
    let (said, admin) = admin_report_through_the_sdk_client(&env, &server.url);
    assert_eq!(admin["admin"], true, "{said}");
    assert_eq!(admin["scopes"], serde_json::json!(["admin"]), "{said}");
    let stats = server.stats();
    assert_eq!(stats["insufficient_scope"], 1, "{stats}");
    assert_eq!(
        stats["authorizations"], 2,
        "the first sign-in, then the step-up: {stats}"
    );
    // One account still, now with the scope.
    let accounts = env.list();
    assert_eq!(accounts.as_array().unwrap().len(), 1);
    assert_eq!(accounts[0]["scopes"], serde_json::json!(["admin"]));
}

#[test]
fn disconnecting_an_mcp_server_revokes_its_grant() {
    let env = Env::new(60);
    let server = McpServer::start(3600);
    let id = connect_mcp(&env, &server.url);
    let token = env.stored_tokens(&id).0;
    env.run(&["disconnect", &id]).ok();
    assert_eq!(server.stats()["revocations"], 1);
    assert_eq!(
        server.call_whoami(&token).0,
        401,
        "the grant is dead at the server"
    );
    assert_eq!(env.list(), serde_json::json!([]));
}

#[test]
fn the_typescript_sdks_client_uses_the_server_through_keyport_mcp() {
    let env = Env::new(60);
    let server = McpServer::start(3600);
    let root = keyport_test_support::repo_root();
    let run: keyport_test_support::Run = env
        .program(std::path::Path::new("node"))
        .arg(root.join("tests/mcp-client-ts/client.mjs"))
        .arg(keyport_test_support::keyport_bin())
        .args(["mcp", &server.url, "--timeout", "30"])
        .output()
        .unwrap()
        .into();
    let said = run.ok().json();
    assert!(
        said["tools"].as_array().unwrap().contains(&"whoami".into()),
        "{said}"
    );
    assert!(said["calls"][0].as_str().unwrap().contains(&server.url), "{said}");
    assert_eq!(server.stats()["authorizations"], 1);
}

#[test]
fn when_the_grant_has_ended_the_bridge_signs_in_again_instead_of_failing() {
    let env = Env::new(60);
    let server = McpServer::start(3600);
    let id = connect_mcp(&env, &server.url);
    env.run(&["revoke", &id]).ok();
    assert_eq!(env.list()[0]["status"], "needs_reconnect");
    let run: keyport_test_support::Run = sdk_client(&env, &server.url).output().unwrap().into();
    assert!(run.ok().json()["calls"][0]
        .as_str()
        .unwrap()
        .contains(&server.url));
    assert_eq!(server.stats()["authorizations"], 2, "signed in again once");
    let accounts = env.list();
    assert_eq!(
        accounts.as_array().unwrap().len(),
        1,
        "the same account, reconnected"
    );
    assert_eq!(accounts[0]["status"], "ok");
}

#[test]
fn a_client_registered_beforehand_is_used_instead_of_registering_its_secret_kept_in_the_keychain() {
    let env = Env::new(60);
    let server = McpServer::start_with(3600, &[("PRE_REGISTERED", "keyport-by-hand:s3cr3t-by-hand")]);
    // `keyport connect URL --client-id … --client-secret-env MCP_SECRET`, the secret being `secret`.
    let connect = |secret: &str, more: &[&str]| -> Run {
        let args = [
            &["connect", &server.url, "--client-id", "keyport-by-hand"][..],
            &["--client-secret-env", "MCP_SECRET", "--timeout", "30"],
            more,
        ]
        .concat();
        env.command(&args)
            .env("MCP_SECRET", secret)
            .output()
            .unwrap()
            .into()
    };
    // The secret only ever in the environment: a wrong one is the server's refusal, and nothing
    // is stored.
    let wrong = connect("not-the-secret", &[]);
    assert_eq!(wrong.code, 6, "{wrong:?}");
    assert!(env.list().as_array().unwrap().is_empty());
    env.run(&[
        "connect",
        &server.url,
        "--client-id",
        "keyport-by-hand",
        "--client-secret-env",
        "UNSET_VAR",
    ])
    .fails(2, "UNSET_VAR");

    let run = connect("s3cr3t-by-hand", &["--json"]);
    let account = run.ok().json();
    let id = account["id"].as_str().unwrap().to_string();
    let stats = server.stats();
    assert_eq!(stats["registrations"], 0, "no registration: {stats}");
    assert_eq!(stats["token_grants"]["authorization_code"], 1, "{stats}");
    let token = env.run(&["token", &id]).ok().stdout;
    assert_eq!(server.call_whoami(token.trim()).0, 200);
    // The secret is in the keychain, not in providers.toml; a refresh authenticates with it.
    let providers = std::fs::read_to_string(env.home.path().join("config/providers.toml")).unwrap();
    assert!(
        providers.contains("client_id = \"keyport-by-hand\""),
        "{providers}"
    );
    assert!(!providers.contains("s3cr3t-by-hand"), "{providers}");
    env.run(&["refresh", &id]).ok();
    assert_eq!(server.stats()["token_grants"]["refresh_token"], 1);
}

#[test]
fn messages_the_server_sends_outside_any_request_reach_the_client_over_the_sessions_stream() {
    // `notify_later` answers, then sends `tools/list_changed` on its own: only a bridge that keeps
    // the session's GET stream open hands it to the client. Both answer kinds of POST are covered:
    // an event stream (the SDK's default) and plain JSON.
    for json_response in ["0", "1"] {
        let env = Env::new(60);
        let server = McpServer::start_with(3600, &[("JSON_RESPONSE", json_response)]);
        let run: Run = sdk_client(&env, &server.url)
            .env("EXTRA_TOOL", "notify_later")
            .env("WAIT_FOR_NOTIFICATION", "notifications/tools/list_changed")
            .output()
            .unwrap()
            .into();
        let said = run.ok().json();
        assert_eq!(server.stats()["stream_notifications"], 1, "{said}");
        assert!(
            said["notifications"]
                .as_array()
                .unwrap()
                .contains(&"notifications/tools/list_changed".into()),
            "the client got the server's own message: {said}"
        );
    }
}

#[test]
fn an_authorization_answer_from_another_issuer_is_refused_when_the_server_promises_rfc_9207() {
    // The metadata says the answer carries `iss`; one that names another issuer is a mix-up.
    let env = Env::new(60);
    let wrong = McpServer::start_with(3600, &[("ISS_PARAMETER", "wrong")]);
    env.run(&["connect", &wrong.url, "--timeout", "30"])
        .fails(1, "issuer");
    assert_eq!(
        wrong.stats()["token_grants"]["authorization_code"],
        0,
        "no code was exchanged"
    );
    assert!(env.list().as_array().unwrap().is_empty());
    let right = McpServer::start_with(3600, &[("ISS_PARAMETER", "right")]);
    env.run(&["connect", &right.url, "--timeout", "30"]).ok();
    assert_eq!(env.list().as_array().unwrap().len(), 1);
}

#[test]
fn a_server_of_the_2024_11_05_revision_is_reached_over_its_http_and_sse_transport() {
    // GET /sse names where to POST; answers come back on that stream. The client sees an MCP
    // server like any other.
    let env = Env::new(60);
    let server = McpServer::start_with(3600, &[("TRANSPORT", "sse")]);
    assert!(server.url.ends_with("/sse"), "{}", server.url);
    let run: Run = sdk_client(&env, &server.url).output().unwrap().into();
    let said = run.ok().json();
    assert!(
        said["tools"].as_array().unwrap().contains(&"whoami".into()),
        "{said}"
    );
    let calls = said["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert!(calls[0].as_str().unwrap().contains(&server.url), "{said}");
    assert_eq!(server.stats()["tool_calls"], 2);
}

#[test]
fn a_client_id_metadata_document_is_the_client_id_where_the_server_takes_them_and_elsewhere_keyport_registers(
) {
    let env = Env::new(60);
    let takes = McpServer::start_with(3600, &[("CIMD", "1")]);
    let document = format!("{}/test/client-metadata.json", takes.url.trim_end_matches("/mcp"));
    let id = env
        .run(&[
            "connect",
            &takes.url,
            "--client-metadata-url",
            &document,
            "--json",
            "--timeout",
            "30",
        ])
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let stats = takes.stats();
    assert_eq!(stats["registrations"], 0, "{stats}");
    assert!(
        stats["metadata_document_fetches"].as_u64().unwrap() >= 1,
        "{stats}"
    );
    let token = env.run(&["token", &id]).ok().stdout;
    assert!(
        takes.call_whoami(token.trim()).1.contains(&document),
        "the client id is the document's URL"
    );

    // A server that does not say it takes them gets a registration, as without the option.
    let plain = McpServer::start(3600);
    env.run(&[
        "connect",
        &plain.url,
        "--client-metadata-url",
        &document,
        "--timeout",
        "30",
    ])
    .ok();
    assert_eq!(plain.stats()["registrations"], 1);

    // Named once in config.toml, the document is the client id without the option too.
    let another = McpServer::start_with(3600, &[("CIMD", "1")]);
    let document = format!(
        "{}/test/client-metadata.json",
        another.url.trim_end_matches("/mcp")
    );
    std::fs::write(
        env.home.path().join("config/config.toml"),
        format!("[mcp]\nclient_metadata_url = \"{document}\"\n"),
    )
    .unwrap();
    let id = connect_mcp(&env, &another.url);
    assert_eq!(another.stats()["registrations"], 0);
    let token = env.run(&["token", &id]).ok().stdout;
    assert!(another.call_whoami(token.trim()).1.contains(&document));
}

#[test]
fn an_mcp_server_whose_authorization_server_is_node_oidc_provider_signs_in_refreshes_and_steps_up() {
    // A second, independent authorization server: node oidc-provider with open registration and
    // resource indicators, issuing JWT access tokens whose audience is the MCP server, which
    // checks them against the provider's keys (tests/mcp-server/server.py, AUTH_SERVER).
    let env = Env::new(60);
    let auth = OidcServer::start_with(60, &[("MCP", "1")]);
    let server = McpServer::start_with(3600, &[("AUTH_SERVER", auth.issuer.as_str())]);
    let account = env
        .run(&["connect", &server.url, "--json", "--timeout", "30"])
        .ok()
        .json();
    let id = account["id"].as_str().unwrap().to_string();
    let stats = auth.stats();
    assert_eq!(stats["registrations"], 1, "{stats}");
    assert_eq!(stats["grants"]["authorization_code"], 1, "{stats}");
    let providers = std::fs::read_to_string(env.home.path().join("config/providers.toml")).unwrap();
    assert!(
        providers.contains(&format!("issuer = \"{}\"", auth.issuer)),
        "{providers}"
    );
    // An OpenID provider grants offline_access only with prompt=consent: without it there would
    // be no refresh token (the assertion on the refresh below).
    assert!(providers.contains("prompt = \"consent\""), "{providers}");

    let token = env.run(&["token", "--resource", &server.url]).ok().stdout;
    let (status, said) = server.call_whoami(token.trim());
    assert_eq!(status, 200, "{said}");
    assert!(said.contains("mcp:tools"), "{said}");

    // The refresh names the same resource, so the new token is a JWT for this server again.
    env.run(&["refresh", &id]).ok();
    assert_eq!(auth.grants("refresh_token"), 1);
    let fresh = env.run(&["token", &id]).ok().stdout;
    assert_ne!(fresh.trim(), token.trim());
    assert_eq!(server.call_whoami(fresh.trim()).0, 200);

    // A step-up to `mcp:admin` in the middle of a real client's session: the client registered
    // without that scope, and oidc-provider refuses scopes a client did not register, so Keyport
    // registers again (for both) and signs in once more.
    let (said, admin) = admin_report_through_the_sdk_client(&env, &server.url);
    assert_eq!(admin["admin"], true, "{said}");
    let stats = auth.stats();
    assert_eq!(stats["registrations"], 2, "{stats}");
    assert_eq!(stats["grants"]["authorization_code"], 2, "{stats}");
    let accounts = env.list();
    assert_eq!(accounts.as_array().unwrap().len(), 1, "{accounts}");

    // Disconnecting revokes the grant at oidc-provider: its refresh token is dead there.
    let (_, refresh_token) = env.stored_tokens(&id);
    assert!(auth.is_active(&refresh_token));
    env.run(&["disconnect", &id]).ok();
    assert!(!auth.is_active(&refresh_token));
}

#[test]
fn a_registration_that_comes_with_a_client_secret_keeps_it_in_the_keychain_and_refreshes_with_it() {
    // The server decides (RFC 7591): a secret and client_secret_post, though Keyport asked for a
    // public client. The secret goes to the keychain, never to a file, and is what the refresh
    // and the next sign-in (the same client, kept) authenticate with.
    let env = Env::new(60);
    let server = McpServer::start_with(3600, &[("CONFIDENTIAL_REGISTRATIONS", "1")]);
    let id = connect_mcp(&env, &server.url);
    let kept = kept_registration(&env);
    assert_eq!(kept["auth_method"], "client_secret_post", "{kept}");
    for file in [
        "data/registrations.json",
        "data/accounts.json",
        "config/providers.toml",
    ] {
        let text = std::fs::read_to_string(env.home.path().join(file)).unwrap();
        assert!(
            !text.contains("client_secret\""),
            "{file} holds no secret: {text}"
        );
    }
    env.run(&["refresh", &id]).ok();
    assert_eq!(server.stats()["token_grants"]["refresh_token"], 1);
    env.run(&["connect", &server.url, "--timeout", "30"]).ok();
    let stats = server.stats();
    assert_eq!(
        stats["registrations"], 1,
        "the kept client signed in again: {stats}"
    );
    assert_eq!(stats["token_grants"]["authorization_code"], 2, "{stats}");
}

/// How many secrets of clients Keyport registered itself the keychain holds.
fn registered_secrets(env: &Env) -> usize {
    let usernames = env.keychain.usernames(&env.service());
    usernames
        .iter()
        .filter(|u| u.starts_with("registered-client:"))
        .count()
}

/// The loopback port of the client kept for the next sign-in.
fn kept_port(env: &Env) -> u16 {
    let kept = kept_registration(env);
    let redirect = kept["redirect_uri"].as_str().unwrap();
    redirect
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.split('/').next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("a loopback redirect: {redirect}"))
}

#[test]
fn a_registered_clients_secret_is_deleted_once_nothing_signs_in_as_it() {
    // Kept while it is the client kept for the next sign-in or an account signs in as it;
    // deleted when neither holds, so that the secrets of replaced clients do not pile up.
    let env = Env::new(60);
    let server = McpServer::start_with(3600, &[("CONFIDENTIAL_REGISTRATIONS", "1")]);
    let connect = |extra: &[&str]| {
        let mut args = vec!["connect", &server.url, "--json", "--timeout", "30"];
        args.extend_from_slice(extra);
        // The kept client's port taken: this sign-in registers a new client, kept in its place.
        let squatter = std::net::TcpListener::bind(("127.0.0.1", kept_port(&env))).unwrap();
        let id = env.run(&args).ok().json()["id"].as_str().unwrap().to_string();
        drop(squatter);
        id
    };
    let first = connect_mcp(&env, &server.url); // client 1
    let nickname = env.list()[0]["nickname"].as_str().unwrap().to_string();
    let second = connect(&["--nickname", "second"]); // client 2
    assert_ne!(first, second);
    assert_eq!(
        registered_secrets(&env),
        2,
        "the first account still refreshes as client 1"
    );
    env.run(&["refresh", &first]).ok();

    // Reconnected, the first account moves to client 3: nothing signs in as client 1 any more.
    assert_eq!(connect(&["--nickname", &nickname]), first);
    assert_eq!(server.stats()["registrations"], 3);
    assert_eq!(registered_secrets(&env), 2, "client 1's secret is gone");
    env.run(&["refresh", &first]).ok();

    env.run(&["disconnect", &second]).ok();
    assert_eq!(
        registered_secrets(&env),
        1,
        "client 2's secret went with the last account that used it"
    );
    env.run(&["disconnect", &first]).ok();
    assert_eq!(
        registered_secrets(&env),
        1,
        "the kept client's secret stays for the next sign-in"
    );
    env.run(&["connect", &server.url, "--timeout", "30"]).ok();
    assert_eq!(
        server.stats()["registrations"],
        3,
        "signed in again as the kept client"
    );
}

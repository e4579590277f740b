//! `keyport mcp` as today's MCP clients speak it, against a server built on the official Python
//! SDK (`tests/mcp-server`), with the SDK's newest client (`Client`, 2026-07-28 by default) in each
//! of its modes; servers that ask for a sign-in late or never; a 2025-03-26 server whose issuer is
//! a path on its own origin; machines signing in with client credentials; a sign-in through the
//! organization's identity provider (an ID-JAG); a question answered after half a minute, longer
//! than the server keeps an idle connection. (A kept-alive connection the server closed while
//! the bridge's thread was held is `core::ops::mcp_bridge::request`'s unit test: only a held
//! runtime reproduces it.)

use keyport_test_support::{Env, McpServer, OidcServer, Run};
use std::process::Command;

/// The Python SDK's `Client` (`tests/mcp-server/modern_client.py`) in `mode`, running
/// `keyport mcp <url>`.
fn modern_client(env: &Env, url: &str, mode: &str) -> Command {
    let root = keyport_test_support::repo_root();
    let mut client = env.program(&root.join(".tools/mcp-venv/bin/python"));
    client
        .arg(root.join("tests/mcp-server/modern_client.py"))
        .arg(keyport_test_support::keyport_bin())
        .args(["mcp", url, "--timeout", "30"])
        .env("MODE", mode);
    client
}

/// What the client printed, after it succeeded.
fn said(client: &mut Command) -> serde_json::Value {
    let run: Run = client.output().unwrap().into();
    run.ok().json()
}

/// The routing headers of the server's last `tools/call`.
fn last_call_headers(server: &McpServer) -> serde_json::Value {
    let stats = server.stats();
    stats["tool_call_headers"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap()
}

#[test]
fn the_sdks_newest_client_works_through_keyport_mcp_in_each_of_its_modes() {
    let env = Env::new(60);
    let server = McpServer::start(3600);
    for (mode, spoken) in [
        ("auto", "2026-07-28"),
        ("2026-07-28", "2026-07-28"),
        ("legacy", "2025-11-25"),
    ] {
        let said = said(
            modern_client(&env, &server.url, mode)
                .env("TOOL", "echo_region")
                .env("ARGS", r#"{"region": "eu west "}"#),
        );
        assert_eq!(said["protocol"], spoken, "{mode}: {said}");
        let calls = said["calls"].as_array().unwrap();
        assert!(calls[0].as_str().unwrap().contains(&server.url), "{mode}: {said}");
        assert_eq!(calls[2], "region eu west ", "{mode}: {said}");
        let headers = last_call_headers(&server);
        if spoken == "2026-07-28" {
            // One request, standing alone, with the routing facts the server checks against the
            // body; the argument's trailing space survives the header's encoding.
            assert_eq!(headers["protocol_version"], "2026-07-28", "{mode}: {headers}");
            assert_eq!(headers["method"], "tools/call", "{headers}");
            assert_eq!(headers["name"], "echo_region", "{headers}");
            assert_eq!(
                headers["params"]["mcp-param-region"], "=?base64?ZXUgd2VzdCA=?=",
                "{headers}"
            );
            assert_eq!(headers["session"], false, "{headers}");
        } else {
            assert_eq!(headers["protocol_version"], "2025-11-25", "{headers}");
            assert_eq!(headers["session"], true, "{headers}");
        }
    }
    let stats = server.stats();
    assert_eq!(stats["authorizations"], 1, "one sign-in for the three: {stats}");
    assert_eq!(stats["tool_calls"], 9, "{stats}");
    // The account reads as what the server says it is (its serverInfo), marked as an MCP server.
    let listed = &env.list()[0];
    assert_eq!(listed["nickname"], "keyport-test-mcp", "{listed}");
    assert_eq!(listed["provider_name"], "keyport-test-mcp", "{listed}");
    assert_eq!(listed["mcp_server"], true, "{listed}");
}

#[test]
fn a_server_that_needs_no_sign_in_is_simply_forwarded_to() {
    let env = Env::new(60);
    let server = McpServer::start_with(3600, &[("AUTH", "none")]);
    for mode in ["auto", "legacy"] {
        let said = said(&mut modern_client(&env, &server.url, mode));
        assert_eq!(said["calls"][0], "hello", "{mode}: {said}");
    }
    assert_eq!(env.list().as_array().unwrap().len(), 0, "no account was made");
    let stats = server.stats();
    assert_eq!(stats["tool_calls"], 4, "{stats}");
    assert_eq!(stats["registrations"], 0, "{stats}");
}

#[test]
fn a_server_that_asks_only_at_a_tool_call_gets_one_sign_in_then() {
    for (auth, scopes) in [("late401", None), ("late403", Some("admin"))] {
        let env = Env::new(60);
        let server = McpServer::start_with(3600, &[("AUTH", auth)]);
        let said = said(&mut modern_client(&env, &server.url, "auto"));
        assert_eq!(said["protocol"], "2026-07-28", "{auth}: {said}");
        let whoami: serde_json::Value = serde_json::from_str(said["calls"][0].as_str().unwrap()).unwrap();
        assert_eq!(whoami["resource"], server.url.as_str(), "{auth}: {said}");
        if let Some(scope) = scopes {
            // The 403 named the scope: the first sign-in asked for it, no step-up needed.
            assert!(
                whoami["scopes"].as_array().unwrap().contains(&scope.into()),
                "{auth}: {whoami}"
            );
        }
        let stats = server.stats();
        assert_eq!(stats["authorizations"], 1, "{auth}: {stats}");
        assert!(
            stats["unauthenticated_requests"].as_u64().unwrap() >= 2,
            "discovery and tools/list went out without a token: {stats}"
        );
        assert_eq!(env.list().as_array().unwrap().len(), 1, "{auth}");
        // A second client uses the account from its first request.
        said_again(&env, &server);
        assert_eq!(server.stats()["authorizations"], 1, "{auth}");
    }
}

#[test]
fn the_first_call_succeeds_when_the_question_is_answered_after_half_a_minute() {
    // A person reads the question before answering, and the server (uvicorn, which closes idle
    // kept-alive connections after 5 s) has long closed what the bridge's first, refused request
    // left open. The agent asks as the app does, and a stand-in for the person answers "Allow
    // once" after 30 s (debug builds only: `commands/stand_in_person.rs`). The bridge waits for
    // the token without holding its runtime here, so hyper drops the closed connection itself;
    // the race with a held runtime is `core::ops::mcp_bridge::request`'s unit test.
    let env = Env::new(60);
    let server = McpServer::start(3600);
    let _agent = env.agent_via(&["env", "KEYPORT_TEST_ANSWER_AFTER=30"]);
    // The SDK client's default mode (2026-07-28): each request on a connection of the pool.
    let started = std::time::Instant::now();
    let said = said(&mut modern_client(&env, &server.url, "auto"));
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(30),
        "no question was asked"
    );
    assert!(said["calls"][0].as_str().unwrap().contains(&server.url), "{said}");
    assert_eq!(server.stats()["authorizations"], 1);
}

#[test]
fn a_call_the_client_gives_up_on_is_cancelled_at_the_server_in_each_revision() {
    // 2026-07-28 has no notifications to the server over HTTP: the bridge closes the request's
    // stream. A session (2025-11-25) gets the client's `notifications/cancelled` itself. The
    // server answers with event streams (the SDK's default): one answering with a JSON body
    // cannot see its request's stream close while it works. The client asks the server how many
    // calls it saw cancelled while the bridge still runs (its end would close everything).
    let env = Env::new(60);
    let server = McpServer::start_with(3600, &[("JSON_RESPONSE", "0")]);
    for (n, mode) in ["auto", "legacy"].into_iter().enumerate() {
        let said = said(modern_client(&env, &server.url, mode).env("CANCEL", "wait_for_cancel"));
        let calls = said["calls"].as_array().unwrap();
        assert_eq!(calls[2], "cancelled", "{mode}: {said}");
        assert_eq!(
            calls[3],
            (n + 1).to_string(),
            "{mode}: the server's call was not cancelled: {said}"
        );
    }
    assert_eq!(server.stats()["finished_slow_calls"], 0);
}

fn said_again(env: &Env, server: &McpServer) {
    let said = said(&mut modern_client(env, &server.url, "legacy"));
    assert!(said["calls"][0].as_str().unwrap().contains(&server.url), "{said}");
}

#[test]
fn a_2025_03_26_server_whose_issuer_is_a_path_on_its_own_origin_is_signed_in_to() {
    // No resource metadata; the origin's RFC 8414 document names <origin>/oauth as its issuer.
    let env = Env::new(60);
    let server = McpServer::start_with(3600, &[("LEGACY_ISSUER_PATH", "/oauth")]);
    let account = env
        .run(&["connect", &server.url, "--json", "--timeout", "30"])
        .ok()
        .json();
    assert_eq!(account["status"], "ok", "{account}");
    let token = env.run(&["token", "--resource", &server.url]).ok().stdout;
    assert_eq!(server.call_whoami(token.trim()).0, 200);
    let providers = std::fs::read_to_string(env.home.path().join("config/providers.toml")).unwrap();
    assert!(
        providers.contains("/oauth/authorize\""),
        "the endpoints the metadata named, under the issuer's path: {providers}"
    );
}

#[test]
fn a_machine_signs_in_with_client_credentials_by_secret_or_private_key_and_renews_alone() {
    // node oidc-provider as the authorization server (client credentials, private_key_jwt, JWT
    // access tokens for the resource), tokens of 4 s; the MCP server checks them.
    let auth = OidcServer::start_with(4, &[("MCP", "1")]);
    let server = McpServer::start_with(3600, &[("AUTH_SERVER", auth.issuer.as_str())]);
    let keys = &auth.announced["machine_keys"];
    let cases = [
        (
            "keyport-machine-secret",
            "--client-secret-env",
            "machine-test-secret".to_string(),
        ),
        (
            "keyport-machine-ec",
            "--private-key-env",
            keys["ec"].as_str().unwrap().to_string(),
        ),
        (
            "keyport-machine-rsa",
            "--private-key-env",
            keys["rsa"].as_str().unwrap().to_string(),
        ),
    ];
    for (client, flag, credential) in cases {
        let minted = auth.grants("client_credentials");
        let env = Env::new(60);
        // No browser may be used: a sign-in that tried would fail here.
        let run: Run = env
            .command(&[
                "connect",
                &server.url,
                "--client-credentials",
                "--client-id",
                client,
                flag,
                "MACHINE_CREDENTIAL",
                "--json",
                "--timeout",
                "5",
            ])
            .env("MACHINE_CREDENTIAL", &credential)
            .env("BROWSER", "/bin/false")
            .output()
            .unwrap()
            .into();
        let account = run.ok().json();
        assert_eq!(account["status"], "ok", "{client}: {account}");
        let id = account["id"].as_str().unwrap().to_string();
        assert_eq!(auth.grants("client_credentials"), minted + 1, "{client}");

        // The credential is in the keychain only: not in any of Keyport's files.
        for file in ["config/providers.toml", "data/accounts.json"] {
            let text = std::fs::read_to_string(env.home.path().join(file)).unwrap_or_default();
            let line = credential.lines().nth(1).unwrap_or(&credential);
            assert!(!text.contains(line), "{client}: the credential is in {file}");
        }
        let providers = std::fs::read_to_string(env.home.path().join("config/providers.toml")).unwrap();
        assert!(
            providers.contains("grant = \"client_credentials\""),
            "{providers}"
        );

        // Its token works on the server's tools, through the newest client.
        let said = said(modern_client(&env, &server.url, "auto").env("BROWSER", "/bin/false"));
        let whoami: serde_json::Value = serde_json::from_str(said["calls"][0].as_str().unwrap()).unwrap();
        assert_eq!(whoami["client_id"], client, "{said}");
        assert!(
            whoami["scopes"].as_array().unwrap().contains(&"mcp:tools".into()),
            "{whoami}"
        );

        // Once the token ran out, the next one is minted the same way: no refresh token, no
        // person, no reconnect.
        let before = env.run(&["token", &id]).ok().stdout;
        let minted = auth.grants("client_credentials");
        std::thread::sleep(std::time::Duration::from_secs(5));
        let after = env.run(&["token", &id]).ok().stdout;
        assert_ne!(before.trim(), after.trim(), "{client}: a new token");
        assert_eq!(server.call_whoami(after.trim()).0, 200, "{client}");
        assert!(
            auth.grants("client_credentials") > minted,
            "{client}: minted anew"
        );
        assert_eq!(env.list()[0]["status"], "ok", "{client}");
    }
}

#[test]
fn through_the_organizations_identity_provider_an_id_jag_signs_in_with_no_browser_and_renews() {
    // node oidc-provider as the organization's identity provider, exchanging its ID tokens for
    // ID-JAGs (RFC 8693); the Python SDK's authorization server taking them (RFC 7523 jwt-bearer,
    // SEP-990) for a client the organization registered there. Tokens of 4 s.
    let env = Env::new(60);
    let idp = OidcServer::start_with(60, &[("ID_JAG_CLIENT_ID", "keyport-enterprise")]);
    env.add_providers(&format!(
        "\n[providers.corp]\ndisplay_name = \"Corp\"\nissuer = \"{}\"\nclient_id = \"keyport-test\"\n\
         scopes = [\"openid\", \"email\", \"offline_access\"]\nauthorization_params = {{ prompt = \"consent\" }}\n",
        idp.issuer
    ));
    let person = env.connect_to("corp", "alice");
    let server = McpServer::start_with(
        4,
        &[
            ("PRE_REGISTERED", "keyport-enterprise:enterprise-secret"),
            ("ID_JAG_ISSUER", idp.issuer.as_str()),
        ],
    );
    // The server itself: no browser may open (BROWSER fails).
    let run: Run = env
        .command(&[
            "connect",
            &server.url,
            "--via",
            &person,
            "--client-id",
            "keyport-enterprise",
            "--client-secret-env",
            "MCP_CLIENT_SECRET",
            "--json",
            "--timeout",
            "5",
        ])
        .env("MCP_CLIENT_SECRET", "enterprise-secret")
        .env("BROWSER", "/bin/false")
        .output()
        .unwrap()
        .into();
    let account = run.ok().json();
    let id = account["id"].as_str().unwrap().to_string();
    assert_eq!(account["status"], "ok", "{account}");
    assert_eq!(idp.stats()["id_jags"], 1);
    assert_eq!(server.stats()["identity_assertions"], 1);
    assert_eq!(
        server.stats()["authorizations"],
        0,
        "no browser sign-in at the server"
    );
    let providers = std::fs::read_to_string(env.home.path().join("config/providers.toml")).unwrap();
    assert!(
        providers.contains("grant = \"identity_assertion\""),
        "{providers}"
    );
    assert!(providers.contains(&format!("via = \"{person}\"")), "{providers}");
    assert!(
        !providers.contains("enterprise-secret"),
        "the secret is in the keychain only"
    );

    // A client through keyport mcp: the server knows the person the identity provider named.
    let said = said(modern_client(&env, &server.url, "auto").env("BROWSER", "/bin/false"));
    let whoami: serde_json::Value = serde_json::from_str(said["calls"][0].as_str().unwrap()).unwrap();
    assert_eq!(whoami["subject"], "alice", "{said}");
    assert_eq!(whoami["client_id"], "keyport-enterprise", "{said}");

    // Once the token ran out: a new ID-JAG, a new token; still no browser, no reconnect.
    let before = env.run(&["token", &id]).ok().stdout;
    std::thread::sleep(std::time::Duration::from_secs(5));
    let after = env.run(&["token", &id]).ok().stdout;
    assert_ne!(before.trim(), after.trim());
    assert_eq!(server.call_whoami(after.trim()).0, 200);
    let assertions = server.stats()["identity_assertions"].as_u64().unwrap();
    assert!(assertions >= 2, "{assertions}");
    assert_eq!(idp.stats()["id_jags"].as_u64().unwrap(), assertions);
    assert_eq!(server.stats()["authorizations"], 0);

    // An ID token obtained elsewhere (no account at the identity provider in this home): given
    // once from the environment, kept in the keychain, exchanged at the named token endpoint.
    let id_token = env.keychain_item(&person).unwrap()["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let elsewhere = Env::new(60);
    let token_endpoint = format!("{}/token", idp.issuer);
    let run: Run = elsewhere
        .command(&[
            "connect",
            &server.url,
            "--client-id",
            "keyport-enterprise",
            "--client-secret-env",
            "MCP_CLIENT_SECRET",
            "--idp-token-endpoint",
            &token_endpoint,
            "--idp-client-id",
            "keyport-test",
            "--idp-id-token-env",
            "ID_TOKEN",
            "--json",
            "--timeout",
            "5",
        ])
        .env("MCP_CLIENT_SECRET", "enterprise-secret")
        .env("ID_TOKEN", &id_token)
        .env("BROWSER", "/bin/false")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.ok().json()["status"], "ok");
    let providers = std::fs::read_to_string(elsewhere.home.path().join("config/providers.toml")).unwrap();
    assert!(
        providers.contains(&format!("idp_token_url = \"{token_endpoint}\"")),
        "{providers}"
    );
    assert!(
        !providers.contains(&id_token),
        "the ID token is in the keychain only"
    );
    let answered = self::said(modern_client(&elsewhere, &server.url, "auto").env("BROWSER", "/bin/false"));
    let whoami: serde_json::Value = serde_json::from_str(answered["calls"][0].as_str().unwrap()).unwrap();
    assert_eq!(whoami["subject"], "alice", "{answered}");
    assert_eq!(server.stats()["authorizations"], 0);
}

#[test]
fn a_request_whose_event_stream_the_server_closes_is_resumed_with_last_event_id() {
    // The server closes the tool call's stream before answering (as a server that wants to be
    // polled does) and names `retry: 300`: the answer comes only to a client that resumes.
    let env = Env::new(60);
    let server = McpServer::start_with(3600, &[("EVENT_STORE", "1"), ("JSON_RESPONSE", "0")]);
    let said = said(
        modern_client(&env, &server.url, "legacy")
            .env("TOOL", "poll_later")
            .env("ARGS", "{}"),
    );
    assert_eq!(said["calls"][2], "polled", "{said}");
    let stats = server.stats();
    assert!(stats["resumed"].as_u64().unwrap() >= 1, "{stats}");
}

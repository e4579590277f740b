//! Each provider deviation the catalog declares, end to end: the real CLI, the built-in preset's
//! quirk fields, and the quirks server playing that provider (its endpoints swapped in by a
//! user override, nothing else).

use keyport_test_support::{Env, QuirksServer};

fn connect(env: &Env, provider: &str) -> serde_json::Value {
    env.run(&["connect", provider, "--json", "--timeout", "30"])
        .ok()
        .json()
}

fn revoked(quirks: &QuirksServer) -> Vec<String> {
    quirks.log()["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn slack_user_token_nested_in_authed_user_with_user_scope_and_bearer_revocation() {
    let env = Env::new(60);
    let quirks = QuirksServer::start();
    env.add_providers(&quirks.preset_override(
        "slack",
        "slack",
        &[
            ("authorization_url", "authorize"),
            ("token_url", "token"),
            ("userinfo_url", "auth.test"),
            ("revocation_url", "auth.revoke"),
        ],
    ));
    let account = connect(&env, "slack");
    // The user token from `authed_user`, not the bot token beside it.
    let (access, refresh) = env.stored_tokens("slack-1");
    assert!(access.starts_with("xoxp-"), "{access}");
    assert!(!refresh.is_empty());
    assert_eq!(account["nickname"], "ada", "from auth.test");
    assert_eq!(account["metadata"]["team.name"], "Acme Corp");
    assert!(
        account["expires_in"].as_i64().unwrap() > 40000,
        "authed_user's expires_in"
    );
    let authorize = &quirks.requests("slack", "authorize")[0]["params"];
    assert_eq!(authorize["user_scope"], "users:read");
    assert!(authorize.get("scope").is_none(), "{authorize}");

    env.run(&["refresh", "slack-1"]).ok();
    let (after, _) = env.stored_tokens("slack-1");
    assert!(after.starts_with("xoxp-") && after != access);

    let out = env.run(&["disconnect", "slack-1"]).ok().stdout;
    assert!(out.contains("revoked its access"), "{out}");
    assert_eq!(
        revoked(&quirks),
        vec![after.clone()],
        "auth.revoke got the token as bearer"
    );
    let revocation = &quirks.requests("slack", "auth.revoke")[0];
    assert_eq!(revocation["auth"], "Bearer");
}

#[test]
fn an_error_sent_with_http_200_is_an_error() {
    let env = Env::new(60);
    let quirks = QuirksServer::start();
    env.add_providers(&quirks.preset_override(
        "slack",
        "slack",
        &[("authorization_url", "authorize"), ("token_url", "token")],
    ));
    env.run_with_browser("bad-code", &["connect", "slack", "--timeout", "30"])
        .fails(6, "invalid_grant");
    assert_eq!(env.list(), serde_json::json!([]));
}

#[test]
fn salesforce_instance_url_is_kept_and_a_token_without_expiry_stays_ok() {
    let env = Env::new(60);
    let quirks = QuirksServer::start();
    env.add_providers(&quirks.preset_override(
        "salesforce",
        "salesforce",
        &[
            ("authorization_url", "authorize"),
            ("token_url", "token"),
            ("userinfo_url", "userinfo"),
            ("revocation_url", "revoke"),
        ],
    ));
    let account = connect(&env, "salesforce");
    assert_eq!(
        account["metadata"]["instance_url"],
        "https://acme.my.salesforce.example"
    );
    assert_eq!(account["nickname"], "ada@salesforce.example");
    assert!(account["expires_at"].is_null(), "no expires_in: {account}");
    assert_eq!(account["status"], "ok");
    let listed = env.list();
    assert_eq!(
        listed[0]["metadata"]["instance_url"],
        "https://acme.my.salesforce.example"
    );
    // A refresh answer carries it again; the refresh token, absent from it, is kept.
    let (_, refresh) = env.stored_tokens("salesforce-1");
    env.run(&["refresh", "salesforce-1"]).ok();
    assert_eq!(env.stored_tokens("salesforce-1").1, refresh);
    assert_eq!(
        env.list()[0]["metadata"]["instance_url"],
        "https://acme.my.salesforce.example"
    );
    // Nothing of the kind is a secret, and no secret joined it in the account file.
    let file = env.accounts_file();
    assert!(file.contains("instance_url") && !file.contains(&refresh) && !file.contains("c2lnbmF0dXJl"));
    env.run(&["revoke", "salesforce-1"]).ok();
    assert!(
        revoked(&quirks).contains(&refresh),
        "RFC 7009 revocation of the refresh token"
    );
}

#[test]
fn figma_refreshes_at_its_own_url_and_keeps_the_refresh_token() {
    let env = Env::new(60);
    let quirks = QuirksServer::start();
    env.add_providers(&quirks.preset_override(
        "figma",
        "figma",
        &[
            ("authorization_url", "authorize"),
            ("token_url", "token"),
            ("refresh_url", "refresh"),
            ("userinfo_url", "me"),
        ],
    ));
    let account = connect(&env, "figma");
    assert_eq!(account["nickname"], "ada@figma.example");
    let (first, refresh) = env.stored_tokens("figma-1");
    env.run(&["refresh", "figma-1"]).ok();
    env.run(&["refresh", "figma-1"]).ok();
    let (latest, kept) = env.stored_tokens("figma-1");
    assert_ne!(latest, first);
    assert_eq!(
        kept, refresh,
        "the answer had no refresh token: the old one stays"
    );
    let refreshes = quirks.requests("figma", "refresh");
    assert_eq!(refreshes.len(), 2);
    assert!(refreshes.iter().all(|r| r["auth"] == "Basic"), "{refreshes:?}");
    assert!(
        quirks
            .requests("figma", "token")
            .iter()
            .all(|r| r["params"]["grant_type"] == "authorization_code"),
        "no refresh went to the token URL"
    );
}

#[test]
fn notion_takes_json_token_requests_and_names_the_user_in_its_answer() {
    let env = Env::new(60);
    let quirks = QuirksServer::start();
    env.add_providers(&quirks.preset_override(
        "notion",
        "notion",
        &[("authorization_url", "authorize"), ("token_url", "token")],
    ));
    let account = connect(&env, "notion");
    let request = &quirks.requests("notion", "token")[0];
    assert_eq!(request["contentType"], "application/json");
    assert_eq!(request["auth"], "Basic");
    assert_eq!(request["params"]["grant_type"], "authorization_code");
    assert_eq!(account["nickname"], "ada@notion.example");
    assert_eq!(account["metadata"]["workspace_name"], "Acme Wiki");
    // No revocation: disconnect is local, and says so.
    let out = env.run(&["disconnect", "notion-1"]).ok().stdout;
    assert!(out.contains("offers no revocation"), "{out}");
}

#[test]
fn linear_user_from_graphql_non_expiring_token_and_bearer_revocation() {
    let env = Env::new(60);
    let quirks = QuirksServer::start();
    env.add_providers(&quirks.preset_override(
        "linear",
        "linear",
        &[
            ("authorization_url", "authorize"),
            ("token_url", "token"),
            ("userinfo_url", "graphql"),
            ("revocation_url", "revoke"),
        ],
    ));
    let account = connect(&env, "linear");
    assert_eq!(account["nickname"], "ada@linear.example");
    assert!(account["expires_at"].is_null());
    assert_eq!(account["status"], "ok");
    let query = &quirks.requests("linear", "graphql")[0];
    assert_eq!(query["method"], "POST");
    assert!(query["params"]["query"].as_str().unwrap().contains("viewer"));
    // A token that never expires is handed out as is; there is nothing to refresh it with.
    let item = env.keychain_item("linear-1").unwrap();
    let access = item["access_token"].as_str().unwrap();
    assert_eq!(env.run(&["token", "linear-1"]).ok().stdout.trim(), access);
    // Exit 7: the account cannot do that (a usage error, 2, before 0.2).
    env.run(&["refresh", "linear-1"]).fails(7, "cannot be refreshed");
    env.run(&["disconnect", "linear-1"]).ok();
    assert_eq!(revoked(&quirks), vec![access.to_string()]);
}

#[test]
fn device_sign_in_slows_down_when_told() {
    let env = Env::new(60);
    let quirks = QuirksServer::start();
    env.add_providers(&format!(
        "\n[providers.qdevice]\nauthorization_url = \"{0}/device/authorize\"\ntoken_url = \"{0}/device/token\"\n\
         device_authorization_url = \"{0}/device/device_authorization\"\nclient_id = \"quirks-client\"\n",
        quirks.base
    ));
    let run = env
        .run(&["connect", "qdevice", "--device", "--json", "--timeout", "60"])
        .ok();
    assert!(run.stderr.contains("QRK-"), "{}", run.stderr);
    let polls: Vec<u64> = quirks.log()["polls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    assert!(polls.len() >= 2, "{polls:?}");
    // `interval` was 1 s; after `slow_down` it must be 5 s more (RFC 8628 §3.5).
    assert!(
        polls[1] - polls[0] >= 5900,
        "polled again after {} ms",
        polls[1] - polls[0]
    );
    assert_eq!(run.json()["status"], "ok");
}

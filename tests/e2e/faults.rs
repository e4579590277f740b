//! Provider faults at the token endpoint: each gets a clear error and exit code 6, is retried only
//! when the request surely had no effect, and never damages the stored tokens. A refused refresh
//! token (`invalid_grant`) marks the account "needs reconnect" and keeps its data.

use keyport_test_support::faults::{Fault, FaultServer};
use keyport_test_support::{Env, Run};

/// Points the account's stored token endpoint at `url` (what a misbehaving provider would be).
pub(crate) fn redirect_token_endpoint(env: &Env, url: &str) {
    let path = env.home.path().join("data/accounts.json");
    let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let entry = doc["accounts"][0]["connection"].as_str().unwrap().to_string();
    doc["connections"][entry]["endpoints"]["token_url"] = url.into();
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
}

#[test]
fn token_endpoint_faults_are_reported_and_change_nothing() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let server = FaultServer::start();
    redirect_token_endpoint(&env, &server.url);
    let before = env.keychain_item(&id).unwrap();

    let html = |status| {
        Fault::Answer(
            status,
            "text/html",
            b"<html><body>Service unavailable</body></html>".to_vec(),
        )
    };
    let json = |status, body: &str| Fault::Answer(status, "application/json", body.as_bytes().to_vec());
    // (fault, what stderr must say, requests expected: transient failures are tried three times)
    let cases: Vec<(&str, Fault, &str, usize)> = vec![
        ("500 with HTML", html(500), "answered HTTP 500", 3),
        ("503 with HTML", html(503), "answered HTTP 503", 3),
        (
            "429",
            json(429, r#"{"error":"slow_down"}"#),
            "answered HTTP 429",
            3,
        ),
        ("HTML with 200", html(200), "not a valid token response", 1),
        (
            "invalid JSON",
            json(200, "{\"access_token\": "),
            "not a valid token response",
            1,
        ),
        ("truncated body", Fault::Truncated, "refresh failed", 1),
        (
            "error with HTTP 200",
            json(200, r#"{"error":"temporarily_unavailable"}"#),
            "temporarily_unavailable",
            1,
        ),
        (
            "no access_token",
            json(200, r#"{"token_type":"bearer","expires_in":3600}"#),
            "access_token",
            1,
        ),
        (
            "multi-megabyte body",
            json(200, &format!("{{\"pad\":\"{}\"}}", "x".repeat(3 << 20))),
            "larger than",
            1,
        ),
        ("redirect", json(302, "{}"), "refresh failed", 1),
        ("stall", Fault::Stall, "timed out", 1),
        ("hang-up", Fault::Hangup, "refresh failed", 1),
    ];
    for (name, fault, says, requests) in cases {
        server.set(fault);
        let run: Run = env
            .command(&["refresh", &id])
            .env("KEYPORT_HTTP_TIMEOUT", "2")
            .output()
            .unwrap()
            .into();
        assert_eq!(run.code, 6, "{name}: {run:?}");
        assert!(
            run.stderr.contains(says),
            "{name}: expected {says:?} in {}",
            run.stderr
        );
        assert_eq!(server.requests(), requests, "{name}: requests seen");
        assert_eq!(
            env.keychain_item(&id).unwrap(),
            before,
            "{name}: stored tokens changed"
        );
        assert_eq!(env.list()[0]["status"], "ok", "{name}");
        // The current token is still valid: `token` hands it out even when asked to refresh.
        let token = env.run(&["token", &id, "--min-ttl", "100000"]);
        assert_eq!(token.code, 0, "{name}: {token:?}");
        assert_eq!(token.stdout.trim(), before["access_token"].as_str().unwrap());
    }

    // Connection refused: a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    redirect_token_endpoint(&env, &format!("http://127.0.0.1:{port}/token"));
    let run = env.run(&["refresh", &id]);
    assert_eq!(run.code, 6, "{run:?}");
    assert!(run.stderr.contains("could not connect"), "{}", run.stderr);
    assert_eq!(env.keychain_item(&id).unwrap(), before);
}

#[test]
fn a_refused_refresh_token_means_reconnect_and_keeps_the_account() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let server = FaultServer::start();
    redirect_token_endpoint(&env, &server.url);
    let before = env.keychain_item(&id).unwrap();
    server.set(Fault::Answer(
        400,
        "application/json",
        br#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#.to_vec(),
    ));
    let run = env.run(&["refresh", &id]);
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr.contains("invalid_grant") && run.stderr.contains("reconnect"),
        "{}",
        run.stderr
    );
    assert_eq!(server.requests(), 1, "a refusal is not retried");
    let list = env.list();
    assert_eq!(list[0]["status"], "needs_reconnect");
    assert_eq!(
        list[0]["nickname"], "alice@example.test",
        "the account's data is kept"
    );
    assert_eq!(env.keychain_item(&id).unwrap(), before, "its tokens are kept too");
    assert_eq!(env.run(&["token", &id]).code, 4);
}

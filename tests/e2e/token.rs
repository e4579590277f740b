//! `keyport token`: valid tokens on stdout, refreshed when needed, once, whatever the concurrency.

use keyport_test_support::Env;
use std::time::Duration;

#[test]
fn token_is_accepted_and_is_refreshed_after_expiry() {
    // 8-second tokens: `token` refreshes only in their last 4 seconds, far from the first call.
    let env = Env::new(8);
    let id = env.connect("alice");
    let first = env.run(&["token", &id]).ok().stdout;
    let first = first.trim_end_matches('\n');
    assert!(
        !first.is_empty() && !first.contains('\n'),
        "stdout is the token and nothing else: {first:?}"
    );
    assert_eq!(env.server.userinfo_status(first), 200);
    assert_eq!(env.server.grants("refresh_token"), 0);

    std::thread::sleep(Duration::from_secs(9));
    assert_eq!(
        env.server.userinfo_status(first),
        401,
        "the first token has expired"
    );
    let second = env.run(&["token", &id]).ok().stdout.trim().to_string();
    assert_ne!(second, first);
    assert_eq!(env.server.userinfo_status(&second), 200);
    assert_eq!(env.server.grants("refresh_token"), 1);

    // The rotated refresh token was stored: the next refresh (explicit) works too.
    env.run(&["refresh", &id]).ok();
    assert_eq!(env.server.grants("refresh_token"), 2);
    assert!(
        env.server.stats()["errors"].as_object().unwrap().is_empty(),
        "{}",
        env.server.stats()
    );
    let json = env.run(&["token", &id, "--json"]).ok().json();
    assert_eq!(json["account"], id);
    assert_eq!(
        env.server.userinfo_status(json["access_token"].as_str().unwrap()),
        200
    );
}

#[test]
fn twenty_concurrent_callers_share_one_refresh() {
    // oidc-provider rotates refresh tokens and revokes the grant when a spent one is reused,
    // so a second refresh racing the first would break the account.
    let env = Env::new(6);
    let id = env.connect("alice");
    std::thread::sleep(Duration::from_secs(4)); // past half the lifetime: every caller wants a refresh
    let tokens = env.concurrent_tokens(&id, 20);
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "every caller got the same token"
    );
    assert_eq!(
        env.server.grants("refresh_token"),
        1,
        "exactly one refresh reached the server"
    );
    assert!(
        env.server.stats()["errors"].as_object().unwrap().is_empty(),
        "{}",
        env.server.stats()
    );
    assert_eq!(env.server.userinfo_status(&tokens[0]), 200);
}

//! Revoke and disconnect: the provider's introspection must say the tokens are dead, and the
//! keychain must no longer hold them.

use keyport_test_support::Env;

#[test]
fn revoke_kills_the_grant_and_keeps_the_account_as_needs_reconnect() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let (access, refresh) = env.stored_tokens(&id);
    assert!(env.server.is_active(&access) && env.server.is_active(&refresh));

    env.run(&["revoke", &id]).ok();
    assert!(!env.server.is_active(&refresh), "the refresh token is revoked");
    assert!(!env.server.is_active(&access), "the access token is revoked");
    assert!(env.keychain_item(&id).is_none(), "the keychain item is gone");

    let list = env.list();
    assert_eq!(list[0]["status"], "needs_reconnect");
    let token = env.run(&["token", &id]);
    assert_eq!(token.code, 4, "{token:?}");
    assert!(token.stderr.contains("reconnect"), "{}", token.stderr);
    assert!(token.stdout.is_empty());

    // Reconnecting brings it back under the same id.
    assert_eq!(env.connect("alice"), id);
    assert_eq!(env.list()[0]["status"], "ok");
}

#[test]
fn disconnect_revokes_then_forgets() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let (access, refresh) = env.stored_tokens(&id);

    let out = env.run(&["disconnect", &id]).ok();
    assert!(out.stdout.contains("revoked"), "{}", out.stdout);
    assert!(!env.server.is_active(&refresh) && !env.server.is_active(&access));
    assert_eq!(
        env.keychain.count(&env.service()),
        0,
        "no item of this home is left in the keychain"
    );
    assert_eq!(env.list().as_array().unwrap().len(), 0);
    assert_eq!(env.run(&["token", &id]).code, 3);
}

#[test]
fn local_only_disconnect_leaves_the_grant_alive() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let (_, refresh) = env.stored_tokens(&id);
    env.run(&["disconnect", "--local-only", &id]).ok();
    assert!(env.server.is_active(&refresh));
    assert!(env.keychain_item(&id).is_none());
    assert_eq!(env.list().as_array().unwrap().len(), 0);
}

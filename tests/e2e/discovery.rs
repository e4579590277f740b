//! `keyport providers add --issuer`: a provider made from `oidc-provider`'s discovery document,
//! then used to connect, by browser and by code; bad issuers and taken ids change nothing.

use keyport_test_support::Env;

#[test]
fn a_provider_added_by_issuer_connects_and_offers_device_sign_in() {
    let env = Env::new(60);
    let added = env
        .run(&[
            "providers",
            "add",
            "--issuer",
            &env.server.issuer,
            "--id",
            "corp",
            "--name",
            "Corp SSO",
            "--client-id",
            "keyport-test",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(added["id"], "corp");
    assert_eq!(added["display_name"], "Corp SSO");
    assert_eq!(added["set_up"], true);
    let file = std::fs::read_to_string(env.home.path().join("config/providers.toml")).unwrap();
    assert!(
        file.starts_with("[providers.demo]"),
        "the user's file is kept:\n{file}"
    );
    for expected in [
        "[providers.corp]",
        &format!("device_authorization_url = \"{}/device/auth\"", env.server.issuer),
        &format!("revocation_url = \"{}/token/revocation\"", env.server.issuer),
        "offline_access",
    ] {
        assert!(file.contains(expected), "no {expected} in\n{file}");
    }
    assert!(!file.contains("pkce = false"), "the server offers S256:\n{file}");

    let run = env.run(&["connect", "corp", "--json", "--timeout", "30"]).ok();
    assert_eq!(run.json()["nickname"], "alice@example.test");
    let run = env
        .run(&["connect", "corp", "--device", "--json", "--timeout", "30"])
        .ok();
    assert_eq!(
        run.json()["id"],
        "corp-1",
        "the same user, by code, is the same account"
    );
    let out = env.run(&["disconnect", "corp-1"]).ok().stdout;
    assert!(out.contains("revoked its access"), "{out}");
}

#[test]
fn a_bad_issuer_or_a_taken_id_changes_nothing() {
    let env = Env::new(60);
    let path = env.home.path().join("config/providers.toml");
    let before = std::fs::read_to_string(&path).unwrap();
    let issuer = env.server.issuer.clone();
    let cases: [(&[&str], i32, &str); 4] = [
        (&["--issuer", &format!("{issuer}/nothing-here")], 6, "HTTP 404"),
        (&["--issuer", "http://sso.example.com"], 2, "plain http"),
        (&["--issuer", "not a url"], 2, "is not a URL"),
        (&["--issuer", &issuer, "--id", "github"], 2, "already a provider"),
    ];
    for (args, code, expected) in cases {
        let mut all = vec!["providers", "add"];
        all.extend_from_slice(args);
        env.run(&all).fails(code, expected);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before, "{args:?}");
    }
}

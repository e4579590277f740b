//! Connecting accounts: the sign-in, what `list` shows, and what is stored where.

use keyport_test_support::{Env, Run};

#[test]
fn connect_lists_the_account_and_keeps_secrets_only_in_the_keychain() {
    let env = Env::new(60);
    let id = env.connect("alice");
    assert_eq!(id, "demo-1");

    let list = env.list();
    let account = &list[0];
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(account["nickname"], "alice@example.test");
    assert_eq!(account["provider"], "demo");
    assert_eq!(account["status"], "ok");
    assert!(account["expires_in"].as_i64().unwrap() > 50);
    let scopes: Vec<&str> = account["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(scopes.contains(&"offline_access"), "{scopes:?}");

    // Another process, with another client library, reads the item from the Secret Service.
    let item = env.keychain_item(&id).expect("the tokens are in the keychain");
    let access = item["access_token"].as_str().unwrap();
    let refresh = item["refresh_token"]
        .as_str()
        .expect("a refresh token was issued");
    assert_eq!(env.server.userinfo_status(access), 200);

    // The one item is the account's: the probe that checked the keychain could store left none.
    assert_eq!(env.keychain.usernames(&env.service()), ["account:demo-1"]);

    // The metadata file names the account but holds none of its secrets.
    let file = env.accounts_file();
    assert!(file.contains("alice@example.test"));
    for secret in [access, refresh, item["id_token"].as_str().unwrap()] {
        assert!(!file.contains(secret), "a secret leaked into accounts.json");
    }

    // The human table shows the same account.
    let table = env.run(&["list"]).ok().stdout;
    assert!(
        table.contains("demo-1") && table.contains("alice@example.test") && table.contains("ok"),
        "{table}"
    );
}

#[test]
fn reconnecting_the_same_user_updates_instead_of_duplicating() {
    let env = Env::new(60);
    let first = env.connect("alice");
    let before = env.keychain_item(&first).unwrap();
    env.run(&["rename", &first, "work"]).ok();
    let again = env.connect("alice");
    assert_eq!(again, first);
    let list = env.list();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        list[0]["nickname"], "work",
        "a chosen nickname survives a reconnect"
    );
    let after = env.keychain_item(&first).unwrap();
    assert_ne!(before["access_token"], after["access_token"]);

    let other = env.connect("bob");
    assert_eq!(other, "demo-2");
    assert_eq!(env.list().as_array().unwrap().len(), 2);
    // Both are reachable by nickname, and by provider:nickname.
    assert_eq!(
        env.run(&["token", "work"]).ok().stdout.trim(),
        after["access_token"].as_str().unwrap()
    );
    let bob = env.run(&["token", "demo:bob@example.test"]).ok().stdout;
    assert_eq!(
        bob.trim(),
        env.keychain_item("demo-2").unwrap()["access_token"]
            .as_str()
            .unwrap()
    );
}

#[test]
fn providers_lists_the_catalog_and_setup_state() {
    let env = Env::new(60);
    let providers = env.run(&["providers", "--json"]).ok().json();
    let find = |id: &str| {
        providers
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(find("demo")["set_up"], true);
    assert_eq!(find("github")["set_up"], false);
    for id in ["github", "google", "microsoft", "gitlab", "slack", "linear"] {
        assert_eq!(find(id)["builtin"], true);
    }
}

#[test]
fn confidential_clients_use_the_secret_from_the_keychain() {
    let env = Env::new(60);
    let file = env.home.path().join("config/providers.toml");
    let mut providers = std::fs::read_to_string(&file).unwrap();
    for method in ["client_secret_post", "client_secret_basic"] {
        providers.push_str(&format!(
            "\n[providers.{id}]\nissuer = \"{issuer}\"\nclient_id = \"keyport-{id}\"\n\
             token_request_auth_method = \"{method}\"\nscopes = [\"openid\", \"email\"]\n",
            id = method.replace('_', "-"),
            issuer = env.server.issuer,
        ));
    }
    std::fs::write(&file, providers).unwrap();
    let secret = "confidential-test-secret";
    for provider in ["client-secret-post", "client-secret-basic"] {
        let without = env.run(&["connect", provider, "--timeout", "20"]);
        assert_eq!(without.code, 6, "no secret yet: {without:?}");
        assert!(without.stderr.contains("invalid_client"), "{}", without.stderr);

        let mut set = env.command(&["providers", "set-secret", provider]);
        set.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = set.spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), secret.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success());
        let stored = env
            .keychain
            .lookup(&env.service(), &format!("client-secret:{provider}"));
        assert_eq!(stored.as_deref(), Some(secret));

        let with = env.run(&["connect", provider, "--timeout", "20", "--json"]).ok();
        assert_eq!(with.json()["provider"], provider);
    }
    assert!(!env.accounts_file().contains(secret));
    assert!(!std::fs::read_to_string(&file).unwrap().contains(secret));
}

#[test]
fn no_browser_prints_the_url_for_the_user_to_open() {
    let env = Env::new(60);
    // What follows the URL (kept by the helper, as a terminal would) must tell the person to
    // finish signing in.
    let (child, url, rest) =
        env.connect_printing_url(&["connect", "demo", "--no-browser", "--timeout", "30"]);
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("state="),
        "{url}"
    );
    // The person opens it in a browser of their choosing.
    let browsed =
        std::process::Command::new(keyport_test_support::repo_root().join("tests/oidc-server/browser"))
            .arg(&url)
            .status()
            .unwrap();
    assert!(browsed.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Connected Demo as alice@example.test"));
    assert!(rest.join().unwrap().contains("Waiting for the sign-in to finish"));
}

#[test]
fn a_closed_stderr_does_not_abort_the_sign_in() {
    // A wrapper may read what it needs and close our stderr; the messages that follow must not kill
    // the sign-in (printing to a closed pipe used to panic and drop the callback listener).
    let env = Env::new(60);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = env
        .command(&["connect", "demo", "--timeout", "30"])
        .stderr(writer)
        .output()
        .unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Connected Demo as alice@example.test"));
    assert_eq!(env.list().as_array().unwrap().len(), 1);
}

#[test]
fn variables_fill_the_endpoints_and_bad_values_are_refused() {
    let env = Env::new(60);
    let file = env.home.path().join("config/providers.toml");
    let mut providers = std::fs::read_to_string(&file).unwrap();
    // The same provider, its port a per-connection variable (as a tenant or a shop would be).
    let port = env.server.issuer.rsplit(':').next().unwrap().to_string();
    providers.push_str(
        "\n[providers.by-port]\nvariables = { port = { description = \"The provider's port\" } }\n\
         issuer = \"http://127.0.0.1:{port}\"\nclient_id = \"keyport-test\"\n\
         scopes = [\"openid\", \"email\", \"offline_access\"]\nauthorization_params = { prompt = \"consent\" }\n",
    );
    std::fs::write(&file, providers).unwrap();

    let missing = env.run(&["connect", "by-port", "--timeout", "20"]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(missing.stderr.contains("--var port=VALUE"), "{}", missing.stderr);
    for bad in ["1@evil.example", "80/steal", "x?y", ""] {
        let run = env.run(&[
            "connect",
            "by-port",
            "--var",
            &format!("port={bad}"),
            "--timeout",
            "20",
        ]);
        assert_eq!(run.code, 2, "{bad:?}: {run:?}");
    }
    let unknown = env.run(&["connect", "by-port", "--var", "tenant=x", "--timeout", "20"]);
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert!(
        unknown.stderr.contains("no variable \"tenant\""),
        "{}",
        unknown.stderr
    );
    assert!(env.list().as_array().unwrap().is_empty(), "nothing was stored");

    let ok = env
        .run(&[
            "connect",
            "by-port",
            "--var",
            &format!("port={port}"),
            "--timeout",
            "20",
            "--json",
        ])
        .ok();
    let id = ok.json()["id"].as_str().unwrap().to_string();
    // The endpoints were resolved at connect and kept: refresh needs no --var.
    env.run(&["refresh", &id]).ok();
    assert!(!env.run(&["token", &id]).ok().stdout.trim().is_empty());
}

#[test]
fn a_pasted_redirect_address_completes_the_sign_in() {
    use std::io::Write;
    let env = Env::new(60);
    let (mut child, url, rest) = env.connect_printing_url(&["connect", "demo", "--paste", "--timeout", "30"]);
    // A browser elsewhere signs in and ends on the callback address, which it cannot load.
    let address_file = env.home.path().join("address-bar");
    let browsed =
        std::process::Command::new(keyport_test_support::repo_root().join("tests/oidc-server/browser"))
            .arg(&url)
            .env("KEYPORT_TEST_BROWSER_MODE", "remote")
            .env("KEYPORT_TEST_BROWSER_OUT", &address_file)
            .status()
            .unwrap();
    assert!(browsed.success());
    let address = std::fs::read_to_string(&address_file).unwrap();
    assert!(
        address.starts_with("http://127.0.0.1:") && address.contains("code="),
        "{address}"
    );

    let mut stdin = child.stdin.take().unwrap();
    // Junk and an address for another sign-in are refused; the wait goes on.
    let forged = address.replace("state=", "state=forged");
    writeln!(stdin, "not an address\n{forged}\n{address}").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = rest.join().unwrap();
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Connected Demo as alice@example.test"));
    assert!(stderr.contains("paste it here"), "{stderr}");
    assert!(stderr.contains("state does not match"), "{stderr}");
    assert!(!stderr.contains(address.split("code=").nth(1).unwrap().split('&').next().unwrap()));
    assert_eq!(env.list().as_array().unwrap().len(), 1);
}

#[test]
fn an_account_keeps_working_when_its_provider_leaves_the_catalog() {
    let env = Env::new(60);
    let id = env.connect("alice");
    let before = env.keychain_item(&id).unwrap();
    // The account keeps the connection it was made with: endpoints, quirks and client id.
    std::fs::write(env.home.path().join("config/providers.toml"), "").unwrap();
    env.run(&["refresh", &id]).ok();
    let after = env.keychain_item(&id).unwrap();
    assert_ne!(before["access_token"], after["access_token"], "refreshed");
    let access = after["access_token"].as_str().unwrap();
    assert_eq!(env.server.userinfo_status(access), 200);
    assert_eq!(env.list()[0]["status"], "ok");
    // A new sign-in does need the catalog entry, and says how to find the known ones.
    let refused = env
        .run(&["connect", "demo"])
        .fails(2, "unknown provider \"demo\"");
    assert!(
        refused.stderr.contains("`keyport providers` lists"),
        "the CLI adds where to look: {}",
        refused.stderr
    );
    env.run(&["disconnect", &id]).ok();
    assert!(
        !env.server.is_active(access),
        "revoked through the stored connection"
    );
}

#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    let env = Env::new(60);
    env.connect("alice");
    let script = format!(
        "{} list --json | head -c 1 >/dev/null; exit ${{PIPESTATUS[0]}}",
        env!("CARGO_BIN_EXE_keyport")
    );
    let run: keyport_test_support::Run = env
        .program(std::path::Path::new("bash"))
        .args(["-c", &script])
        .output()
        .unwrap()
        .into();
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn an_account_file_of_format_2_is_upgraded_in_place_and_keeps_working() {
    let env = Env::new(3600);
    let first = env.connect("alice");
    let second = env.connect("bob");
    let path = env.home.path().join("data/accounts.json");
    let current: serde_json::Value = serde_json::from_str(&env.accounts_file()).unwrap();
    assert_eq!(current["version"], 3);
    assert_eq!(
        current["connections"].as_object().unwrap().len(),
        1,
        "two accounts of one provider share one entry: {current}"
    );
    // As the previous Keyport wrote it: `version` first, each account with its whole connection.
    let mut accounts = current["accounts"].clone();
    for a in accounts.as_array_mut().unwrap() {
        let name = a["connection"].as_str().unwrap().to_string();
        a["connection"] = current["connections"][name].clone();
    }
    let format_2 = format!(
        r#"{{"version":2,"accounts":{}}}"#,
        serde_json::to_string(&accounts).unwrap()
    );
    std::fs::write(&path, &format_2).unwrap();

    let list = env.list();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    assert_eq!(list[0]["can_revoke"], true, "the connection came through");
    let upgraded: serde_json::Value = serde_json::from_str(&env.accounts_file()).unwrap();
    assert_eq!(upgraded, current, "the same file as Keyport writes it today");

    // The upgraded accounts refresh and revoke through their stored connection.
    let (before, _) = env.stored_tokens(&first);
    env.run(&["refresh", &first]).ok();
    let (after, _) = env.stored_tokens(&first);
    assert_ne!(before, after);
    assert_eq!(env.server.userinfo_status(&after), 200);
    let (_, refresh) = env.stored_tokens(&second);
    env.run(&["revoke", &second]).ok();
    assert!(!env.server.is_active(&refresh), "revoked at the provider");
    assert_eq!(env.list()[1]["status"], "needs_reconnect");
}

/// On a machine with no display and no `$BROWSER` (a server, a container, SSH without X), no
/// browser is tried: one sentence says so, with the address and the ways that work there,
/// instead of a line from xdg-open for every browser it knows.
#[test]
fn with_no_display_and_no_browser_connect_says_so_once_and_offers_paste_or_device() {
    let env = Env::new(60);
    let run: Run = env
        .command(&["connect", "demo", "--timeout", "2"])
        .env_remove("BROWSER")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr
            .matches("there is no display here to open a browser on")
            .count(),
        1,
        "{run:?}"
    );
    assert!(run.stderr.contains("keyport connect demo --paste"), "{run:?}");
    assert!(
        run.stderr.contains("http://127.0.0.1:"),
        "the address is shown: {run:?}"
    );
    assert!(!run.stderr.contains("xdg-open"), "{run:?}");
}

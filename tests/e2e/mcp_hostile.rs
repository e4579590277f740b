//! MCP servers that attack the person through Keyport rather than serve them
//! (`tests/mcp-server/hostile.py`): names carrying terminal escapes.

use keyport_test_support::{Env, McpServer, Run};
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

/// How many ESC and BEL characters `text` holds raw: a terminal acts on them.
fn raw_escapes(text: &str) -> (usize, usize) {
    (text.matches('\u{1b}').count(), text.matches('\u{7}').count())
}

#[track_caller]
fn assert_no_raw_escapes(what: &str, text: &str) {
    assert_eq!(
        raw_escapes(text),
        (0, 0),
        "{what} reached the terminal raw: {text:?}"
    );
}

/// The nickname of the only account, checked to be free of control characters.
#[track_caller]
fn clean_nickname(env: &Env) -> String {
    let list = env.run(&["list", "--json"]).ok();
    assert_no_raw_escapes("keyport list", &list.stdout);
    let accounts = list.json();
    let nickname = accounts[0]["nickname"].as_str().unwrap().to_string();
    assert!(
        !nickname.chars().any(char::is_control),
        "the stored nickname holds control characters: {nickname:?}"
    );
    nickname
}

#[test]
fn names_a_server_gives_itself_reach_no_terminal_and_no_nickname_with_their_escapes() {
    // `keyport connect`: the resource metadata's resource_name names the server until it is
    // signed in, then its serverInfo does.
    let env = Env::new(60);
    let server = McpServer::start_hostile("names", &[("SERVER_NAME", "escapes")]);
    let connect: Run = env
        .command(&["connect", &server.url, "--timeout", "30"])
        .env("KEYPORT_LOG", "info")
        .output()
        .unwrap()
        .into();
    let connect = connect.ok();
    assert_no_raw_escapes("keyport connect's stderr", &connect.stderr);
    assert_no_raw_escapes("keyport connect's stdout", &connect.stdout);
    let nickname = clean_nickname(&env);
    assert!(
        nickname.contains("Desk"),
        "named after its serverInfo: {nickname:?}"
    );
    let providers = std::fs::read_to_string(env.home.path().join("config/providers.toml")).unwrap();
    assert_no_raw_escapes("providers.toml", &providers);
    assert!(
        !providers.contains("\\u001b") && !providers.contains("\\u0007"),
        "{providers}"
    );

    // `keyport mcp` signing in first, for a server whose serverInfo has nothing usable: the
    // resource_name names the account.
    let env = Env::new(60);
    let server = McpServer::start_hostile("names", &[("SERVER_NAME", "nothing")]);
    let run: Run = sdk_client(&env, &server.url)
        .env("KEYPORT_LOG", "info")
        .output()
        .unwrap()
        .into();
    let run = run.ok();
    assert!(run.json()["calls"][0].as_str().unwrap().contains(&server.url));
    assert_no_raw_escapes("keyport mcp's stderr", &run.stderr);
    let nickname = clean_nickname(&env);
    assert!(
        nickname.contains("Acme"),
        "named after its resource_name: {nickname:?}"
    );
}

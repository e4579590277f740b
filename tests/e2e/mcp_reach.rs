//! MCP servers that try to get what is not theirs, against the real `keyport` and servers built on
//! the official MCP Python SDK (`tests/mcp-server/`, one script per kind of hostility): a neighbour
//! on the same origin after another server's token; a server at a public address whose metadata
//! aims Keyport at a service on this machine; a server that asks for a new scope at every request.

use crate::mcp::sdk_client;
use keyport_test_support::{Env, HostileMcp, Run};
use std::process::Command;

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

/// An IPv4 address of this machine in no private or local range (Private Network Access's public
/// space), if it has one: a server there is, to Keyport, a server on the internet.
fn public_address() -> Option<String> {
    let out = Command::new("ip")
        .args(["-j", "-4", "addr", "show"])
        .output()
        .ok()?;
    let interfaces: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let public = |ip: &std::net::Ipv4Addr| {
        let [a, b, ..] = ip.octets();
        !(ip.is_loopback()
            || a == 0
            || a == 10
            || (a == 100 && (64..128).contains(&b))
            || (a == 172 && (16..32).contains(&b))
            || (a == 192 && b == 168)
            || (a == 198 && (b == 18 || b == 19))
            || (a == 169 && b == 254))
    };
    interfaces
        .as_array()?
        .iter()
        .flat_map(|i| i["addr_info"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["local"].as_str()?.parse::<std::net::Ipv4Addr>().ok())
        .find(public)
        .map(|ip| ip.to_string())
}

/// A name other than `localhost` that this machine resolves to loopback only: its host name, as
/// Debian's /etc/hosts has it.
fn loopback_name() -> Option<String> {
    use std::net::ToSocketAddrs;
    let out = Command::new("hostname").output().ok()?;
    let name = String::from_utf8(out.stdout).ok()?.trim().to_string();
    let found: Vec<_> = (name.as_str(), 0).to_socket_addrs().ok()?.collect();
    (!name.is_empty() && !found.is_empty() && found.iter().all(|a| a.ip().is_loopback())).then_some(name)
}

#[test]
fn endpoints_a_public_server_names_on_this_machine_are_never_reached() {
    let Some(public) = public_address() else {
        eprintln!("skipped: this machine has no address outside the private and local ranges");
        return;
    };
    let env = Env::new(60);
    let certs = tempfile::tempdir().unwrap();
    let ca = certs.path().join("ca.pem");
    let ca = ca.to_str().unwrap();
    let start = |target: &[(&str, &str)]| {
        let vars = [&[("PUBLIC_ADDRESS", public.as_str()), ("CA_OUT", ca)][..], target].concat();
        HostileMcp::start("hostile_metadata.py", &vars)
    };
    // The test CA for keyport (a debug build's KEYPORT_TEST_CA) and for the scripted browser.
    let trusting = |mut command: Command| -> Run {
        command
            .env("KEYPORT_TEST_CA", ca)
            .env("NODE_EXTRA_CA_CERTS", ca)
            .output()
            .unwrap()
            .into()
    };
    let docker = |server: &HostileMcp| server.get_json(&format!("{}docker", server.url("test")));

    // An honest server at the public address: everything it names is there too, and works.
    let honest = start(&[]);
    let connected = trusting(env.command(&["connect", &honest.url("url"), "--json", "--timeout", "30"]));
    let id = connected.ok().json()["id"].as_str().unwrap().to_string();
    let providers = std::fs::read_to_string(env.home.path().join("config/providers.toml")).unwrap();
    assert!(providers.contains("address_space = \"public\""), "{providers}");
    assert_eq!(
        env.list()[0]["nickname"],
        "public-server",
        "its name was asked there"
    );
    trusting(env.command(&["refresh", &id])).ok();

    // Its registration and token endpoints at a service on this machine, by address: refused
    // before anything is registered or written.
    let by_address = start(&[("TARGET", "address")]);
    let refused = trusting(env.command(&["connect", &by_address.url("url"), "--timeout", "30"]));
    assert_eq!(
        docker(&by_address)["requests"],
        serde_json::json!([]),
        "{}",
        refused.stderr
    );
    let refused = refused.fails(6, "is on this machine, named by a server at a public address");
    assert!(
        refused.stderr.contains("https://127.0.0.1:"),
        "{}",
        refused.stderr
    );
    assert_eq!(env.list().as_array().unwrap().len(), 1);

    // By a name this machine resolves to loopback, through `keyport mcp` with a real client: the
    // name passes discovery, and its address is refused when Keyport would connect to it.
    let Some(name) = loopback_name() else {
        eprintln!("the case of a name was skipped: no name besides localhost resolves to loopback here");
        return;
    };
    let by_name = start(&[("TARGET", "name"), ("TARGET_NAME", name.as_str())]);
    let through_bridge = trusting(sdk_client(&env, &by_name.url("url")));
    assert_ne!(through_bridge.code, 0, "{through_bridge:?}");
    assert_eq!(
        docker(&by_name)["requests"],
        serde_json::json!([]),
        "{}",
        through_bridge.stderr
    );
    assert!(
        through_bridge.stderr.contains(&format!(
            "{name} resolves to 127.0.0.1, on this machine, named by a server at a public address"
        )),
        "{}",
        through_bridge.stderr
    );
    assert_eq!(
        by_name.get_json(&format!("{}stats", by_name.url("test")))["registrations"],
        0
    );
}

/// `n` JSON-RPC requests, one after the other, from an MCP client (this test, on the bridge's
/// stdin) through `keyport mcp <url>`, the scripted browser recording its starts in `starts`:
/// the answers.
fn requests_through_the_bridge(
    env: &Env,
    url: &str,
    starts: &std::path::Path,
    n: u32,
) -> Vec<serde_json::Value> {
    use std::io::{BufRead, Write};
    let mut bridge = env
        .command(&["mcp", url, "--timeout", "30"])
        .env("KEYPORT_TEST_BROWSER_ARGV", starts)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut input = bridge.stdin.take().unwrap();
    let mut output = std::io::BufReader::new(bridge.stdout.take().unwrap());
    let answers = (1..=n)
        .map(|id| {
            let request =
                serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": {}});
            writeln!(input, "{request}").unwrap();
            let mut line = String::new();
            output.read_line(&mut line).unwrap();
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
        })
        .collect();
    drop(input);
    assert!(bridge.wait().unwrap().success());
    answers
}

/// How many times the browser was started.
fn browser_starts(starts: &std::path::Path) -> usize {
    std::fs::read_to_string(starts)
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn a_server_that_asks_for_a_new_scope_at_every_request_gets_a_few_sign_ins_then_a_clear_error() {
    // Three sign-ins per server in ten minutes, unless the person asks (store/unasked_sign_ins.rs).
    const CAP: usize = 3;
    let env = Env::new(60);
    let server = HostileMcp::start("endless_step_up.py", &[]);
    let url = server.url("url");
    let stats = || server.get_json(&format!("{}/test/stats", url.trim_end_matches("/mcp")));
    let starts = env.home.path().join("browser-starts");

    let answers = requests_through_the_bridge(&env, &url, &starts, 3);
    let after = stats();
    assert!(
        browser_starts(&starts) <= CAP,
        "the browser was opened {} times for 3 requests: {after}",
        browser_starts(&starts)
    );
    assert!(after["registrations"].as_u64().unwrap() <= CAP as u64, "{after}");
    // The first sign-in, then one step-up that registers for every scope the server lists, then
    // one that reuses that registration.
    assert_eq!(browser_starts(&starts), CAP, "{after}");
    assert_eq!(after["registrations"], 2, "{after}");
    assert_eq!(after["authorizations"], CAP, "{after}");
    for answer in &answers {
        let message = answer["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error: {answer}"));
        assert!(
            message.contains(&format!("already opened {CAP} sign-ins for the MCP server {url}")),
            "{message}"
        );
        assert!(
            message.contains(&format!("run `keyport connect {url}`")),
            "{message}"
        );
    }

    // The count is the server's, not one bridge's: another client's bridge opens nothing either.
    let later = requests_through_the_bridge(&env, &url, &starts, 1);
    assert_eq!(browser_starts(&starts), CAP);
    assert!(
        later[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("opens no more"),
        "{}",
        later[0]
    );
    assert_eq!(stats()["registrations"], 2);
}

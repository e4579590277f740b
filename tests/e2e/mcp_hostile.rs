//! MCP servers that attack the person through Keyport rather than serve them
//! (`tests/mcp-server/hostile.py`): names carrying terminal escapes; streams that would cost the
//! bridge CPU or memory without bound.

use crate::mcp::sdk_client;
use keyport_test_support::{Env, McpServer, Run};
use std::io::{BufRead, Write};
use std::process::{Child, Stdio};

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

/// `keyport mcp <url>` run by the test itself as its MCP client: lines in on stdin, out on stdout.
fn bridge(env: &Env, url: &str) -> Child {
    env.command(&["mcp", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Sends `messages` to the bridge, a line each: the 2025-11-25 handshake and then whatever follows.
fn say(bridge: &mut Child, messages: &[serde_json::Value]) {
    let stdin = bridge.stdin.as_mut().unwrap();
    for message in messages {
        writeln!(stdin, "{message}").unwrap();
    }
    stdin.flush().unwrap();
}

fn handshake() -> [serde_json::Value; 2] {
    [
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "keyport-tests", "version": "1"}}}),
        serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    ]
}

/// CPU time (user + system) process `pid` has spent, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf takes a constant and touches no memory of ours.
    ticks as f64 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// A `VmRSS`-style line of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in {status}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn an_answer_after_megabytes_of_blank_events_still_arrives() {
    // 4 MiB of events that carry nothing, then the answer, in one request's event stream. (Read
    // from the start each time, blank events cost the bridge quadratic time: `events`' unit test
    // counts the work; the CPU time is printed here.)
    const BLANKS: usize = 4 * 1024 * 1024;
    let env = Env::new(60);
    let blanks = BLANKS.to_string();
    let server = McpServer::start_hostile("streams", &[("BLANK_BYTES", blanks.as_str())]);
    let mut bridge = bridge(&env, &server.url);
    let call = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}}});
    let [initialize, initialized] = handshake();
    say(&mut bridge, &[initialize, initialized, call]);
    let started = cpu_seconds(bridge.id());
    let mut lines = std::io::BufReader::new(bridge.stdout.take().unwrap()).lines();
    let answer = lines
        .by_ref()
        .map(|line| serde_json::from_str::<serde_json::Value>(&line.unwrap()).unwrap())
        .find(|message| message["id"] == 2)
        .expect("the bridge answered the call");
    let spent = cpu_seconds(bridge.id()) - started;
    drop(bridge.stdin.take());
    assert!(bridge.wait().unwrap().success());
    assert_eq!(
        answer["result"]["content"][0]["text"],
        format!("answered after {BLANKS} bytes of blank events"),
        "{answer}"
    );
    assert_eq!(server.stats()["blank_sent"], BLANKS);
    eprintln!("the bridge read {BLANKS} bytes of blank events and the answer in {spent:.2} s of CPU");
}

#[test]
fn a_server_streaming_to_a_client_that_does_not_read_is_held_back_and_the_bridge_stays_small() {
    // The session's GET stream sends 200 MiB as fast as it can; the client (this test) reads
    // nothing from the bridge's stdout. The bridge stops reading the stream once what waits for
    // the client reaches its cap, and TCP holds the server back.
    const FLOOD: u64 = 200 * 1024 * 1024;
    const MAX_RSS_KIB: u64 = 64 * 1024;
    let env = Env::new(60);
    let flood = FLOOD.to_string();
    let server = McpServer::start_hostile("streams", &[("FLOOD_BYTES", flood.as_str())]);
    let mut bridge = bridge(&env, &server.url);
    say(&mut bridge, &handshake());
    let pid = bridge.id();
    // Until the server has sent everything, or has been held still for three seconds.
    let start = std::time::Instant::now();
    let (mut sent, mut still_since) = (0, std::time::Instant::now());
    let mut highest_rss = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        highest_rss = highest_rss.max(status_kib(pid, "VmRSS:"));
        let stats = server.stats();
        let now_sent = stats["flood_sent"].as_u64().unwrap();
        if now_sent != sent {
            (sent, still_since) = (now_sent, std::time::Instant::now());
        }
        if stats["flood_done"] == true || still_since.elapsed().as_secs() >= 3 {
            break;
        }
        assert!(
            start.elapsed().as_secs() < 120,
            "the flood neither ended nor stopped"
        );
    }
    let peak = status_kib(pid, "VmHWM:");
    eprintln!(
        "the server wrote {} MiB of its {} MiB before it was held back; the bridge's RSS peaked at {} MiB",
        sent >> 20,
        FLOOD >> 20,
        peak >> 10
    );
    assert!(
        peak < MAX_RSS_KIB && highest_rss < MAX_RSS_KIB,
        "the bridge grew to {} MiB (sampled {} MiB) while {} MiB were streamed to it",
        peak >> 10,
        highest_rss >> 10,
        sent >> 20
    );
    assert!(
        sent < FLOOD / 2,
        "the server was not held back: it wrote {} MiB",
        sent >> 20
    );

    // Nothing was lost on the way: once the client reads, the answer and the server's messages
    // come, in order.
    let mut lines = std::io::BufReader::new(bridge.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["id"], 1, "{first}");
    for _ in 0..64 {
        let line = lines.next().unwrap().unwrap();
        let message: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(message["method"], "notifications/message");
    }
    let _ = bridge.kill();
    let _ = bridge.wait();
}

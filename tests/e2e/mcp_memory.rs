//! `keyport mcp` lives as long as its MCP client and holds tokens all that time: like the agent,
//! it keeps them from the user's other processes (non-dumpable: no memory to read, no core file),
//! and the agent still names the MCP client as the program that uses them, although the bridge
//! hides its own executable (it holds its connection to the agent, pinned before it hid).

use crate::local_user::{crash, memory_readable, running_as_root, CoreDir, NO_CAPABILITIES};
use keyport_test_support::{Env, McpServer, Run};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The Python SDK's stdio client (`tests/mcp-server/client.py`) through `wrapper` (a program and
/// its arguments that then runs the rest), running `launch` + `keyport mcp <url>`: it calls
/// `whoami`, waits PAUSE seconds and calls it again.
fn client(env: &Env, wrapper: &[&str], launch: &[&str], url: &str, pause: &str) -> Child {
    let root = keyport_test_support::repo_root();
    let python = root.join(".tools/mcp-venv/bin/python");
    let mut command: Command = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut c = env.program(Path::new(program));
            c.args(rest).arg(&python);
            c
        }
        None => env.program(&python),
    };
    command
        .arg(root.join("tests/mcp-server/client.py"))
        .args(launch)
        .arg(keyport_test_support::keyport_bin())
        .args(["mcp", url, "--timeout", "30"])
        .env("PAUSE", pause)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The bridge: the client's child, once the server has served one of its authorized calls.
fn bridge_after_a_call(server: &McpServer, client: u32) -> u32 {
    let start = std::time::Instant::now();
    while server.stats()["tool_calls"].as_u64().unwrap_or(0) == 0 {
        assert!(start.elapsed().as_secs() < 30, "no call reached the server");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let children: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                let after = &stat[stat.rfind(')').unwrap() + 2..];
                after.split(' ').nth(1) == Some(&client.to_string())
            })
        })
        .collect();
    assert_eq!(children.len(), 1, "the client runs one bridge: {children:?}");
    children[0]
}

/// The executable the kernel names for `path` (the venv's python is a link to it).
fn real(path: &Path) -> PathBuf {
    path.canonicalize().unwrap()
}

#[test]
fn a_bridge_holding_tokens_hides_its_memory_and_is_still_named_by_its_client() {
    let env = Env::new(60);
    // Tokens of 3 s: every call of the client has the bridge ask the agent again.
    let server = McpServer::start(3);
    let account = env
        .run(&["connect", &server.url, "--json", "--timeout", "30"])
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // As root, a process with capabilities reads any other's memory and executable: the agent,
    // the client (and so the bridge) and the reader all run without, as an ordinary user's do.
    let wrapper: &[&str] = if running_as_root() { NO_CAPABILITIES } else { &[] };
    let agent = env.agent_via(wrapper);
    let mut control = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg("sleep");
            c
        }
        None => Command::new("sleep"),
    };
    let mut control = control.arg("30").spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200)); // past setpriv's exec
    assert!(memory_readable(control.id()), "the check itself is broken");
    let _ = control.kill();
    let _ = control.wait();

    let client = client(&env, wrapper, &[], &server.url, "4");
    let bridge = bridge_after_a_call(&server, client.id());
    assert!(
        !memory_readable(bridge),
        "another process of the user could read the memory of a bridge holding a token"
    );
    let run: Run = client.wait_with_output().unwrap().into();
    let said = run.ok().json();
    let calls = said["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{said}");
    assert!(calls[1].as_str().unwrap().contains(&server.url), "{said}");
    drop(agent);

    // Each token went out through the agent, which named the MCP client, not Keyport: also for
    // the call made after the bridge hid its executable.
    let python = real(&keyport_test_support::repo_root().join(".tools/mcp-venv/bin/python"));
    let uses: Vec<serde_json::Value> = env
        .audit()
        .into_iter()
        .filter(|u| u["account"] == account.as_str() && u["via"] == "agent")
        .collect();
    assert!(uses.len() >= 2, "a token for each call: {uses:?}");
    for used in &uses {
        assert_eq!(
            used["program"].as_str(),
            python.file_name().and_then(|n| n.to_str()),
            "{used}"
        );
        assert_eq!(used["exe"].as_str(), python.to_str(), "{used}");
    }
}

#[test]
fn a_crashed_bridge_leaves_no_core_file_with_its_tokens() {
    let env = Env::new(60);
    let server = McpServer::start(3600);
    env.run(&["connect", &server.url, "--timeout", "30"]).ok();
    let Some(cores) = CoreDir::proven(&env) else {
        return;
    };
    let mut client = client(&env, &[], &cores.wrapper(), &server.url, "30");
    let bridge = bridge_after_a_call(&server, client.id());
    crash(bridge);
    let start = std::time::Instant::now();
    while std::fs::read_to_string(format!("/proc/{bridge}/stat")).is_ok_and(|s| !s.contains(") Z ")) {
        assert!(start.elapsed().as_secs() < 10, "the bridge did not crash");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = client.kill();
    let _ = client.wait();
    assert_eq!(cores.count(), 0, "the crashed bridge wrote a core file");
}

//! Scenarios 1 and 2: `keyport token` with a warm, valid token, read from the keychain and served
//! by a running agent (the desktop app's, or `keyport agent`), beside `secret-tool lookup` and a
//! bare Rust process.

use crate::app::App;
use crate::report::{medians_in_turn, ms, Report};
use crate::Context;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Returns the keychain path's median, which scenario 3 compares with.
pub fn run(cx: &Context, report: &mut Report) -> f64 {
    let (env, id, runs) = (&cx.env, &cx.account, cx.runs);
    let service = env.service();
    let user = format!("account:{id}");
    let noop = noop_binary(cx.tmp.path(), false);
    let noop_static = noop_binary(cx.tmp.path(), true);
    let [token, lookup, bare] = medians_in_turn(
        runs,
        &mut [
            &mut || env.command(&["token", id]),
            &mut || {
                let mut c = env.program(Path::new("secret-tool"));
                c.args(["lookup", "service", &service, "username", &user]);
                c
            },
            &mut || env.program(&noop),
        ],
    )[..] else {
        unreachable!("three commands, three medians")
    };
    report.row(
        format!("1. `keyport token`, keychain path (median of {runs})"),
        ms(token),
        format!("`secret-tool lookup`: {}", ms(lookup)),
        Some(token / lookup),
    );
    report.row(
        "",
        "",
        format!("bare Rust process: {}", ms(bare)),
        Some(token / bare),
    );

    let agent_host = cx.options.app.as_ref().map(|app| {
        let mut c = env.program(app);
        c.env("DISPLAY", &cx.display.name);
        let app = App::start(c).0;
        // The agent path as programs meet it: the window done starting, not painting beside it.
        app.settle();
        app
    });
    let agent_cli = agent_host.is_none().then(|| env.agent());
    let socket = env.home.path().canonicalize().unwrap().join("data/agent.sock");
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let floor_client = socket_client(cx.tmp.path());
    // The process starts again, in turn with these: scenario 1's ran minutes earlier.
    let [via_agent, floor, bare, bare_static] = medians_in_turn(
        runs,
        &mut [
            &mut || env.command(&["token", id]),
            &mut || {
                let mut c = env.program(&floor_client);
                c.arg(&socket).arg(id);
                c
            },
            &mut || env.program(&noop),
            &mut || env.program(&noop_static),
        ],
    )[..] else {
        unreachable!("four commands, four medians")
    };
    let host = if agent_host.is_some() {
        "desktop app running"
    } else {
        "`keyport agent` running"
    };
    report.row(
        format!("2. `keyport token`, {host} (median of {runs})"),
        ms(via_agent),
        format!("bare Rust process: {}", ms(bare)),
        Some(via_agent / bare),
    );
    report.row(
        "",
        "",
        format!("bare Rust process, statically linked: {}", ms(bare_static)),
        Some(via_agent / bare_static),
    );
    report.row(
        "",
        "",
        format!("minimal socket client: {}", ms(floor)),
        Some(via_agent / floor),
    );
    report.row(
        "",
        "",
        format!("keychain path: {}", ms(token)),
        Some(via_agent / token),
    );
    drop(agent_host);
    drop(agent_cli);
    token
}

/// A trivial Rust program, compiled here, for the cost of starting a process at all: linked as
/// rustc does by default, or statically (as scripts/build-cli links `keyport`).
pub fn noop_binary(dir: &Path, statically: bool) -> PathBuf {
    let (name, flags): (_, &[&str]) = match statically {
        false => ("noop", &[]),
        true => ("noop-static", &["-C", "target-feature=+crt-static"]),
    };
    compile(dir, name, "fn main() {}\n", flags)
}

/// The least a client of the agent can do, compiled here as the floor of scenario 2 (a token
/// daemon's client like pizauth's does this much): connect, write the request, read the answer,
/// print the token.
fn socket_client(dir: &Path) -> PathBuf {
    compile(
        dir,
        "socket-client",
        r#"use std::io::{Read, Write};
fn main() {
    let mut args = std::env::args().skip(1);
    let (socket, account) = (args.next().unwrap(), args.next().unwrap());
    let mut s = std::os::unix::net::UnixStream::connect(socket).unwrap();
    s.write_all(format!("{{\"account\":\"{account}\",\"min_ttl\":300}}\n").as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let start = answer.find("\"token\":\"").expect("a token answer") + 9;
    let end = start + answer[start..].find('"').unwrap();
    print!("{}", &answer[start..end]);
}
"#,
        &[],
    )
}

fn compile(dir: &Path, name: &str, source: &str, flags: &[&str]) -> PathBuf {
    let src = dir.join(format!("{name}.rs"));
    std::fs::write(&src, source).unwrap();
    let bin = dir.join(name);
    let ok = Command::new("rustc")
        .args(flags)
        .args(["-O", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("rustc is installed")
        .success();
    assert!(ok, "could not compile {name}");
    bin
}

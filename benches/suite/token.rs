//! Scenarios 1 and 2: `keyport token` with a warm, valid token, read from the keychain and served
//! by a running agent (the desktop app's, or `keyport agent`), beside `secret-tool lookup` and a
//! bare Rust process.

use crate::app::App;
use crate::report::{median_ms, ms, Report};
use crate::Context;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Returns the keychain path's median, which scenario 3 compares with.
pub fn run(cx: &Context, report: &mut Report) -> f64 {
    let (env, id, runs) = (&cx.env, &cx.account, cx.runs);
    let service = env.service();
    let user = format!("account:{id}");
    let token = median_ms(runs, || env.command(&["token", id]));
    let lookup = median_ms(runs, || {
        let mut c = env.program(Path::new("secret-tool"));
        c.args(["lookup", "service", &service, "username", &user]);
        c
    });
    let noop = noop_binary(cx.tmp.path());
    let bare = median_ms(runs, || env.program(&noop));
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
        App::start(c).0
    });
    let agent_cli = agent_host.is_none().then(|| env.agent());
    let socket = env.home.path().canonicalize().unwrap().join("data/agent.sock");
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let via_agent = median_ms(runs, || env.command(&["token", id]));
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
        format!("keychain path: {}", ms(token)),
        Some(via_agent / token),
    );
    drop(agent_host);
    drop(agent_cli);
    token
}

/// A trivial Rust program, compiled here, for the cost of starting a process at all.
fn noop_binary(dir: &Path) -> PathBuf {
    let src = dir.join("noop.rs");
    std::fs::write(&src, "fn main() {}\n").unwrap();
    let bin = dir.join("noop");
    let ok = Command::new("rustc")
        .args(["-O", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("rustc is installed")
        .success();
    assert!(ok, "could not compile the trivial program");
    bin
}

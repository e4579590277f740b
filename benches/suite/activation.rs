//! Scenario 11: the agent started by the first request (socket activation, issue 35), with
//! systemd's own `systemd-socket-activate` holding the socket as keyport-agent.socket does. The
//! first `keyport token` pays for the agent's start and one keychain read, and is compared with
//! `secret-tool lookup` of the same item (another program's one keychain read); the later calls,
//! answered from the activated agent's memory, with a statically linked bare process (scenario
//! 2's floor, as `keyport` is linked statically).

use crate::report::{median, median_ms, medians_in_turn, ms, Report};
use crate::Context;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub fn run(cx: &Context, report: &mut Report) {
    let (env, id) = (&cx.env, &cx.account);
    let socket = env.home.path().canonicalize().unwrap().join("data/agent.sock");
    let (service, user) = (env.service(), format!("account:{id}"));
    let lookup = || {
        let mut c = env.program(Path::new("secret-tool"));
        c.args(["lookup", "service", &service, "username", &user]);
        c
    };
    // Each first call needs a fresh agent: fewer of them than of the cheap calls.
    let starts = (cx.runs / 4).max(5);
    let (mut first, mut looked_up) = (Vec::new(), Vec::new());
    for _ in 0..starts {
        let mut unit = Activated::listen(cx, &socket);
        first.push(median_ms(1, || env.command(&["token", id])));
        unit.stop();
        // In turn, so that a slow spell falls on both alike.
        looked_up.push(median_ms(1, lookup));
    }
    let (first, looked_up) = (median(first), median(looked_up));
    report.row(
        format!("11. first `keyport token`, agent started by the socket (median of {starts})"),
        ms(first),
        format!("`secret-tool lookup`: {}", ms(looked_up)),
        Some(first / looked_up),
    );

    let mut unit = Activated::listen(cx, &socket);
    median_ms(1, || env.command(&["token", id]));
    let bare_static = crate::token::noop_binary(cx.tmp.path(), true);
    let runs = cx.runs;
    let [later, bare] = medians_in_turn(
        runs,
        &mut [&mut || env.command(&["token", id]), &mut || {
            env.program(&bare_static)
        }],
    )[..] else {
        unreachable!("two commands, two medians")
    };
    unit.stop();
    report.row(
        format!("    later calls, from the activated agent's memory (median of {runs})"),
        ms(later),
        format!("bare Rust process, statically linked: {}", ms(bare)),
        Some(later / bare),
    );
}

/// `systemd-socket-activate` listening at the agent's socket, as the package's socket unit
/// does, with `keyport agent` to start at the first connection (it then runs in its place).
struct Activated(Child);

impl Activated {
    fn listen(cx: &Context, socket: &Path) -> Self {
        // Left by the last one, which was killed: systemd's tool binds afresh.
        let _ = std::fs::remove_file(socket);
        let mut command = cx.env.systemd_socket_activate(socket);
        let child = command
            .arg(&cx.keyport)
            .args(["agent", "--idle-exit", "10m"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("systemd-socket-activate is installed (scripts/install-deps)");
        let start = Instant::now();
        while !socket.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "systemd-socket-activate listens"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        Activated(child)
    }

    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Activated {
    fn drop(&mut self) {
        self.stop();
    }
}

//! Scenario 9: the keychain path under load. Many `keyport token` processes at once with no agent,
//! beside `secret-tool` readers (another program's keychain clients), against gnome-keyring: the
//! load that sets off its client race, whose abort takes every secret of the desktop session
//! offline. Keyport's processes take turns at the Secret Service (store/keychain/secret_service.rs);
//! this counts what gets through, and whether the daemon is still there at the end.

use crate::report::Report;
use crate::Context;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const KEYPORT_WORKERS: usize = 12;
const OTHER_WORKERS: usize = 4;

pub fn run(cx: &Context, report: &mut Report) {
    let (env, id) = (&cx.env, &cx.account);
    let total = if cx.options.quick { 800 } else { 20_000 };
    let (service, user) = (env.service(), format!("account:{id}"));
    let next = AtomicUsize::new(0);
    let failed = [AtomicUsize::new(0), AtomicUsize::new(0)];
    let started = Instant::now();
    std::thread::scope(|scope| {
        for worker in 0..KEYPORT_WORKERS + OTHER_WORKERS {
            let (next, failed, service, user) = (&next, &failed, &service, &user);
            scope.spawn(move || {
                let ours = worker < KEYPORT_WORKERS;
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let command = if ours {
                        env.command(&["token", id])
                    } else {
                        let mut c = env.program(Path::new("secret-tool"));
                        c.args(["lookup", "service", service, "username", user]);
                        c
                    };
                    if !succeeds(command) {
                        failed[usize::from(!ours)].fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    let up = env.keychain.is_running();
    report.row(
        format!(
            "9. keychain under load: {total} reads, {KEYPORT_WORKERS} `keyport token` (no agent) and {OTHER_WORKERS} `secret-tool lookup` at once"
        ),
        format!("{:.0} reads/s", total as f64 / seconds),
        format!(
            "failed: keyport {}, secret-tool {}",
            failed[0].load(Ordering::Relaxed),
            failed[1].load(Ordering::Relaxed)
        ),
        None,
    );
    report.row(
        "   gnome-keyring still running at the end",
        if up { "yes" } else { "**no: it aborted**" },
        "must be yes",
        None,
    );
}

/// Runs `command`; a call that hangs (a keychain gone mid-call) counts as failed after 10 s.
fn succeeds(mut command: Command) -> bool {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the program starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match child.try_wait().expect("the child can be waited for") {
            Some(status) => return status.success(),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

//! Scenario 3: many `keyport token` at once on an expired token: one refresh, no failure, and the
//! wall time beside what the calls would cost if they did not get in each other's way.

use crate::report::{ms, Report};
use crate::Context;
use keyport_test_support::Env;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub fn run(cx: &Context, report: &mut Report, warm_token_ms: f64) {
    let env = Env::new(2);
    let id = env.connect("alice");
    let sizes: &[usize] = if cx.options.quick {
        &[1, 10, 50]
    } else {
        &[1, 10, 50, 200]
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    let mut single = None;
    for &n in sizes {
        std::thread::sleep(Duration::from_millis(2500)); // let the token expire
        let before = env.server.grants("refresh_token");
        let start = Instant::now();
        let children: Vec<Child> = (0..n)
            .map(|_| {
                env.command(&["token", &id])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let failures = children
            .into_iter()
            .filter_map(|mut c| (!c.wait().unwrap().success()).then_some(()))
            .count();
        let wall = start.elapsed().as_secs_f64() * 1000.0;
        let refreshes = env.server.grants("refresh_token") - before;
        // What it would cost if the calls did not get in each other's way: one refresh (the N=1
        // case), plus the other calls' warm keychain reads shared out over the cores.
        let one = *single.get_or_insert(wall);
        let floor = one + (n as f64 - 1.0) * warm_token_ms / cores;
        report.row(
            format!("3. {n} concurrent `token` on an expired token"),
            ms(wall),
            format!(
                "{refreshes} refresh(es), {failures} failures; floor {}",
                ms(floor)
            ),
            Some(wall / floor),
        );
    }
}

//! Scenario 8: what a sign-in costs Keyport itself. `keyport connect` runs against the local
//! OpenID provider with the scripted browser; its own account of each step (logged at debug level
//! under `keyport::sign_in_phases`) is set beside the provider's account of how long it spent
//! answering Keyport's requests, and the time in the browser is left out. What remains, from the
//! process starting to the account stored, is Keyport's overhead.

use crate::report::{median, ms, Report};
use crate::Context;
use keyport_test_support::Env;
use std::collections::BTreeMap;
use std::time::Instant;

/// The provider's paths Keyport calls itself (the others are the browser's).
const DIRECT: &[(&str, &str)] = &[
    ("discovery", "/.well-known/openid-configuration"),
    ("code_exchange", "/token"),
    ("user_info", "/me"),
];

fn provider_ms(stats: &serde_json::Value, path: &str) -> f64 {
    stats["time_ms"][path].as_f64().unwrap_or(0.0)
}

pub fn run(cx: &Context, report: &mut Report) {
    let runs = if cx.options.quick { 3 } else { 21 };
    let env = Env::new(3600);
    env.connect("warm-up"); // the provider's own first-request costs are not Keyport's
    let mut overheads = Vec::new();
    let mut steps: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for i in 0..runs {
        let before = env.server.stats();
        // Its stderr goes to a file: the scripted browser inherits it and lives on for a while
        // after Keyport ends, and Keyport's time ends when Keyport does.
        let log = cx.tmp.path().join(format!("sign-in-{i}.log"));
        let start = Instant::now();
        let status = env
            .command(&["connect", "demo", "--json", "--timeout", "30"])
            .env("KEYPORT_TEST_LOGIN", format!("user{i}"))
            .env("KEYPORT_LOG", "keyport::sign_in_phases=debug")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .status()
            .unwrap();
        let wall = start.elapsed().as_secs_f64() * 1000.0;
        let stderr = std::fs::read_to_string(&log).unwrap();
        assert!(status.success(), "{stderr}");
        let after = env.server.stats();
        let phases: BTreeMap<String, f64> = stderr
            .lines()
            .find_map(|l| l.split_once("phases=").map(|(_, p)| p.to_string()))
            .unwrap_or_else(|| panic!("the sign-in logs its phases: {stderr}"))
            .split_whitespace()
            .filter_map(|kv| {
                kv.split_once('=')
                    .and_then(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
            })
            .collect();
        let at_provider = |path| provider_ms(&after, path) - provider_ms(&before, path);
        let mut own = wall - phases.get("browser").copied().unwrap_or(0.0);
        for (step, ms) in &phases {
            let provider: f64 = DIRECT
                .iter()
                .filter(|(s, _)| s == step)
                .map(|(_, path)| at_provider(path))
                .sum();
            own -= provider;
            if step != "browser" {
                steps.entry(step.clone()).or_default().push(ms - provider);
            }
        }
        // Before the first step and after the last: starting both executables, the runtime, the
        // output.
        let logged: f64 = phases.values().sum();
        steps
            .entry("process start and exit".into())
            .or_default()
            .push(wall - logged);
        overheads.push(own);
    }
    let breakdown: Vec<String> = steps
        .into_iter()
        .map(|(step, v)| format!("{} {}", step.replace('_', " "), ms(median(v))))
        .collect();
    report.row(
        format!("8. sign-in overhead: `keyport connect` minus browser and provider (median of {runs})"),
        ms(median(overheads)),
        "goal 50 ms",
        None,
    );
    println!("   steps: {}", breakdown.join(", "));
    report.note(format!(
        "Scenario 8, Keyport's own time in a sign-in, step by step (medians; the provider's time taken out of discovery, code exchange and user info): {}.",
        breakdown.join(", ")
    ));
}

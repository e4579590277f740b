//! Scenario 6: an MCP client's `tools/call` through `keyport mcp`, side by side with straight
//! HTTP to the same server with the same token (the floor) and with `mcp-remote` (npm), the
//! usual stdio bridge, given that token as a header (expanded from its environment). The server is the test suite's, on the
//! official Python SDK; `benches/peers/bridge_latency.py` drives all three in one run and reads
//! each bridge's resident memory (its process and children) after the calls. Twice: in the
//! 2026-07-28 revision (each request standing alone, no session) and in the handshake era's
//! session (2025-06-18).

use crate::report::{median, ms, Report};
use crate::Context;
use keyport_test_support::{repo_root, McpServer};

pub fn run(cx: &Context, report: &mut Report) {
    let calls = if cx.options.quick { 30 } else { 300 };
    let server = McpServer::start(3600);
    cx.env.run(&["connect", &server.url, "--timeout", "30"]).ok();
    let token = cx.env.run(&["token", "--resource", &server.url]).ok().stdout;
    let token = token.trim();
    let root = repo_root();
    let home = cx.tmp.path().join("mcp-remote-home");
    std::fs::create_dir_all(&home).unwrap();
    let measure = |revision: &str, bridge: &[&str]| -> (f64, f64, f64) {
        let out: keyport_test_support::Run = cx
            .env
            .program(&root.join(".tools/mcp-venv/bin/python"))
            .arg(root.join("benches/peers/bridge_latency.py"))
            .args([&server.url, &calls.to_string(), "--"])
            .args(bridge)
            // The token in the environment, not on a command line; mcp-remote expands it there.
            .env("MCP_TOKEN", token)
            .env("REVISION", revision)
            // mcp-remote keeps its state under HOME: a fresh one, not the user's.
            .env("HOME", &home)
            .output()
            .unwrap()
            .into();
        let said = out.ok().json();
        let p50 = |k: &str| {
            median(
                said[k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect(),
            )
        };
        (
            p50("direct_ms"),
            p50("bridge_ms"),
            said["rss_kib"].as_f64().unwrap() / 1024.0,
        )
    };
    let keyport = cx.keyport.to_str().unwrap();
    let proxy = root.join("benches/peers/node_modules/mcp-remote/dist/proxy.js");
    let mcp_remote = [
        "node",
        proxy.to_str().unwrap(),
        &server.url,
        "--header",
        "Authorization: Bearer ${MCP_TOKEN}",
        "--allow-http",
        "--transport",
        "http-only",
    ];
    for (revision, name) in [
        ("2026-07-28", "2026-07-28, no session"),
        ("2025-06-18", "2025-06-18 session"),
    ] {
        let (direct_k, through_k, rss_k) = measure(revision, &[keyport, "mcp", &server.url]);
        let (direct_m, through_m, rss_m) = measure(revision, &mcp_remote);
        let direct = median(vec![direct_k, direct_m]);
        report.row(
            format!("6. MCP `tools/call` through `keyport mcp`, {name} (median of {calls})"),
            ms(through_k),
            format!("straight HTTP: {}", ms(direct)),
            Some(through_k / direct),
        );
        let added_k = through_k - direct_k;
        let added_m = through_m - direct_m;
        // Each is a difference of two medians: when the bridge's came out below straight HTTP's,
        // what it adds is less than the run's noise, and a clamped 0.00 ms would claim more.
        let added = |v: f64| {
            if v > 0.0 {
                ms(v)
            } else {
                format!("below the noise ({})", ms(v))
            }
        };
        report.row(
            "   time the bridge adds: `keyport mcp`",
            added(added_k),
            format!("mcp-remote: {}", added(added_m)),
            (added_k > 0.0 && added_m > 0.0).then(|| added_k / added_m),
        );
        report.row(
            "   bridge resident memory: `keyport mcp`",
            format!("{rss_k:.1} MiB"),
            format!("mcp-remote: {rss_m:.1} MiB"),
            Some(rss_k / rss_m),
        );
    }
}

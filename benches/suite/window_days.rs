//! Scenario 10: the window over days, compressed. The page reloads its lists every 30 seconds
//! (expiry texts move with the clock) and whenever the accounts change, so a window left open for
//! days reloads them thousands of times. Here the page is made to do days' worth of reloads in
//! minutes: a WebDriver script in the real webview emits the app's own "accounts changed" event,
//! as the backend's file watcher does, while the CLI renames the account now and then so that the
//! row really changes. Printed: the memory of all the app's processes, and of each kind, from
//! after the first reloads to the end, and a plot of it every so many reloads.

use crate::app::App;
use crate::report::Report;
use crate::soak::{memory_plot, mib, total_mib};
use crate::Context;
use keyport_test_support::{Env, WebDriver};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// What the window's own clock does: one reload every 30 s (ui/src/main.ts).
const RELOAD_EVERY_S: f64 = 30.0;

/// In the page: `n` reloads, each announced as the backend announces a change, one every 10 ms.
const RELOADS: &str = r#"
const [n, done] = arguments;
(async () => {
  for (let i = 0; i < n; i += 1) {
    await window.__TAURI_INTERNALS__.invoke('plugin:event|emit', { event: 'accounts-changed', payload: null });
    await new Promise((r) => setTimeout(r, 10));
  }
  return document.querySelectorAll('li.account').length;
})().then(done, (e) => done('error: ' + e));
"#;

pub fn run(cx: &Context, report: &mut Report) {
    let Some(app_path) = &cx.options.app else {
        report.note("Scenario 10 (the window over days) was skipped: pass --app.".into());
        return;
    };
    let (rounds, per_round) = if cx.options.quick { (2, 100) } else { (8, 2000) };
    // A home of its own: its own session bus, so the single-instance app starts afresh.
    let env = Env::new(3600);
    let id = env.connect("alice");
    let mut driver = env.program(Path::new("WebKitWebDriver"));
    driver.env("DISPLAY", &cx.display.name).env("NO_AT_BRIDGE", "1");
    let web = WebDriver::start(driver, app_path);
    let app = App::adopt(web.driver_pid());
    let reload = |n: usize| {
        let rows = web.execute_async(RELOADS, serde_json::json!([n]));
        assert_eq!(rows, 1, "the window should list the one account: {rows}");
    };
    // The first reloads fill WebKit's caches and compile the page's code; after them, growth is
    // what the run itself leaves behind.
    reload(per_round / 4);
    app.settle();
    let start = app.rss_by_kind();
    let mut samples = vec![(0u64, start)];
    // The CLI renames the account twice a second meanwhile: the file watcher's real event, and a
    // row whose text changes.
    let stop = AtomicBool::new(false);
    let renames = AtomicUsize::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let run = env.run(&["rename", &id, &format!("alice-{}", n % 7)]);
                assert_eq!(run.code, 0, "keyport rename failed: {}", run.stderr);
                renames.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(500));
            }
        });
        for round in 1..=rounds {
            reload(per_round);
            std::thread::sleep(Duration::from_secs(1));
            samples.push(((round * per_round) as u64, app.rss_by_kind()));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let reloads = rounds * per_round;
    let days = reloads as f64 * RELOAD_EVERY_S / 86_400.0;
    let end = samples.last().unwrap().1;
    let peak_web = samples.iter().map(|s| s.1[1]).max().unwrap_or(0);
    report.row(
        format!(
            "10. the window over days: {reloads} list reloads ({days:.1} days of its 30-s clock), {} renames by the CLI",
            renames.load(Ordering::Relaxed)
        ),
        format!("{:.1} → {:.1} MiB", total_mib(&start), total_mib(&end)),
        format!(
            "app {:.1} → {:.1}, WebKit web {:.1} → {:.1} (highest {:.1}), network {:.1} → {:.1} MiB",
            mib(start[0]),
            mib(end[0]),
            mib(start[1]),
            mib(end[1]),
            mib(peak_web),
            mib(start[2]),
            mib(end[2]),
        ),
        Some(total_mib(&end) / total_mib(&start)),
    );
    report.note(memory_plot(
        "The window over days (scenario 10): RSS of the app and its WebKit processes, and of it the app's own process and WebKit's web process, after every so many list reloads:",
        "reloads",
        &samples,
    ));
    drop(app);
}

//! Scenario 7: the agent over a long run, asked through its socket as programs ask it (one
//! connection per request, no process started per call), by eight clients at once, on tokens that
//! live 20 seconds, so that the agent refreshes them again and again during the run. Printed:
//! requests per second, latency percentiles, errors, refreshes against expiries, and the agent's
//! memory and descriptors from after the warm-up to the end.
//!
//! With `--soak MINUTES`, the desktop app's agent too (consent and the audit on), at a lower rate
//! for that long, with the memory of all the app's processes sampled each minute, as a table and a
//! plot.

use crate::app::{rss_of, App};
use crate::report::Report;
use crate::Context;
use keyport_test_support::Env;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 8;
/// Access tokens live this long; the agent refreshes them at half their life.
const TOKEN_TTL: u64 = 20;

/// What a run of requests came to.
#[derive(Default)]
struct Load {
    latencies_us: Vec<u32>,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
}

impl Load {
    fn count(&self) -> usize {
        self.latencies_us.len() + self.errors
    }

    fn percentile_ms(&mut self, p: f64) -> f64 {
        self.latencies_us.sort_unstable();
        let n = self.latencies_us.len();
        if n == 0 {
            return 0.0;
        }
        let i = ((n as f64 * p).ceil() as usize).clamp(1, n) - 1;
        self.latencies_us[i] as f64 / 1000.0
    }
}

/// When a run stops.
#[derive(Clone, Copy)]
enum Until {
    Requests(usize),
    Deadline(Instant),
}

/// One request over the socket: its latency, or the answer that was not a token.
fn ask(socket: &Path, line: &[u8]) -> Result<Duration, String> {
    let start = Instant::now();
    let mut stream = UnixStream::connect(socket).map_err(|e| format!("connect: {e}"))?;
    stream.write_all(line).map_err(|e| format!("write: {e}"))?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    if answer.contains("\"answer\":\"token\"") {
        Ok(start.elapsed())
    } else {
        Err(answer.chars().take(300).collect())
    }
}

/// `clients` clients asking for `account`'s token until `until`, each waiting `pause` between its
/// requests; `each_minute` is called on this thread once a minute meanwhile.
fn drive(
    socket: &Path,
    account: &str,
    clients: usize,
    until: Until,
    pause: Duration,
    mut each_minute: impl FnMut(u64),
) -> Load {
    let line = Arc::new(format!("{{\"account\":\"{account}\",\"min_ttl\":300}}\n").into_bytes());
    let issued = Arc::new(AtomicUsize::new(0));
    let total = Arc::new(Mutex::new(Load::default()));
    let start = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (line, issued, total) = (line.clone(), issued.clone(), total.clone());
            let socket = socket.to_path_buf();
            std::thread::spawn(move || {
                let mut mine = Load::default();
                loop {
                    let go_on = match until {
                        Until::Requests(n) => issued.fetch_add(1, Ordering::Relaxed) < n,
                        Until::Deadline(at) => Instant::now() < at,
                    };
                    if !go_on {
                        break;
                    }
                    match ask(&socket, &line) {
                        Ok(took) => mine
                            .latencies_us
                            .push(took.as_micros().min(u32::MAX as u128) as u32),
                        Err(why) => {
                            mine.errors += 1;
                            mine.first_error.get_or_insert(why);
                        }
                    }
                    if !pause.is_zero() {
                        std::thread::sleep(pause);
                    }
                }
                let mut total = total.lock().unwrap();
                total.latencies_us.append(&mut mine.latencies_us);
                total.errors += mine.errors;
                if total.first_error.is_none() {
                    total.first_error = mine.first_error;
                }
            })
        })
        .collect();
    let mut minute = 0;
    while workers.iter().any(|w| !w.is_finished()) {
        std::thread::sleep(Duration::from_millis(200));
        if start.elapsed() >= Duration::from_secs(60 * (minute + 1)) {
            minute += 1;
            each_minute(minute);
        }
    }
    for w in workers {
        w.join().unwrap();
    }
    let mut load = std::mem::take(&mut *total.lock().unwrap());
    load.elapsed = start.elapsed();
    load
}

fn rss_mib(pid: u32) -> f64 {
    mib(rss_of(pid))
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn audit_kib(env: &Env) -> f64 {
    std::fs::metadata(env.home.path().join("data/audit.jsonl")).map_or(0.0, |m| m.len() as f64 / 1024.0)
}

pub fn run(cx: &Context, report: &mut Report) {
    let requests = if cx.options.quick { 20_000 } else { 1_000_000 };
    let env = Env::new(TOKEN_TTL);
    let id = env.connect("alice");
    let agent = env.agent();
    let socket = agent.socket.clone();
    // Warm-up: the token cached and (in a full run) refreshed once, with the HTTP client that
    // takes, the audit at its bound, the allocator settled.
    let warm_up = if cx.options.quick {
        Until::Requests(requests / 10)
    } else {
        Until::Deadline(Instant::now() + Duration::from_secs(TOKEN_TTL / 2 + 5))
    };
    let mut warm = drive(&socket, &id, CLIENTS, warm_up, Duration::ZERO, |_| {});
    let (rss_warm, fds_warm) = (rss_mib(agent.pid()), descriptors(agent.pid()));
    let refreshes_before = env.server.grants("refresh_token");
    // In quarters, the memory read after each: growth that goes on is a leak, a step that stays
    // is not.
    let mut load = Load::default();
    let mut rss_path = vec![rss_warm];
    for _ in 0..4 {
        let mut quarter = drive(
            &socket,
            &id,
            CLIENTS,
            Until::Requests(requests / 4),
            Duration::ZERO,
            |_| {},
        );
        load.latencies_us.append(&mut quarter.latencies_us);
        load.errors += quarter.errors;
        load.first_error = load.first_error.take().or(quarter.first_error);
        load.elapsed += quarter.elapsed;
        rss_path.push(rss_mib(agent.pid()));
    }
    let (rss_end, fds_end) = (rss_mib(agent.pid()), descriptors(agent.pid()));
    let refreshes = env.server.grants("refresh_token") - refreshes_before;
    // One client at a time: the agent's own answer time, beside a server that does nothing but
    // answer (the same line back) over the same kind of socket.
    let mut alone = drive(
        &socket,
        &id,
        1,
        Until::Requests(requests / 50),
        Duration::ZERO,
        |_| {},
    );
    let echo = EchoServer::start();
    let mut bare = drive_echo(&echo.path, requests / 50);
    let (alone_p50, bare_p50) = (alone.percentile_ms(0.5), bare.percentile_ms(0.5));
    report.row(
        "   one client at a time: the agent's answer, p50",
        format!("{alone_p50:.3} ms"),
        format!("a socket server that only answers: {bare_p50:.3} ms"),
        Some(alone_p50 / bare_p50),
    );
    // A refresh at half the token's life, give or take one sweep.
    let expected = load.elapsed.as_secs_f64() / (TOKEN_TTL as f64 / 2.0);
    let rate = load.count() as f64 / load.elapsed.as_secs_f64();
    report.row(
        format!(
            "7. agent soak: {} requests over the socket, {CLIENTS} clients",
            load.count()
        ),
        format!("{rate:.0} req/s"),
        outcome(&mut load, &mut warm),
        None,
    );
    report.row(
        format!("   refreshes during it ({TOKEN_TTL} s tokens, refreshed at half-life)"),
        refreshes.to_string(),
        format!("one per half-life: {expected:.1}"),
        Some(refreshes as f64 / expected.max(1.0)),
    );
    let path: Vec<String> = rss_path.iter().map(|m| format!("{m:.1}")).collect();
    report.row(
        "   agent RSS (MiB), after warm-up → each quarter",
        path.join(" → "),
        format!(
            "descriptors {fds_warm} → {fds_end}; audit.jsonl {:.0} KiB (bound 256)",
            audit_kib(&env)
        ),
        Some(rss_end / rss_warm),
    );
}

/// The desktop app's agent for `minutes`, at a lower rate, with consent (the suite's executable
/// allowed for the account, as a person's "Always" would) and the audit on.
pub fn run_app(cx: &Context, report: &mut Report, minutes: u64) {
    let Some(app_path) = &cx.options.app else {
        report.note("The app soak was skipped: pass --app.".into());
        return;
    };
    let env = Env::new(TOKEN_TTL * 3);
    let id = env.connect("alice");
    allow_this_program(&env, &id);
    let mut cmd = env.program(app_path);
    cmd.env("DISPLAY", &cx.display.name);
    let (app, _) = App::start(cmd);
    let socket: PathBuf = env.home.path().canonicalize().unwrap().join("data/agent.sock");
    let start = Instant::now();
    while UnixStream::connect(&socket).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the app's agent did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Warm-up: a minute of the same use.
    let mut warm = drive(
        &socket,
        &id,
        CLIENTS,
        Until::Deadline(Instant::now() + Duration::from_secs(60)),
        Duration::from_millis(40),
        |_| {},
    );
    let fds = |app: &App| app.tree().iter().map(|p| descriptors(*p)).sum::<usize>();
    let (kinds_warm, fds_warm) = (app.rss_by_kind(), fds(&app));
    let rss_warm = total_mib(&kinds_warm);
    let mut samples = vec![(0u64, kinds_warm)];
    let refreshes_before = env.server.grants("refresh_token");
    let mut load = drive(
        &socket,
        &id,
        CLIENTS,
        Until::Deadline(Instant::now() + Duration::from_secs(60 * minutes)),
        Duration::from_millis(40),
        |minute| samples.push((minute, app.rss_by_kind())),
    );
    let (kinds_end, fds_end) = (app.rss_by_kind(), fds(&app));
    let rss_end = total_mib(&kinds_end);
    let refreshes = env.server.grants("refresh_token") - refreshes_before;
    let rate = load.count() as f64 / load.elapsed.as_secs_f64();
    report.row(
        format!(
            "7. app soak: the app's agent (consent, audit) for {minutes} min, {} requests",
            load.count()
        ),
        format!("{rate:.0} req/s"),
        format!("{}; {refreshes} refreshes", outcome(&mut load, &mut warm)),
        None,
    );
    report.row(
        "   app RSS (all its processes), after warm-up → end",
        format!("{rss_warm:.1} → {rss_end:.1} MiB"),
        format!(
            "descriptors {fds_warm} → {fds_end}; audit.jsonl {:.0} KiB (bound 256)",
            audit_kib(&env)
        ),
        Some(rss_end / rss_warm),
    );
    report.row(
        "   of which, after warm-up → end",
        format!("app {:.1} → {:.1} MiB", mib(kinds_warm[0]), mib(kinds_end[0])),
        format!(
            "WebKit web {:.1} → {:.1}, network {:.1} → {:.1}, other {:.1} → {:.1} MiB",
            mib(kinds_warm[1]),
            mib(kinds_end[1]),
            mib(kinds_warm[2]),
            mib(kinds_end[2]),
            mib(kinds_warm[3]),
            mib(kinds_end[3])
        ),
        None,
    );
    report.note(memory_plot(
        "The app soak's memory (RSS of the app and its WebKit processes; of it, the app's own process and WebKit's web process), each minute after the warm-up:",
        "minute",
        &samples,
    ));
    drop(app);
}

/// Latency percentiles and errors of a run (with its warm-up's errors), the first error quoted.
fn outcome(load: &mut Load, warm: &mut Load) -> String {
    let (p50, p99, p999) = (
        load.percentile_ms(0.5),
        load.percentile_ms(0.99),
        load.percentile_ms(0.999),
    );
    let first = warm
        .first_error
        .take()
        .or(load.first_error.take())
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    format!(
        "p50 {p50:.3} ms, p99 {p99:.3} ms, p99.9 {p999:.3} ms; {} errors{first}",
        load.errors + warm.errors
    )
}

/// "Always allow" for the suite's own executable and `account`, written before the app starts.
fn allow_this_program(env: &Env, account: &str) {
    let exe = std::env::current_exe().unwrap().canonicalize().unwrap();
    let data = env.home.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let book = serde_json::json!({
        "version": 1,
        "ask": true,
        "decisions": [{ "exe": exe.to_string_lossy(), "account": account, "allow": true, "at": 0 }],
    });
    let path = data.join("consent.json");
    std::fs::write(&path, book.to_string()).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
}

/// The memory of all the app's processes, in MiB, from its parts by kind (`App::rss_by_kind`).
pub fn total_mib(kinds: &[u64; 4]) -> f64 {
    mib(kinds.iter().sum())
}

/// The app's memory as it went (`at` each minute, or each so many reloads; its parts by kind), as
/// a table and a text plot (for docs/BENCHMARKS.md), with the app's own process and WebKit's web
/// process beside the total (RSS of the app and all its processes).
pub fn memory_plot(caption: &str, column: &str, samples: &[(u64, [u64; 4])]) -> String {
    let totals: Vec<f64> = samples.iter().map(|(_, kinds)| total_mib(kinds)).collect();
    let max = totals.iter().copied().fold(0.0, f64::max);
    let min = totals.iter().copied().fold(f64::MAX, f64::min);
    let mut out = format!("{caption}\n\n```\n{column:>7}    MiB    app    web    ");
    out.push_str(&format!("{min:.1} … {max:.1}\n"));
    for ((at, kinds), total) in samples.iter().zip(totals) {
        let width = if max > min {
            ((total - min) / (max - min) * 40.0).round() as usize
        } else {
            0
        };
        let (app, web) = (mib(kinds[0]), mib(kinds[1]));
        out.push_str(&format!(
            "{at:>7} {total:>6.1} {app:>6.1} {web:>6.1}  |{}\n",
            "#".repeat(width + 1)
        ));
    }
    out.push_str("```");
    out
}

/// A Unix-socket server that reads a line and answers with a fixed token line: the floor of what
/// any agent's answer costs.
struct EchoServer {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl EchoServer {
    fn start() -> EchoServer {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("echo.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut line = String::new();
                let mut reader = BufReader::new(&stream);
                if reader.read_line(&mut line).is_ok() {
                    let _ = (&stream).write_all(b"{\"answer\":\"token\",\"token\":\"x\"}\n");
                }
            }
        });
        EchoServer { path, _dir: dir }
    }
}

fn drive_echo(path: &Path, requests: usize) -> Load {
    drive(path, "x", 1, Until::Requests(requests), Duration::ZERO, |_| {})
}

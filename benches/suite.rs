//! Keyport's benchmark suite: every figure measured side by side in one run, on this machine, and
//! printed as a table with ratios. Not a test: nothing here passes or fails on time.
//!
//! `scripts/bench` runs it in full and writes docs/BENCHMARKS.md; `scripts/test` runs it with
//! `--quick` (small N) so it cannot rot. Options (after `--`):
//!   --quick            few runs, N up to 50
//!   --app PATH         the Keyport desktop app binary (else scenario 2 uses `keyport agent`)
//!   --minimal PATH     the minimal Tauri app to compare the desktop app with
//!   --write FILE       also write the table as Markdown to FILE

#[allow(dead_code, unused_imports)]
#[path = "../tests/e2e/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::Env;

struct Options {
    quick: bool,
    app: Option<PathBuf>,
    minimal: Option<PathBuf>,
    write: Option<PathBuf>,
}

fn options() -> Options {
    let mut o = Options {
        quick: false,
        app: None,
        minimal: None,
        write: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--app" => o.app = args.next().map(PathBuf::from),
            "--minimal" => o.minimal = args.next().map(PathBuf::from),
            "--write" => o.write = args.next().map(PathBuf::from),
            _ => {} // cargo passes --bench
        }
    }
    o
}

/// One row of the report: what, the figure, and what it is compared with.
struct Row {
    what: String,
    value: String,
    compared: String,
    ratio: String,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Report {
    fn row(
        &mut self,
        what: impl Into<String>,
        value: impl Into<String>,
        compared: impl Into<String>,
        ratio: Option<f64>,
    ) {
        let row = Row {
            what: what.into(),
            value: value.into(),
            compared: compared.into(),
            ratio: ratio.map(|r| format!("{r:.2}×")).unwrap_or_default(),
        };
        println!(
            "{:<58} {:>14}  {:<34} {}",
            row.what, row.value, row.compared, row.ratio
        );
        self.rows.push(row);
    }

    fn markdown(&self, command: &str) -> String {
        let mut out =
            String::from("| measure | value | compared with | ratio |\n| --- | --- | --- | --- |\n");
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                r.what, r.value, r.compared, r.ratio
            ));
        }
        for n in &self.notes {
            out.push_str(&format!("\n{n}\n"));
        }
        format!("Produced by `{command}` on {}.\n\n{out}", machine())
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    format!("{cpus} CPUs ({model})")
}

fn ms(d: f64) -> String {
    format!("{d:.2} ms")
}

/// Median wall time of `runs` runs of `cmd`, in milliseconds; every run must succeed.
fn median_ms(runs: usize, mut cmd: impl FnMut() -> Command) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let mut c = cmd();
            c.stdout(Stdio::null()).stderr(Stdio::null());
            let start = Instant::now();
            let status = c.status().expect("the program starts");
            let t = start.elapsed().as_secs_f64() * 1000.0;
            assert!(status.success(), "{c:?} failed");
            t
        })
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[times.len() / 2]
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

/// An X server of our own, for the desktop app.
struct Display {
    child: Child,
    name: String,
}

impl Display {
    fn start() -> Self {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is installed (scripts/setup installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Display {
            child,
            name: format!(":{}", line.trim()),
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running desktop app and the processes it started (WebKit's web and network processes).
struct App {
    child: Child,
}

impl App {
    /// Starts `cmd` and waits for its "first-paint" line; returns the app and the time it took.
    fn start(mut cmd: Command) -> (App, f64) {
        cmd.env("KEYPORT_REPORT_PAINT", "1")
            .env("NO_AT_BRIDGE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let start = Instant::now();
        let mut child = cmd.spawn().expect("the app starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.trim() == "first-paint" => break,
                Some(_) => {}
                // The app is single-instance: started right after the previous one was killed, it
                // can still find that one's D-Bus name and hand over to it. Start it again.
                None if child.wait().is_ok_and(|s| s.success())
                    && start.elapsed() < Duration::from_secs(10) =>
                {
                    std::thread::sleep(Duration::from_millis(200));
                    return App::start(cmd);
                }
                None => panic!("the app exited before its first paint"),
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "no first paint within 2 minutes"
            );
        }
        let took = start.elapsed().as_secs_f64() * 1000.0;
        (App { child }, took)
    }

    fn tree(&self) -> Vec<u32> {
        let mut parents: Vec<(u32, u32)> = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
                continue;
            };
            if let Some(ppid) = rest.split(' ').nth(1).and_then(|p| p.parse().ok()) {
                parents.push((pid, ppid));
            }
        }
        let mut tree = vec![self.child.id()];
        let mut i = 0;
        while i < tree.len() {
            let p = tree[i];
            tree.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
            i += 1;
        }
        tree
    }

    /// Resident memory of the app and all its descendants, in KiB.
    fn rss_kib(&self) -> u64 {
        self.tree()
            .iter()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
            .filter_map(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
            .sum()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let tree = self.tree();
        for pid in tree.iter().rev() {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
        let _ = self.child.wait();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Cold start to first paint and idle memory, median of `runs` starts.
fn measure_app(runs: usize, mut cmd: impl FnMut() -> Command) -> (f64, f64) {
    let mut starts = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let (app, took) = App::start(cmd());
        std::thread::sleep(Duration::from_secs(3));
        starts.push(took);
        rss.push(app.rss_kib() as f64 / 1024.0);
    }
    (median(starts), median(rss))
}

fn main() {
    let o = options();
    let runs = if o.quick { 20 } else { 200 };
    let mut report = Report::default();
    let tmp = tempfile::tempdir().unwrap();
    let noop = noop_binary(tmp.path());
    let keyport = Path::new(env!("CARGO_BIN_EXE_keyport"));

    // 1 and 2: the token path, warm.
    let env = Env::new(3600);
    let id = env.connect("alice");
    let service = env.service();
    let user = format!("account:{id}");
    let token = median_ms(runs, || env.command(&["token", &id]));
    let lookup = median_ms(runs, || {
        let mut c = env.program(Path::new("secret-tool"));
        c.args(["lookup", "service", &service, "username", &user]);
        c
    });
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

    let display = Display::start();
    let agent_host = match &o.app {
        Some(app) => {
            let mut c = env.program(app);
            c.env("DISPLAY", &display.name);
            Some(App::start(c).0)
        }
        None => None,
    };
    let _agent_cli = if agent_host.is_none() {
        Some(env.agent())
    } else {
        None
    };
    let socket = env.home.path().canonicalize().unwrap().join("data/agent.sock");
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let via_agent = median_ms(runs, || env.command(&["token", &id]));
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
    drop(_agent_cli);

    // 3: many callers on an expired token.
    let env3 = Env::new(2);
    let id3 = env3.connect("alice");
    let sizes: &[usize] = if o.quick { &[1, 10, 50] } else { &[1, 10, 50, 200] };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    let mut single = None;
    for &n in sizes {
        std::thread::sleep(Duration::from_millis(2500)); // let the token expire
        let before = env3.server.grants("refresh_token");
        let start = Instant::now();
        let children: Vec<Child> = (0..n)
            .map(|_| {
                env3.command(&["token", &id3])
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
        let refreshes = env3.server.grants("refresh_token") - before;
        // What it would cost if the calls did not get in each other's way: one refresh (the N=1
        // case), plus the other calls' warm keychain reads shared out over the cores.
        let one = *single.get_or_insert(wall);
        let floor = one + (n as f64 - 1.0) * token / cores;
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

    // 4: `list` as accounts grow (metadata only: it must not touch the keychain).
    let list_runs = if o.quick { 10 } else { 50 };
    let file = env.home.path().join("data/accounts.json");
    let original: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let mut first = None;
    for n in [1usize, 100, 1000] {
        let mut doc = original.clone();
        let template = doc["accounts"][0].clone();
        doc["accounts"] = (0..n)
            .map(|i| {
                let mut a = template.clone();
                a["id"] = format!("demo-{}", i + 1).into();
                a["nickname"] = format!("user{i}@example.test").into();
                a
            })
            .collect();
        std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
        let t = median_ms(list_runs, || env.command(&["list", "--json"]));
        let base = *first.get_or_insert(t);
        report.row(
            format!("4. `keyport list --json`, {n} accounts (median of {list_runs})"),
            ms(t),
            "1 account",
            Some(t / base),
        );
    }
    // The app is measured with the one real account, not the synthetic thousand.
    std::fs::write(&file, serde_json::to_vec_pretty(&original).unwrap()).unwrap();

    // 5: the desktop app next to a minimal Tauri app built the same way.
    let app_runs = if o.quick { 1 } else { 5 };
    if let (Some(app), Some(minimal)) = (&o.app, &o.minimal) {
        let with_display = |p: &Path| {
            let mut c = env.program(p);
            c.env("DISPLAY", &display.name);
            c
        };
        let (app_start, app_rss) = measure_app(app_runs, || with_display(app));
        let (min_start, min_rss) = measure_app(app_runs, || with_display(minimal));
        report.row(
            format!("5. desktop app: cold start to first paint (median of {app_runs})"),
            ms(app_start),
            format!("minimal Tauri app: {}", ms(min_start)),
            Some(app_start / min_start),
        );
        report.row(
            "   desktop app: idle RSS, all its processes",
            format!("{app_rss:.1} MiB"),
            format!("minimal Tauri app: {min_rss:.1} MiB"),
            Some(app_rss / min_rss),
        );
        let size = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| m.len() as f64 / 1_048_576.0)
                .unwrap_or(0.0)
        };
        report.row(
            "   binary size: desktop app",
            format!("{:.1} MiB", size(app)),
            format!("minimal Tauri app: {:.1} MiB", size(minimal)),
            Some(size(app) / size(minimal)),
        );
        report.row(
            "   binary size: `keyport`",
            format!("{:.1} MiB", size(keyport)),
            "",
            None,
        );
    } else {
        report
            .notes
            .push("Scenario 5 skipped: pass --app and --minimal.".into());
    }
    let ldd = Command::new("ldd").arg(keyport).output().unwrap();
    let gui_libs = String::from_utf8_lossy(&ldd.stdout)
        .lines()
        .filter(|l| l.contains("webkit") || l.contains("gtk"))
        .count();
    report.row(
        "   `ldd keyport` lines naming webkit or gtk",
        gui_libs.to_string(),
        "must be 0",
        None,
    );

    if let Some(path) = o.write {
        let command = if o.quick {
            "scripts/bench --quick"
        } else {
            "scripts/bench"
        };
        std::fs::write(&path, format!("# Benchmarks\n\n{}", report.markdown(command))).unwrap();
        println!("\nwritten to {}", path.display());
    }
}

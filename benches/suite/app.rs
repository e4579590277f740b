//! Scenario 5: the desktop app beside a minimal Tauri app built the same way: cold start to first
//! paint, idle memory of all its processes, binary sizes; and the X server it runs on.

use crate::report::{median, ms, Report};
use crate::Context;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An X server of our own, for the desktop app.
pub struct Display {
    child: Child,
    pub name: String,
}

impl Display {
    pub fn start() -> Self {
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
            .expect("Xvfb is installed (scripts/install-deps installs it)");
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
pub struct App {
    /// The app's process, when this suite started it (else another program did, see `adopt`).
    child: Option<Child>,
    pid: u32,
}

impl App {
    /// Starts `cmd` and waits for its "first-paint" line; returns the app and the time it took.
    pub fn start(mut cmd: Command) -> (App, f64) {
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
        let pid = child.id();
        (
            App {
                child: Some(child),
                pid,
            },
            took,
        )
    }

    /// The app that `parent` started (WebKitWebDriver starts it), waiting up to 20 s for it.
    pub fn adopt(parent: u32) -> App {
        let start = Instant::now();
        loop {
            let found = processes()
                .into_iter()
                .find(|&(pid, ppid)| ppid == parent && comm(pid) == "keyport-app");
            if let Some((pid, _)) = found {
                return App { child: None, pid };
            }
            assert!(start.elapsed() < Duration::from_secs(20), "the app did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The app's process and all its descendants.
    pub fn tree(&self) -> Vec<u32> {
        let parents = processes();
        let mut tree = vec![self.pid];
        let mut i = 0;
        while i < tree.len() {
            let p = tree[i];
            tree.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
            i += 1;
        }
        tree
    }

    /// Waits until the app and its processes have stopped working after their start (at most
    /// 20 s): less than 5 ms of CPU time between two looks 250 ms apart. After the first paint,
    /// WebKit goes on loading and painting for a few seconds, and a measurement taken meanwhile
    /// shares the two cores with it.
    pub fn settle(&self) {
        let cpu_ticks = || -> u64 {
            self.tree()
                .iter()
                .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
                .filter_map(|stat| {
                    let fields = stat_fields(&stat)?;
                    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
                })
                .sum()
        };
        // SAFETY: sysconf only reads a system constant.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        let start = Instant::now();
        let mut last = cpu_ticks();
        while start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(250));
            let now = cpu_ticks();
            if (now - last.min(now)) * 1000 / hz < 5 {
                return;
            }
            last = now;
        }
    }

    /// Resident memory by kind of process, in KiB: the app itself, WebKit's web process(es),
    /// its network process, and anything else it started.
    pub fn rss_by_kind(&self) -> [u64; 4] {
        let mut kinds = [0u64; 4];
        for pid in self.tree() {
            let kind = match comm(pid).as_str() {
                _ if pid == self.pid => 0,
                c if c.starts_with("WebKitWebProces") => 1,
                c if c.starts_with("WebKitNetworkPr") => 2,
                _ => 3,
            };
            kinds[kind] += rss_of(pid);
        }
        kinds
    }

    /// Resident memory of the app and all its descendants, in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.tree().into_iter().map(rss_of).sum()
    }
}

/// Every process's pid and its parent's.
fn processes() -> Vec<(u32, u32)> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some(ppid) = stat_fields(&stat).and_then(|f| f.get(1)?.parse().ok()) {
            all.push((pid, ppid));
        }
    }
    all
}

/// A process's command name ("" when it is gone).
fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The fields of a `/proc/PID/stat` line after the command name (which may hold spaces and
/// parentheses): the parent's pid is [1], the user and system CPU time [11] and [12].
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    Some(stat[stat.rfind(')')? + 2..].split(' ').collect())
}

/// Resident memory of one process, in KiB (0 when it is gone).
pub fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
}

impl Drop for App {
    fn drop(&mut self) {
        let tree = self.tree();
        for pid in tree.iter().rev() {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
        if let Some(child) = &mut self.child {
            let _ = child.wait();
        }
    }
}

/// One app's cold starts: time to first paint, and memory once idle.
#[derive(Default)]
struct Starts {
    paint: Vec<f64>,
    rss: Vec<f64>,
}

impl Starts {
    fn once(&mut self, cmd: Command) {
        let (app, took) = App::start(cmd);
        std::thread::sleep(Duration::from_secs(3));
        self.paint.push(took);
        self.rss.push(app.rss_kib() as f64 / 1024.0);
    }

    fn medians(self) -> (f64, f64) {
        (median(self.paint), median(self.rss))
    }
}

/// Both apps' medians of `runs` cold starts each, started in turn (a b b a a b …): cold starts
/// here drift by 20 % within minutes, and a slow spell must fall on both alike.
fn measure_pair(
    runs: usize,
    mut a: impl FnMut() -> Command,
    mut b: impl FnMut() -> Command,
) -> ((f64, f64), (f64, f64)) {
    let (mut first, mut second) = (Starts::default(), Starts::default());
    for i in 0..runs {
        if i % 2 == 0 {
            first.once(a());
            second.once(b());
        } else {
            second.once(b());
            first.once(a());
        }
    }
    (first.medians(), second.medians())
}

pub fn run(cx: &Context, report: &mut Report) {
    let app_runs = if cx.options.quick { 1 } else { 9 };
    let (Some(app), Some(minimal)) = (&cx.options.app, &cx.options.minimal) else {
        report
            .notes
            .push("Scenario 5 skipped: pass --app and --minimal.".into());
        return;
    };
    let with_display = |p: &Path| {
        let mut c = cx.env.program(p);
        c.env("DISPLAY", &cx.display.name);
        c
    };
    let ((app_start, app_rss), (min_start, min_rss)) =
        measure_pair(app_runs, || with_display(app), || with_display(minimal));
    report.row(
        format!(
            "5. desktop app: cold start to first paint (median of {app_runs}, in turn with the minimal app)"
        ),
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
    let full = cx.keyport.with_file_name("keyport-full");
    report.row(
        format!("   binary size: `keyport` ({})", crate::linkage(&cx.keyport)),
        format!("{:.1} MiB", size(&cx.keyport)),
        format!("`keyport-full`: {:.1} MiB", size(&full)),
        None,
    );
}

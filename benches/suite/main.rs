//! Keyport's benchmark suite: every figure measured side by side in one run, on this machine, and
//! printed as a table with ratios. Not a test: nothing here passes or fails on time.
//!
//! `scripts/bench` runs it in full and writes docs/BENCHMARKS.md; `scripts/test` runs it with
//! `--quick` (small N) so it cannot rot. Options (after `--`):
//!   --quick            few runs, N up to 50
//!   --app PATH         the Keyport desktop app binary (else scenario 2 uses `keyport agent`)
//!   --minimal PATH     the minimal Tauri app to compare the desktop app with
//!   --write FILE       also write the table as Markdown to FILE
//!   --soak MINUTES     also run the desktop app's agent for that long (scenario 7)
//!   --only NAME        run one scenario: token, concurrent, list, mcp, app, signin, keychain,
//!                      soak, window or activation
//!
//! One module per scenario: `token` (1, 2), `concurrent` (3), `list` (4), `app` (5), `mcp` (6),
//! `soak` (7), `signin` (8), `keychain_load` (9), `window_days` (10),
//! `activation` (11); `report` holds the table and the timing helpers.

mod activation;
mod app;
mod concurrent;
mod keychain_load;
mod list;
mod mcp;
mod report;
mod signin;
mod soak;
mod token;
mod window_days;

use keyport_test_support::Env;
use std::path::PathBuf;
use std::process::Command;

pub struct Options {
    pub quick: bool,
    pub app: Option<PathBuf>,
    pub minimal: Option<PathBuf>,
    write: Option<PathBuf>,
    soak_minutes: Option<u64>,
    only: Option<String>,
}

fn options() -> Options {
    let mut o = Options {
        quick: false,
        app: None,
        minimal: None,
        write: None,
        soak_minutes: None,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--app" => o.app = args.next().map(PathBuf::from),
            "--minimal" => o.minimal = args.next().map(PathBuf::from),
            "--write" => o.write = args.next().map(PathBuf::from),
            "--soak" => o.soak_minutes = args.next().and_then(|m| m.parse().ok()),
            "--only" => o.only = args.next(),
            _ => {} // cargo passes --bench
        }
    }
    o
}

/// What the scenarios share: the options, a home with one connected account, a display.
pub struct Context {
    pub options: Options,
    pub runs: usize,
    pub env: Env,
    pub account: String,
    pub keyport: PathBuf,
    pub display: app::Display,
    pub tmp: tempfile::TempDir,
}

fn main() {
    let options = options();
    let runs = if options.quick { 20 } else { 200 };
    let env = Env::new(3600);
    let account = env.connect("alice");
    let cx = Context {
        options,
        runs,
        env,
        account,
        keyport: PathBuf::from(env!("CARGO_BIN_EXE_keyport")),
        display: app::Display::start(),
        tmp: tempfile::tempdir().unwrap(),
    };
    let mut report = report::Report::default();
    let want = |name: &str| cx.options.only.as_deref().is_none_or(|o| o == name);
    if want("token") || want("concurrent") {
        let warm_token_ms = token::run(&cx, &mut report);
        if want("concurrent") {
            concurrent::run(&cx, &mut report, warm_token_ms);
        }
    }
    if want("activation") {
        activation::run(&cx, &mut report);
    }
    if want("list") {
        list::run(&cx, &mut report);
    }
    if want("mcp") {
        mcp::run(&cx, &mut report);
    }
    if want("app") {
        app::run(&cx, &mut report);
    }
    if want("signin") {
        signin::run(&cx, &mut report);
    }
    if want("keychain") {
        keychain_load::run(&cx, &mut report);
    }
    if want("soak") {
        soak::run(&cx, &mut report);
    }
    if want("window") {
        window_days::run(&cx, &mut report);
    }
    if let Some(minutes) = cx.options.soak_minutes {
        soak::run_app(&cx, &mut report, minutes);
    }
    let ldd = Command::new("ldd")
        .arg(&cx.keyport)
        .arg(cx.keyport.with_file_name("keyport-full"))
        .output()
        .unwrap();
    let gui_libs = String::from_utf8_lossy(&ldd.stdout)
        .lines()
        .filter(|l| l.contains("webkit") || l.contains("gtk"))
        .count();
    report.row(
        "   `ldd keyport keyport-full` lines naming webkit or gtk",
        gui_libs.to_string(),
        "must be 0",
        None,
    );
    if let Some(path) = &cx.options.write {
        let command = if cx.options.quick {
            "scripts/bench --quick"
        } else {
            "scripts/bench"
        };
        write_report(path, &report.markdown(command));
        println!("\nwritten to {}", path.display());
    }
}

/// How `exe` is linked, as `file` says: scripts/bench links `keyport` statically (scripts/build-cli).
pub fn linkage(exe: &std::path::Path) -> &'static str {
    let out = Command::new("file")
        .arg(exe)
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    if String::from_utf8_lossy(&out).contains("static") {
        "statically linked"
    } else {
        "dynamically linked"
    }
}

/// Writes the table into `path`: between its `<!-- bench:start -->` and `<!-- bench:end -->`
/// markers when it has them (the notes around it are kept), else as the whole file.
fn write_report(path: &std::path::Path, table: &str) {
    let (start, end) = ("<!-- bench:start -->\n", "<!-- bench:end -->");
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let text = match (old.find(start), old.find(end)) {
        (Some(s), Some(e)) if s < e => format!("{}{start}{table}{}", &old[..s], &old[e..]),
        _ => format!("# Benchmarks\n\n{start}{table}{end}\n"),
    };
    std::fs::write(path, text).unwrap();
}

//! The report: rows of figures with what each is compared with and the ratio, printed as they
//! come and written as Markdown; and the timing helpers every scenario uses.

use std::process::{Command, Stdio};
use std::time::Instant;

/// One row of the report: what, the figure, and what it is compared with.
pub struct Row {
    what: String,
    value: String,
    compared: String,
    ratio: String,
}

#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn row(
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

    /// A note under the table (a step breakdown, a plot), printed now too: a run without
    /// `--write` would otherwise lose it.
    pub fn note(&mut self, text: String) {
        println!("\n{text}\n");
        self.notes.push(text);
    }

    pub fn markdown(&self, command: &str) -> String {
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

pub fn ms(d: f64) -> String {
    format!("{d:.2} ms")
}

/// Median wall time of `runs` runs of `cmd`, in milliseconds; every run must succeed.
pub fn median_ms(runs: usize, mut cmd: impl FnMut() -> Command) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let mut c = cmd();
            c.stdout(Stdio::null()).stderr(Stdio::piped());
            let start = Instant::now();
            let out = c.output().expect("the program starts");
            let t = start.elapsed().as_secs_f64() * 1000.0;
            assert!(
                out.status.success(),
                "{c:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            t
        })
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[times.len() / 2]
}

/// The medians of `runs` runs of each command, run in turn (a b c a b c …) rather than one after
/// the other: process starts here drift by 20 % within minutes, and a slow spell must fall on
/// every command of a comparison alike.
pub fn medians_in_turn(runs: usize, cmds: &mut [&mut dyn FnMut() -> Command]) -> Vec<f64> {
    let mut times = vec![Vec::with_capacity(runs); cmds.len()];
    for _ in 0..runs {
        for (cmd, times) in cmds.iter_mut().zip(times.iter_mut()) {
            times.push(median_ms(1, &mut **cmd));
        }
    }
    times.into_iter().map(median).collect()
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

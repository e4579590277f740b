//! Scenario 4: `keyport list --json` as accounts grow (metadata only: it must not touch the
//! keychain), from one to a thousand accounts in the account file.

use crate::report::{median_ms, ms, Report};
use crate::Context;

pub fn run(cx: &Context, report: &mut Report) {
    let list_runs = if cx.options.quick { 10 } else { 50 };
    let file = cx.env.home.path().join("data/accounts.json");
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
        let t = median_ms(list_runs, || cx.env.command(&["list", "--json"]));
        let base = *first.get_or_insert(t);
        report.row(
            format!("4. `keyport list --json`, {n} accounts (median of {list_runs})"),
            ms(t),
            "1 account",
            Some(t / base),
        );
    }
    // The app is measured with the one real account, not the synthetic thousand.
    std::fs::write(&file, serde_json::to_vec(&original).unwrap()).unwrap();
}

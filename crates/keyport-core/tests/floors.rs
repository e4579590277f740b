//! The core's floors (ARCHITECTURE.md), checked: every `crate::<module>` a source file names must
//! sit on a lower floor than the file's own top-level module, so that no folder imports one that
//! imports it back. Read from the sources, as a newcomer would read them.

use std::collections::BTreeMap;
use std::path::Path;

/// Each top-level module of `src/` and its floor, lowest first. Modules on the same floor may not
/// use each other.
const FLOORS: &[(&str, u8)] = &[
    // The ground: tools that know nothing of accounts or providers.
    ("secret", 0),
    ("text", 0),
    ("error", 0),
    ("files", 0),
    ("serving", 0),
    ("process_guard", 0),
    ("executables", 0),
    ("process", 0),
    // Plain data.
    ("model", 1),
    // What is declared, what is kept, how answers come back.
    ("catalog", 2),
    ("store", 2),
    ("redirect", 2),
    ("agent_link", 2),
    // Talking to a provider (a catalog entry becomes a connection).
    ("provider", 3),
    // What the interfaces show.
    ("view", 4),
    // The operations the adapters call.
    ("ops", 5),
    // Tokens served from memory.
    ("agent", 6),
];

/// The ground's modules use each other in this order only (a tool may use an earlier one).
const GROUND_ORDER: &[&str] = &[
    "secret",
    "text",
    "error",
    "files",
    "serving",
    "process_guard",
    "executables",
    "process",
];

fn floor(module: &str) -> u8 {
    FLOORS
        .iter()
        .find(|(m, _)| *m == module)
        .unwrap_or_else(|| panic!("module `{module}` has no floor: add it to FLOORS and ARCHITECTURE.md"))
        .1
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules `text` names as `crate::<module>` (or in `crate::{a, b}`), comments aside.
fn named_modules(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or("");
                for item in group.split(',') {
                    found.push(ident(item.trim()));
                }
            } else {
                found.push(ident(rest));
            }
        }
    }
    // `crate::Name` is a re-export of the root, which names every floor: it is kept, to be refused.
    found.retain(|m| !m.is_empty());
    found
}

fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn no_module_of_the_core_uses_one_on_its_own_floor_or_above() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        if relative == Path::new("lib.rs") {
            continue; // the root re-exports the API
        }
        let first = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        let own = first.trim_end_matches(".rs");
        let own_floor = floor(own);
        for used in named_modules(&std::fs::read_to_string(file).unwrap()) {
            if used == own || used == "fuzzing" {
                continue;
            }
            // The root's re-exports (`crate::Keyport`) would let any module reach any floor
            // unseen: a module names the module it uses.
            if used.starts_with(|c: char| c.is_ascii_uppercase()) {
                wrong
                    .entry(relative.display().to_string())
                    .or_default()
                    .push(format!(
                        "crate::{used} (a re-export of the root: name its module)"
                    ));
                continue;
            }
            let allowed = match (own_floor, floor(&used)) {
                (0, 0) => {
                    let at = |m: &str| GROUND_ORDER.iter().position(|g| *g == m).unwrap();
                    at(&used) < at(own)
                }
                (mine, theirs) => theirs < mine,
            };
            if !allowed {
                wrong
                    .entry(relative.display().to_string())
                    .or_default()
                    .push(used);
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point sideways or up (see ARCHITECTURE.md): {wrong:#?}"
    );
}

#[test]
fn the_reader_sees_imports_written_either_way() {
    let found =
        named_modules("use crate::model::Connection;\nuse crate::{error::Error, store};\n// crate::agent\n");
    assert_eq!(found, ["model", "error", "store"]);
}

/// Who called is known in one place: only `process/proc_fs.rs` reads Linux's `/proc` (comments
/// aside), so that the audit, the consent question and the agent's pins cannot each decide it
/// their own way (they did, in three files).
#[test]
fn only_the_process_module_reads_proc() {
    // The CLI and the app too: they stand on the core.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in [
        "crates/keyport-core/src",
        "crates/keyport-cli/src",
        "src-tauri/src",
    ] {
        sources(&root.join(dir), &mut files);
    }
    let src = root;
    let readers: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("process/proc_fs.rs"))
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .any(|l| l.split("//").next().unwrap_or("").contains("\"/proc/"))
        })
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(
        readers.is_empty(),
        "read /proc outside process/proc_fs.rs: {readers:?}"
    );
}

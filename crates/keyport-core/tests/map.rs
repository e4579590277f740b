//! The map matches the code: every file, folder and `file:symbol` that ARCHITECTURE.md and
//! CONTRIBUTING.md name in backquotes exists, so a rename or a move that forgets the map fails
//! here instead of sending the next reader to a file that is not there.
//!
//! The map names files from several roots (the repository, a crate's `src/`, `ui/src/`) and
//! sometimes by their bare name in a sentence that says where: a name counts as found when some
//! file of the repository ends with it.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Every file of the repository, as a path relative to its root with `/` separators, leaving
/// out what is built or installed.
fn repo_files(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if ![
                    "target",
                    "node_modules",
                    ".git",
                    ".tools",
                    "dist",
                    "gen",
                    "corpus",
                    "artifacts",
                ]
                .contains(&name.as_str())
                {
                    walk(root, &path, out);
                }
            } else {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}

/// Whether a backquoted word names a file or folder of the repository (rather than a command,
/// a type, an option, a URL or a path on the user's machine).
fn names_a_file(word: &str) -> bool {
    const EXTENSIONS: &[&str] = &[
        ".rs", ".ts", ".mjs", ".md", ".toml", ".json", ".py", ".html", ".css",
    ];
    let plain = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c));
    plain
        && !word.starts_with(['/', '.', '-'])
        // Files Keyport writes in a home (its data and config directories), not the repository's.
        && !["locks/", "data/", "config/"].iter().any(|home| word.starts_with(home))
        && !word.contains("//")
        && (EXTENSIONS.iter().any(|e| word.ends_with(e)) || (word.contains('/') && !word.ends_with('.')))
}

#[test]
fn every_file_and_symbol_the_map_names_exists() {
    let root = repo_root();
    let files = repo_files(&root);
    let found = |path: &str| {
        let path = path.trim_end_matches('/');
        files.iter().any(|f| {
            f == path
                || f.ends_with(&format!("/{path}"))
                || f.starts_with(&format!("{path}/"))
                || f.contains(&format!("/{path}/"))
        })
    };
    let mut missing = Vec::new();
    for doc in ["ARCHITECTURE.md", "CONTRIBUTING.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for (_, word) in text.split('`').enumerate().filter(|(i, _)| i % 2 == 1) {
            // `file.rs:symbol`: the file exists and holds the symbol.
            if let Some((file, symbol)) = word.split_once(':').filter(|(f, _)| names_a_file(f)) {
                let holders: Vec<&String> = files.iter().filter(|f| f.ends_with(file)).collect();
                let name = symbol.rsplit("::").next().unwrap_or(symbol);
                let holds = holders
                    .iter()
                    .any(|f| std::fs::read_to_string(root.join(f)).is_ok_and(|t| t.contains(name)));
                if !holds && !symbol.chars().all(|c| c.is_ascii_digit()) {
                    missing.push(format!("{doc}: `{word}`"));
                }
                continue;
            }
            if names_a_file(word) && !found(word) {
                missing.push(format!("{doc}: `{word}`"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the map names what is not there:\n{}",
        missing.join("\n")
    );
}

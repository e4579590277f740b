//! Opening the system browser (never an embedded webview), the way other command-line tools do.
//!
//! `$BROWSER` wins when set: a `:`-separated list of commands, tried in order, where `%s` stands for
//! the URL (appended when absent). Otherwise the platform opener (`xdg-open`, `open`, `start`).
//! On a Linux or BSD machine with no display (a server, a container, an SSH session without X
//! forwarding) and no `$BROWSER`, nothing is tried: xdg-open would go through every browser it
//! knows, printing a line for each, and none could show a page.

use std::process::{Command, Stdio};
use url::Url;

/// Starts a browser on `url` without waiting for it. Errors say what was tried.
pub fn open(url: &Url) -> Result<(), String> {
    let candidates: Vec<Vec<String>> = match std::env::var("BROWSER") {
        Ok(list) if !list.trim().is_empty() => list
            .split(':')
            .filter_map(|c| command_for(c, url.as_str()))
            .collect(),
        _ if no_display() => return Err("there is no display here to open a browser on".into()),
        _ => vec![platform_opener(url.as_str())],
    };
    let mut tried = Vec::new();
    for argv in candidates {
        let (program, args) = argv.split_first().expect("commands are never empty");
        match Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            // Keep our stdout clean: other programs read `keyport`'s stdout.
            .stdout(Stdio::null())
            .spawn()
        {
            Ok(mut child) => {
                tracing::debug!(program, "browser started");
                // Reap it whenever it exits, without making the flow wait for it.
                std::thread::spawn(move || child.wait());
                return Ok(());
            }
            Err(e) => tried.push(format!("{program}: {e}")),
        }
    }
    Err(format!("could not start a browser ({})", tried.join("; ")))
}

/// Whether this is a desktop system (not macOS or Windows) with no graphical session to open a
/// window in.
fn no_display() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    cfg!(all(unix, not(target_os = "macos"))) && !set("DISPLAY") && !set("WAYLAND_DISPLAY")
}

fn command_for(entry: &str, url: &str) -> Option<Vec<String>> {
    let mut argv: Vec<String> = entry.split_whitespace().map(str::to_string).collect();
    if argv.is_empty() {
        return None;
    }
    if argv.iter().any(|a| a.contains("%s")) {
        for a in &mut argv {
            *a = a.replace("%s", url);
        }
    } else {
        argv.push(url.to_string());
    }
    Some(argv)
}

fn platform_opener(url: &str) -> Vec<String> {
    let argv: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else if cfg!(windows) {
        &["cmd", "/C", "start", ""]
    } else {
        &["xdg-open"]
    };
    argv.iter()
        .map(|s| s.to_string())
        .chain([url.to_string()])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_entries_substitute_or_append() {
        assert_eq!(
            command_for("firefox --new-tab", "U").unwrap(),
            ["firefox", "--new-tab", "U"]
        );
        assert_eq!(command_for("w3m '%s'", "U").unwrap(), ["w3m", "'U'"]);
        assert!(command_for("  ", "U").is_none());
    }
}

//! How the CLI speaks: logs and errors on stderr, results on stdout (tables for people, `--json`
//! for programs). Only `keyport token` ever prints a secret, and only on stdout.

use keyport_core::relative;

/// A message for the person at the terminal, on stderr. Unlike `eprintln!` it never panics: a caller
/// that read the sign-in URL and then closed our stderr must not abort the sign-in it started.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
/// A result line on stdout. Unlike `println!` it never panics: a reader that stopped early
/// (`keyport list | head -1`) ends the output, not Keyport with a backtrace.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
use keyport_core::AccountSummary;

/// Logs go to stderr, filtered by `KEYPORT_LOG` (or `RUST_LOG`), warnings only by default.
///
/// The filter takes levels and `target=level` pairs (`debug`, `keyport_core=trace,warn`). It is
/// `Targets` rather than `EnvFilter`, whose span-field patterns pull a regex engine into a binary
/// other programs start on every token request.
pub fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter: tracing_subscriber::filter::Targets = std::env::var("KEYPORT_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|f| f.parse().ok())
        .unwrap_or_else(|| tracing_subscriber::filter::Targets::new().with_default(tracing::Level::WARN));
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // Colour codes only for a person at a terminal, not in files or pipes.
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_target(false),
        )
        .with(filter)
        .try_init();
}

/// One sentence, then the causes that add something, then what to do about it. Each line is
/// escaped: an error may quote a provider or a file.
pub fn report(e: &keyport_core::Error) {
    let text = keyport_core::describe(e);
    let lines: Vec<_> = text.split('\n').map(keyport_core::escape_controls).collect();
    crate::note!("keyport: {}", lines.join("\n"));
    if let Some(hint) = crate::hints::hint(e) {
        crate::note!("{hint}");
    }
}

/// Pretty JSON on stdout, written as it is serialized (a thousand accounts need no copy of the
/// whole text in memory) in pieces the size of a pipe's buffer: stdout's own line buffering
/// turns each piece into two writes, so 8 KiB pieces cost a thousand accounts 115 system calls
/// and as many wake-ups of the reader. A reader that went away is not an error, as with [`out!`].
pub fn print_json(value: &impl serde::Serialize) {
    use std::io::Write as _;
    let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let _ = serde_json::to_writer_pretty(&mut stdout, value)
        .map_err(std::io::Error::from)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
}

pub fn accounts_table(accounts: &[AccountSummary]) -> String {
    if accounts.is_empty() {
        return "No accounts connected yet. Run `keyport providers` to see what you can connect, then \
                `keyport connect <provider>`."
            .into();
    }
    let rows: Vec<[String; 6]> = accounts
        .iter()
        .map(|a| {
            [
                a.id.to_string(),
                a.provider.to_string(),
                if a.is_default {
                    format!("{} (default)", a.nickname)
                } else {
                    a.nickname.to_string()
                },
                a.status.as_str().to_string(),
                match a.status {
                    keyport_core::Status::NeedsReconnect => "-".to_string(),
                    _ => relative(a.expires_in),
                },
                a.scopes.join(" "),
            ]
        })
        .collect();
    table(
        ["ID", "PROVIDER", "NICKNAME", "STATUS", "EXPIRES", "SCOPES"],
        &rows,
    )
}

/// The accounts a desktop offers over SSH: the same table as this machine's own (the agent
/// answers in the same typed form), with its own word for none.
pub fn remote_table(accounts: &[AccountSummary]) -> String {
    if accounts.is_empty() {
        return "The desktop offers no account over SSH. On the desktop, allow one with \
                `keyport forwarding ACCOUNT on`."
            .into();
    }
    accounts_table(accounts)
}

/// Left-aligned columns, two spaces apart; the last column is not padded. Cells are escaped:
/// nicknames and scopes come from providers, and a line break or an escape sequence in one must
/// not forge a row or reach the terminal.
pub fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| {
            row.clone()
                .map(|cell| keyport_core::escape_controls(&cell).into_owned())
        })
        .collect();
    let rows = rows.as_slice();
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_string()
    };
    let mut lines = vec![line(header.to_vec())];
    lines.extend(rows.iter().map(|r| line(r.iter().map(String::as_str).collect())));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(
            ["A", "BB"],
            &[["xxx".into(), "y".into()], ["z".into(), "".into()]],
        );
        assert_eq!(t, "A    BB\nxxx  y\nz");
        let forged = table(["A"], &[["ada\nmallory  ok".into()], ["\u{1b}]0;x\u{7}".into()]]);
        assert_eq!(forged, "A\nada\\nmallory  ok\n\\x1b]0;x\\x07");
    }
}

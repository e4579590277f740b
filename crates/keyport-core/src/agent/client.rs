//! Asking a running agent for a token: what `keyport token` tries before the keychain.

use super::protocol::{Answer, Request};
use std::path::Path;

/// Asks the agent at `socket` for a token. `None` when no agent answers (then use the keychain).
#[cfg(unix)]
pub fn ask_agent(socket: &Path, account: &str, min_ttl: u64) -> Option<Answer> {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::os::unix::net::UnixStream::connect(socket).ok()?;
    // A refresh at the provider can take a while; the HTTP client gives up after 30 s.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(45)))
        .ok()?;
    let mut line = serde_json::to_vec(&Request {
        account: account.to_string(),
        min_ttl,
    })
    .ok()?;
    line.push(b'\n');
    (&stream).write_all(&line).ok()?;
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).ok()?;
    serde_json::from_str(&answer).ok()
}

/// Without Unix sockets there is no agent to ask.
#[cfg(not(unix))]
pub fn ask_agent(_socket: &Path, _account: &str, _min_ttl: u64) -> Option<Answer> {
    None
}

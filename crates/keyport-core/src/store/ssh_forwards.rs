//! The hosts set up with `keyport ssh-config`: for each, the agent keeps a standing forwarding
//! socket while it runs, which that host's `RemoteForward` names. `ssh` given such an entry
//! cannot ask for a socket of its own for each connection the way `keyport ssh` does, so the
//! destination is fixed per host instead. One host per line, in the config directory.

use crate::error::Result;
use crate::store::home::Home;

/// The file's name in the config directory.
const FILE: &str = "ssh-forwards";

/// The hosts with a standing forward, in the order they were added.
pub fn hosts(home: &Home) -> Vec<String> {
    std::fs::read_to_string(home.config_dir().join(FILE))
        .map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Adds `host` (already checked to be a plain host pattern), once.
pub fn add(home: &Home, host: &str) -> Result<()> {
    let mut all = hosts(home);
    if all.iter().any(|h| h == host) {
        return Ok(());
    }
    all.push(host.to_string());
    let mut text = all.join("\n");
    text.push('\n');
    crate::files::atomic::replace(&home.config_dir().join(FILE), text.as_bytes())
}

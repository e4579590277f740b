//! Manual pages, generated from the clap definitions: `keyport.1` and `keyport-<command>.1`.

use crate::args::Args;
use clap::CommandFactory;
use keyport_core::{Error, Result};
use std::path::Path;

pub fn write(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Usage(format!("could not create {}: {e}", dir.display())))?;
    let cmd = Args::command();
    let mut pages = vec![("keyport".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("keyport-{}", sub.get_name());
        // The page is keyport-token(1); the command typed is `keyport token`.
        let typed = format!("keyport {}", sub.get_name());
        // Built, so that each argument says whether it takes a value.
        let mut built = sub.clone();
        built.build();
        let usage = synopsis(&typed, &built);
        pages.push((
            name.clone(),
            sub.clone().name(name).bin_name(typed).override_usage(usage),
        ));
    }
    for (name, page) in pages {
        let mut text = Vec::new();
        clap_mangen::Man::new(page)
            .render(&mut text)
            .map_err(|e| Error::Usage(format!("could not render {name}.1: {e}")))?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, text)
            .map_err(|e| Error::Usage(format!("could not write {}: {e}", path.display())))?;
    }
    crate::out!("Wrote the manual pages to {}.", dir.display());
    Ok(())
}

/// The command as typed, with each option's value named (`[--min-ttl SECS]`): the generator's own
/// synopsis leaves the values out, which reads as if the options took none.
fn synopsis(typed: &str, cmd: &clap::Command) -> String {
    let mut words = vec![typed.to_string()];
    let mut operands = Vec::new();
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let value = arg
            .get_value_names()
            .map(|names| names.join(" "))
            .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
        let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
        let word = match (arg.get_long(), arg.get_short()) {
            _ if arg.is_positional() => value,
            (Some(long), _) if takes_value => format!("--{long} {value}"),
            (Some(long), _) => format!("--{long}"),
            (None, Some(short)) if takes_value => format!("-{short} {value}"),
            (None, Some(short)) => format!("-{short}"),
            (None, None) => continue,
        };
        let word = if arg.is_required_set() {
            word
        } else {
            format!("[{word}]")
        };
        // Options first, then the operands, as synopses are written.
        if arg.is_positional() {
            operands.push(word);
        } else {
            words.push(word);
        }
    }
    words.extend(operands);
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commands_synopsis_is_the_command_as_typed_with_its_values_named() {
        let cmd = Args::command();
        let mut token = cmd.find_subcommand("token").unwrap().clone();
        token.build();
        let line = synopsis("keyport token", &token);
        assert!(line.starts_with("keyport token "), "{line}");
        assert!(line.contains("[--min-ttl SECS]"), "{line}");
        assert!(line.contains("[--json]"), "{line}");
        assert!(line.ends_with("[ACCOUNT]"), "{line}");
    }
}

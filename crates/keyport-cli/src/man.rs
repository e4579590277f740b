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
        pages.push((name.clone(), sub.clone().name(name)));
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

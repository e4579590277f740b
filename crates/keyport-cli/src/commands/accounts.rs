//! `keyport list`: the accounts, for people (a table) or programs (`--json`); on a machine
//! reached over SSH, those the desktop offers there.

use crate::output::{accounts_table, print_json, remote_table};
use keyport_core::{now, Keyport, Result};

pub fn list(keyport: &Keyport, json: bool) -> Result<()> {
    if let Some(remote) = keyport.accounts_across_ssh()? {
        if json {
            print_json(&remote);
        } else {
            crate::out!("{}", remote_table(&remote));
        }
        return Ok(());
    }
    keyport.with_summaries(now(), |summaries| {
        if json {
            print_json(&summaries);
        } else {
            crate::out!("{}", accounts_table(&summaries));
        }
    })
}

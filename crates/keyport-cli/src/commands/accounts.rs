//! `keyport list`: the accounts, for people (a table) or programs (`--json`).

use crate::output::{accounts_table, print_json};
use keyport_core::{now, Keyport, Result};

pub fn list(keyport: &Keyport, json: bool) -> Result<()> {
    keyport.with_summaries(now(), |summaries| {
        if json {
            print_json(&summaries);
        } else {
            crate::out!("{}", accounts_table(&summaries));
        }
    })
}

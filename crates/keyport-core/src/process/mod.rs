//! Who a process is, as the kernel says: the one module that knows who called Keyport.
//!
//! - `proc_fs.rs`: the reads of Linux's `/proc` (executable, parent, command line, terminal,
//!   namespace), which nothing else in Keyport makes;
//! - `asker.rs`: the program behind the shells and launchers a request came through;
//! - `terminal.rs`: the terminal session a caller runs in, if any;
//! - `program.rs`: [`Program`], all of that about one caller, read once when it asks, which the
//!   audit records, the consent question names and the window shows;
//! - `snapshot.rs`: [`Snapshot`], those reads kept for one request, so that each is made once;
//! - `pin.rs`: [`Pin`], a caller held while its request lasts, so that a process that replaced
//!   itself with another program, or ended, is no longer taken for it.
//!
//! Which socket a request came through (this machine, or a forward from another) is the agent's
//! to say (`agent::caller`), never this module's: no process is looked at for it.

mod asker;
mod pin;
mod proc_fs;
mod program;
mod snapshot;
mod terminal;

pub use asker::is_shell;
pub use pin::Pin;
#[cfg(all(test, target_os = "linux"))]
pub(crate) use proc_fs::pid_written_to;
pub use proc_fs::{comm, exe_path, host_name};
pub use program::Program;
pub use snapshot::Snapshot;
pub use terminal::Terminal;

//! `keyport`: the command other local programs run to get a fresh access token.

mod args;
mod commands;
mod complete;
mod exit;
mod fast;
mod hints;
mod man;
mod output;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(exit) = fast::token(&argv) {
        return exit.into();
    }
    complete::answer_if_asked();
    let args = args::Args::parse();
    output::init_logging();
    // A running agent answers `token` from memory, with no runtime to start (the forms the
    // fast path above does not take, and runs with logging on).
    if let Some(exit) = commands::token::from_agent(&args) {
        return exit.into();
    }
    let runtime = if matches!(args.command, args::Command::Agent) {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    }
    .expect("the async runtime starts");
    match runtime.block_on(commands::run(args)) {
        Ok(()) => exit::Exit::Ok.into(),
        Err(e) => {
            output::report(&e);
            exit::Exit::from(&e).into()
        }
    }
}

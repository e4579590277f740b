//! `keyport`: the command other local programs run to get a fresh access token.

mod args;
mod commands;
mod exit;
mod output;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = args::Args::parse();
    output::init_logging();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime always builds");
    match runtime.block_on(commands::run(args)) {
        Ok(()) => exit::Exit::Ok.into(),
        Err(e) => {
            output::report(&e);
            exit::Exit::from(&e).into()
        }
    }
}

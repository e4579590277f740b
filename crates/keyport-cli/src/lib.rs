//! The `keyport` command line, shared by its two executables.
//!
//! `keyport` (src/main.rs) is what programs run, often many times a minute: it answers the plain
//! `token` forms from a running agent and hands anything else to `keyport-full` (src/full.rs),
//! installed beside it, which parses the whole command line. Keeping the first small is what
//! makes a token from the agent cost little more than starting a process (docs/BENCHMARKS.md):
//! the full command's parser, logger, runtime and HTTP and keychain clients are never loaded for
//! it.

mod args;
mod commands;
mod complete;
mod exit;
mod fast;
mod handoff;
mod hints;
mod man;
mod output;
mod token_answer;

use clap::Parser;
use std::process::ExitCode;

/// What `keyport` runs: a plain `token` request answered by the agent, else the full command.
/// Returns the exit status.
pub fn run_front() -> u8 {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match fast::try_token_from_agent(&argv) {
        Some(exit) => exit as u8,
        None => handoff::run_full(&argv),
    }
}

/// What Rust's start-up would have done for safety, for `keyport`'s own C `main` (src/main.rs
/// says why it has one): descriptors 0–2 open, to /dev/null if they were closed, so a file or
/// socket opened here never becomes "standard output"; SIGPIPE ignored, so a closed pipe is an
/// error to handle rather than a silent death.
#[cfg(target_os = "linux")]
pub fn front_start() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: plain system calls on this process's own descriptors and signal disposition; the
    // path is a NUL-terminated literal.
    unsafe {
        let polled = libc::poll(fds.as_mut_ptr(), 3, 0);
        for fd in fds {
            let closed = polled < 0 && libc::fcntl(fd.fd, libc::F_GETFD) == -1
                || polled >= 0 && fd.revents & libc::POLLNVAL != 0;
            if closed && libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) == -1 {
                libc::abort();
            }
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// The whole command line: what `keyport-full` runs.
pub fn run() -> ExitCode {
    if let Err(why) = handoff::check_front_version() {
        crate::note!("keyport: {why}");
        return exit::Exit::Failure.into();
    }
    complete::answer_if_asked();
    let args = args::Args::parse();
    output::init_logging();
    let runtime = if matches!(args.command, args::Command::Agent { .. }) {
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

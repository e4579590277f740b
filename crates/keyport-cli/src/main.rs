//! `keyport`: the command other local programs run to get a fresh access token. Plain `token`
//! requests are answered here from a running agent; everything else runs `keyport-full` (see the
//! library's top comment for why there are two).
//!
//! On Linux this executable brings its own C `main` (`no_main`) instead of Rust's start-up. That
//! start-up is the largest part of the process's own work on the agent path: to install the
//! handler that prints "stack overflow", it reads `/proc/self/maps` (the kernel writes the whole
//! map out) and sets up an alternate signal stack, ~0.07 ms of a 0.6 ms call (docs/BENCHMARKS.md).
//! This process runs no threads and has the kernel's guard gap below its stack; an overflow still
//! stops it, with a plain SIGSEGV instead of the message. What else that start-up does for
//! safety is done here too (`front_start`): standard descriptors 0–2 are open (to /dev/null when
//! not), and SIGPIPE is ignored, so that a closed pipe is an error the code handles. Output is
//! flushed on the way out by `std::process::exit`.
#![cfg_attr(target_os = "linux", no_main)]

#[cfg(target_os = "linux")]
#[no_mangle]
extern "C" fn main(_argc: std::ffi::c_int, _argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    keyport_cli::front_start();
    // The arguments are read through std::env, which glibc fills for this `main` too.
    let status = keyport_cli::run_front();
    // Flushes standard output on the way (Rust's start-up would have, after `main`).
    std::process::exit(status.into())
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    keyport_cli::run_front().into()
}

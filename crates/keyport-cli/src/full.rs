//! `keyport-full`: the whole `keyport` command line. `keyport` runs it for everything it does not
//! answer itself; it can also be run directly, with the same arguments and results.

fn main() -> std::process::ExitCode {
    keyport_cli::run()
}

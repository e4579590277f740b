//! `keyport`: the command other local programs run to get a fresh access token. Plain `token`
//! requests are answered here from a running agent; everything else runs `keyport-full` (see the
//! library's top comment for why there are two).

fn main() -> std::process::ExitCode {
    keyport_cli::run_front()
}

//! Link-time settings for the `keyport` and `keyport-full` executables.
//!
//! Packed relative relocations (RELR, glibc 2.36+ and binutils 2.38+, as on Debian 12): the
//! dynamic loader applies the binary's thousands of relative relocations from a compact table
//! instead of one 24-byte entry each, which is a measurable part of `keyport token`'s start-up
//! (see docs/BENCHMARKS.md).
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu")
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

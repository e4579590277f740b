//! The loopback listener's request parser, on any request head: it must answer, never panic, and
//! accept (200) only a GET of /callback with the expected state and a code.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(head) = std::str::from_utf8(data) else {
        return;
    };
    let status = keyport_core::fuzzing::judge_for_fuzzing(head, 4455, "expected-state");
    if status == 200 {
        assert!(head.starts_with("GET /callback?"), "accepted {head:?}");
        assert!(
            head.contains("state=expected-state"),
            "accepted without the state: {head:?}"
        );
    }
});

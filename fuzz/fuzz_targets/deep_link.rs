//! The keyport:// link handler, on any string a program could open: it must never panic, and hand
//! a link to a waiting sign-in only when it is exactly keyport://oauth/callback with that sign-in's
//! state.
#![no_main]
use keyport_core::PendingFlows;
use keyport_core::Secret;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(link) = std::str::from_utf8(data) else {
        return;
    };
    let flows = PendingFlows::default();
    let _waiter = flows.register(&Secret::new("expected-state"));
    if flows.deliver(link).is_ok() {
        let url = url::Url::parse(link).expect("an accepted link parses");
        assert_eq!(
            (url.scheme(), url.host_str(), url.path()),
            ("keyport", Some("oauth"), "/callback"),
            "accepted {link:?}"
        );
        let states: Vec<_> = url.query_pairs().filter(|(k, _)| k == "state").collect();
        assert_eq!(states.len(), 1, "accepted {link:?}");
        assert_eq!(states[0].1, "expected-state", "accepted {link:?}");
        assert!(flows.is_empty(), "a delivered state is forgotten");
        assert!(flows.deliver(link).is_err(), "a link is used once");
    }
});

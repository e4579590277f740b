//! Token-endpoint answers as providers send them: the normalizer and the parser behind it must
//! never panic, whatever the status, content type and body.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = 100 + u16::from(data[0]) * 2;
    let content_type = if data[1] & 1 == 0 {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    // The top bits pick a nested token path, as a catalog's `token_path` would.
    let token_path = match data[1] >> 6 {
        0 => None,
        1 => Some("authed_user"),
        2 => Some("a.b"),
        _ => Some("data"),
    };
    let (status, body) =
        keyport_core::fuzzing::normalize(status, content_type, data[2..].to_vec(), token_path);
    if (200..300).contains(&status) {
        let _ = keyport_core::fuzzing::parses_as_token_response(&body);
    }
});

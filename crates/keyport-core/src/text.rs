//! Text that came from outside (a provider's answer, a request to the loopback listener, a
//! nickname) made safe to show: on a terminal an escape sequence could retitle the window, move
//! the cursor or forge a line, so control characters are written out as `\x1b`-style escapes
//! wherever such text reaches a terminal, a log or an error. And live secrets a provider echoes
//! back are cut out of its words.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL, C1; line breaks included) written as an escape.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` without control characters at all: for a provider's nickname, which becomes ours.
pub fn strip_controls(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// The most characters of a name a server gives itself that Keyport keeps.
pub const MAX_NAME_CHARS: usize = 60;

/// A name a remote server gave itself (an MCP server's `serverInfo`, its resource metadata's
/// `resource_name`), made fit to become Keyport's own: a provider's display name and an account's
/// nickname, shown on terminals, in logs and in the window, and typed back in references. Line
/// breaks and `:` (which separates provider and nickname in a reference) become spaces, every
/// other control character goes, spaces are squeezed, and at most [`MAX_NAME_CHARS`] characters
/// are kept; `None` when nothing is left. Done where such a name enters, so that no place that
/// shows it has to remember.
pub fn name_from_server(said: &str) -> Option<String> {
    let words: String = said
        .chars()
        .filter_map(|c| match c {
            ':' => Some(' '),
            c if c.is_whitespace() => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    let name: String = words
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_NAME_CHARS)
        .collect();
    let name = name.trim_end();
    (!name.is_empty()).then(|| name.to_string())
}

/// `text` with each of `secrets` replaced by `[redacted]` in every form a provider echoing our
/// request could give it back in: as sent; JSON-escaped (`\/` too); percent-encoded, with `+` or
/// `%20` for spaces and hex digits of either case; and inside base64 or base64url of a longer text
/// (a request body, a Basic credential), at any of the three alignments. For a provider's error
/// text, which may echo the request.
pub fn without_secrets(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 6) {
        for form in exact_forms(secret) {
            if out.contains(&form) {
                out = out.replace(&form, crate::secret::REDACTED);
            }
        }
        for form in percent_forms(secret) {
            out = replace_ignoring_ascii_case(&out, &form);
        }
        for form in base64_cores(secret.as_bytes()) {
            if out.contains(&form) {
                out = out.replace(&form, crate::secret::REDACTED);
            }
        }
    }
    out
}

/// The secret as sent and JSON-escaped (`/` escaped or not).
fn exact_forms(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).expect("a string serializes");
    let json = json[1..json.len() - 1].to_string();
    let mut forms = vec![secret.to_string(), json.replace('/', "\\/"), json];
    forms.dedup();
    forms
}

/// The secret percent-encoded as a form body does (`+` for a space), as RFC 3986 does (`%20`, the
/// unreserved characters left), and with every byte but letters and digits encoded.
fn percent_forms(secret: &str) -> Vec<String> {
    let escape = |keep: fn(u8) -> bool| -> String {
        secret
            .bytes()
            .map(|b| match keep(b) {
                true => (b as char).to_string(),
                false => format!("%{b:02X}"),
            })
            .collect()
    };
    let mut forms: Vec<String> = vec![
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        escape(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)),
        escape(|b| b.is_ascii_alphanumeric()),
    ];
    forms.retain(|f| f != secret && f.contains('%'));
    forms.dedup();
    forms
}

/// `text` with every occurrence of `form` replaced, ASCII case ignored (percent-encoding's hex
/// digits come in either case).
fn replace_ignoring_ascii_case(text: &str, form: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let needle = form.to_ascii_lowercase();
    if !lower.contains(&needle) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    // ASCII lower-casing keeps every byte where it was, so positions in `lower` are positions in
    // `text`, on character boundaries.
    while let Some(found) = lower[at..].find(&needle) {
        out.push_str(&text[at..at + found]);
        out.push_str(crate::secret::REDACTED);
        at += found + needle.len();
    }
    out.push_str(&text[at..]);
    out
}

/// The base64 and base64url characters that depend on `secret` alone when it sits at any offset
/// inside a longer encoded text: for each of the three alignments, the characters whose six bits
/// all come from the secret.
fn base64_cores(secret: &[u8]) -> Vec<String> {
    use base64::Engine;
    let mut cores = Vec::new();
    for before in 0..3usize {
        let mut bytes = vec![0u8; before];
        bytes.extend_from_slice(secret);
        let first = (8 * before).div_ceil(6);
        let end = 8 * (before + secret.len()) / 6;
        for engine in [
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            let encoded = engine.encode(&bytes);
            if let Some(core) = encoded.get(first..end).filter(|c| c.len() >= 8) {
                cores.push(core.to_string());
            }
        }
    }
    cores.dedup();
    cores
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_written_out() {
        assert!(matches!(escape_controls("plain text é"), Cow::Borrowed(_)));
        assert_eq!(
            escape_controls("\u{1b}]0;owned\u{7}a\nb\u{9b}c"),
            "\\x1b]0;owned\\x07a\\nb\\x9bc"
        );
        assert_eq!(strip_controls("ali\u{1b}[2Jce\n"), "ali[2Jce");
    }

    #[test]
    fn a_servers_name_becomes_one_line_of_printable_text() {
        let said = "Acme\u{1b}]0;owned\u{7} Tickets\u{1b}[2J\nkeyport: forged\r\u{9b}";
        assert_eq!(
            name_from_server(said).as_deref(),
            Some("Acme]0;owned Tickets[2J keyport forged")
        );
        assert_eq!(name_from_server("\u{1b}\u{7}\n :\t"), None);
        let long = "é".repeat(MAX_NAME_CHARS + 5);
        assert_eq!(name_from_server(&long).unwrap().chars().count(), MAX_NAME_CHARS);
        assert_eq!(
            name_from_server(&format!("{} x", "a".repeat(59))).as_deref(),
            Some(&*"a".repeat(59))
        );
    }

    #[test]
    fn echoed_secrets_are_cut_out_raw_and_form_encoded() {
        let said =
            "invalid_grant: bad request code=AbC+12/xyz&code_verifier=v3r1f13r-long and AbC%2B12%2Fxyz";
        let clean = without_secrets(said, &["AbC+12/xyz", "v3r1f13r-long", ""]);
        assert!(!clean.contains("AbC") && !clean.contains("v3r1f13r"), "{clean}");
        assert!(
            clean.starts_with("invalid_grant: bad request code=[redacted]"),
            "{clean}"
        );
    }

    #[test]
    fn echoed_secrets_are_cut_out_in_every_form() {
        use base64::Engine;
        let secret = "RT/victim+k3y s~ecret";
        let echoes = [
            ("raw", secret.to_string()),
            ("JSON, / escaped", r"RT\/victim+k3y s~ecret".to_string()),
            ("form", "RT%2Fvictim%2Bk3y+s%7Eecret".to_string()),
            ("form, lower case", "RT%2fvictim%2bk3y+s%7eecret".to_string()),
            ("RFC 3986", "RT%2Fvictim%2Bk3y%20s~ecret".to_string()),
            ("RFC 3986, lower case", "RT%2fvictim%2bk3y%20s~ecret".to_string()),
            ("every byte", "RT%2Fvictim%2Bk3y%20s%7Eecret".to_string()),
        ];
        for (form, echo) in echoes {
            let said = format!("invalid_grant: we got {echo} here");
            let clean = without_secrets(&said, &[secret]);
            assert_eq!(clean, "invalid_grant: we got [redacted] here", "{form}: {said}");
        }
        // Inside base64 of a longer body (a code exchange, a Basic credential), at every offset.
        for prefix in ["", "a", "ab", "grant_type=refresh_token&refresh_token="] {
            let body = format!("{prefix}{secret}&client_id=keyport");
            for (name, engine) in [
                ("base64", &base64::engine::general_purpose::STANDARD),
                ("base64url", &base64::engine::general_purpose::URL_SAFE),
            ] {
                let said = format!("bad request: {}", engine.encode(&body));
                let clean = without_secrets(&said, &[secret]);
                assert!(clean.contains("[redacted]"), "{name} after {prefix:?}: {clean}");
                let left = clean.replace("[redacted]", "");
                // What is left decodes to no more than a character or two of the secret.
                for piece in left.split(|c: char| !c.is_ascii_alphanumeric() && !"+/-_=".contains(c)) {
                    let decoded = engine.decode(piece.trim_end_matches('=')).unwrap_or_default();
                    let decoded = String::from_utf8_lossy(&decoded);
                    assert!(!decoded.contains("victim"), "{name} after {prefix:?}: {clean}");
                }
            }
        }
        // JSON escapes of quotes and backslashes.
        let quoted = r#"se"cr\et-1"#;
        let said = format!("echo: {}", serde_json::to_string(quoted).unwrap());
        assert_eq!(without_secrets(&said, &[quoted]), "echo: \"[redacted]\"");
        // Short or unrelated text is left alone.
        assert_eq!(
            without_secrets("nothing to see", &[secret, "abc"]),
            "nothing to see"
        );
    }
}

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

/// `text` with each of `secrets` (as sent, and form-encoded as a request body carries it)
/// replaced by `[redacted]`: for a provider's error text, which may echo our request.
pub fn without_secrets(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 6) {
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        for form in [*secret, encoded.as_str()] {
            if out.contains(form) {
                out = out.replace(form, crate::secret::REDACTED);
            }
        }
    }
    out
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
}

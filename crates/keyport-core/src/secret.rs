//! A string that must never be printed: tokens, authorization codes, PKCE verifiers, client secrets.
//!
//! `Debug` and `Display` both print a fixed placeholder, so a secret that slips into a `tracing`
//! field, an error message or a `{:?}` dump shows nothing. The value is reachable only through
//! [`Secret::expose`], which makes every use greppable. Its memory is overwritten with zeros when
//! it is dropped, so a token no longer in use does not linger in freed memory (where a core file
//! or a later allocation could show it).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a secret prints as, wherever it is formatted.
pub const REDACTED: &str = "[redacted]";

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself. Call it only where the value leaves for its one legitimate
    /// destination: an HTTP request to the provider, the keychain, or `keyport token`'s stdout.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Overwrites the whole buffer of `text` (its capacity, not only its length) with zeros.
fn wipe(text: &mut String) {
    use zeroize::Zeroize;
    text.zeroize();
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_dropped_secret_leaves_zeros_behind() {
        let mut text = String::with_capacity(32);
        text.push_str("RT-live-refresh-token");
        let capacity = text.capacity();
        wipe(&mut text);
        assert!(text.is_empty());
        // SAFETY: the buffer is still allocated (wiping keeps the capacity), and every byte of
        // it was written by the wipe.
        let bytes = unsafe {
            let v = text.as_mut_vec();
            v.set_len(capacity);
            v.clone()
        };
        assert!(bytes.iter().all(|b| *b == 0), "{bytes:?}");
        // SAFETY: back to the empty length it had.
        unsafe { text.as_mut_vec().set_len(0) };
    }

    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new("gho_very_secret_value");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&s)), "Some([redacted])");
        assert_eq!(s.expose(), "gho_very_secret_value");
    }

    #[test]
    fn serializes_as_plain_string_for_the_keychain() {
        let s = Secret::new("abc");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"abc\"");
        let back: Secret = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(back, s);
    }
}

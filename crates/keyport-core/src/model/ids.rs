//! Names that must not be mixed up: an account's id (`github-2`) and a provider's id (`github`)
//! are both short lowercase strings, and the keychain, the locks and the consent book key
//! different things by each. As their own types, passing one where the other is meant does not
//! compile (oauth2-rs's habit for client ids and URLs). Both read and write as plain strings.
//! Neither turns into a string on its own (no `Deref` to `str`, no comparing with one): `as_str()`
//! says where an id becomes text, such as a reference a person could have typed.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

id_type!(
    /// An account's stable handle: `<provider>-<n>`.
    AccountId
);

id_type!(
    /// A catalog entry's id: `github`, `google`, or one the user chose.
    ProviderId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_strings_on_the_wire() {
        let id = AccountId::new("github-2");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"github-2\"");
        let back: ProviderId = serde_json::from_str("\"github\"").unwrap();
        assert_eq!(back.as_str(), "github");
        assert_eq!(format!("{id}"), "github-2");
    }
}

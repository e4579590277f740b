//! The endpoint URL fields of a provider, written once. The same set of names is a provider's
//! `{variable}` templates in the catalog, its checked URLs, and the URLs a [`crate::Connection`]
//! stores with an account, so a new endpoint is one line here.

use serde::{Deserialize, Serialize};

macro_rules! endpoint_set {
    ($($(#[$doc:meta])* $field:ident),* $(,)?) => {
        /// One `T` per endpoint field, named as in the catalog file.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct EndpointSet<T> {
            $($(#[$doc])* pub $field: T,)*
        }

        impl<T> EndpointSet<T> {
            /// The field names, as the catalog file and the account file write them.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];

            pub fn try_map<U, E>(self, mut f: impl FnMut(&'static str, T) -> Result<U, E>) -> Result<EndpointSet<U>, E> {
                Ok(EndpointSet { $($field: f(stringify!($field), self.$field)?,)* })
            }

            pub fn as_ref(&self) -> EndpointSet<&T> {
                EndpointSet { $($field: &self.$field,)* }
            }

            pub fn iter(&self) -> impl Iterator<Item = (&'static str, &T)> {
                [$((stringify!($field), &self.$field)),*].into_iter()
            }

            /// Each field of `self`, else of `other`, as `pick` chooses.
            pub fn zip_with<U>(self, other: Self, mut pick: impl FnMut(T, T) -> U) -> EndpointSet<U> {
                EndpointSet { $($field: pick(self.$field, other.$field),)* }
            }
        }
    };
}

endpoint_set! {
    /// OpenID Connect issuer: its discovery document fills any endpoint not given explicitly.
    issuer,
    authorization_url,
    token_url,
    revocation_url,
    /// The userinfo or "who am I" endpoint (a GraphQL endpoint with `userinfo_query`).
    userinfo_url,
    /// Where refreshes go, when not to `token_url` (Figma).
    refresh_url,
    /// RFC 8628 device authorization endpoint: sign-in by code, on another device.
    device_authorization_url,
    /// RFC 7591 dynamic client registration: with no `client_id` given, Keyport registers itself
    /// there, with the exact loopback redirect it listens on, and keeps the client (MCP servers).
    dynamic_registration_url,
}

impl<T> EndpointSet<Option<T>> {
    /// Each field of `self`, or `fallback`'s where `self` has none.
    pub fn or(self, fallback: Self) -> Self {
        self.zip_with(fallback, Option::or)
    }

    pub fn map_some<U>(self, mut f: impl FnMut(T) -> U) -> EndpointSet<Option<U>> {
        let Ok(set) = self.try_map(|_, v| Ok::<_, std::convert::Infallible>(v.map(&mut f)));
        set
    }
}

//! How the provider's answer comes back to Keyport: the loopback listener (RFC 8252 §7.3), the
//! `keyport://` deep link the desktop app receives, the callback's query read the same way for
//! both, and the system browser that starts it all.

pub mod browser;
pub mod callback;
pub mod deep_link;
pub mod loopback;
mod page;

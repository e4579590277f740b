//! The custom-scheme redirect, `keyport://oauth/callback`, for providers configured with
//! `redirect = "deep_link"`. The operating system hands such URLs to the desktop app (a second
//! instance passes them to the running one); the app gives them to [`PendingFlows::deliver`], which
//! matches them by `state` to the sign-in that is waiting.
//!
//! Any program can open a `keyport://` URL, so a delivered URL proves nothing by itself: only one
//! whose `state` names a sign-in in progress goes anywhere, and each state is used once.

use crate::error::{Error, Result};
use crate::redirect::callback::{self, Callback};
use crate::secret::Secret;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// The redirect URI to register with a provider for deep-link sign-ins.
pub const REDIRECT_URI: &str = "keyport://oauth/callback";
pub const SCHEME: &str = "keyport";

/// Sign-ins waiting for their deep link, by `state`.
#[derive(Clone, Default)]
pub struct PendingFlows {
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<String>>>>,
}

/// One sign-in's end of the wait. Dropping it (cancel, timeout, done) forgets the state, so a late
/// link for it is refused like any unknown one.
pub struct Waiter {
    flows: PendingFlows,
    state: String,
    rx: oneshot::Receiver<String>,
}

impl PendingFlows {
    pub fn register(&self, state: &Secret) -> Waiter {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(state.expose().to_string(), tx);
        Waiter {
            flows: self.clone(),
            state: state.expose().to_string(),
            rx,
        }
    }

    /// Hands a `keyport://oauth/callback?…` URL to the sign-in whose `state` it carries.
    pub fn deliver(&self, url: &str) -> Result<()> {
        let parsed = url::Url::parse(url)
            .map_err(|_| Error::Authorization("the sign-in link is not a valid URL".into()))?;
        if parsed.scheme() != SCHEME || parsed.host_str() != Some("oauth") || parsed.path() != "/callback" {
            return Err(Error::Authorization(format!(
                "the link is not a Keyport sign-in callback (expected {REDIRECT_URI})"
            )));
        }
        let query = parsed.query().unwrap_or("").to_string();
        let params = callback::params(&query).map_err(Error::Authorization)?;
        let sender = params.get("state").and_then(|s| self.lock().remove(s));
        let Some(sender) = sender else {
            return Err(Error::Authorization(
                "this sign-in link belongs to no sign-in in progress: it was cancelled, timed out or was \
                 already used. Nothing was stored; press Connect to start again"
                    .into(),
            ));
        };
        // The waiter may have just timed out; then the link is as stale as an unknown one.
        sender
            .send(query)
            .map_err(|_| Error::Authorization("the sign-in this link belongs to has ended".into()))
    }

    /// How many sign-ins are waiting for a link.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<String>>> {
        // A panic while holding this lock cannot leave the map half-updated: recover it.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Waiter {
    /// Waits for the link, at most `timeout`, and reads it like the loopback listener would.
    pub async fn wait(mut self, provider: &str, timeout: Duration) -> Result<Callback> {
        let query = match tokio::time::timeout(timeout, &mut self.rx).await {
            Ok(Ok(query)) => query,
            Ok(Err(_)) => return Err(Error::Internal("the deep-link registry went away".into())),
            Err(_) => return Err(Error::Timeout(timeout.as_secs())),
        };
        let params = callback::params(&query).map_err(Error::Authorization)?;
        callback::outcome(&params, provider)
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.flows.lock().remove(&self.state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_link_reaches_the_sign_in_with_its_state_once() {
        let flows = PendingFlows::default();
        let waiter = flows.register(&Secret::new("s1"));
        let _other = flows.register(&Secret::new("s2"));
        flows
            .deliver("keyport://oauth/callback?code=c1&state=s1")
            .unwrap();
        let cb = waiter.wait("Demo", Duration::from_secs(1)).await.unwrap();
        assert_eq!(cb.code.expose(), "c1");
        // Used once: the same link again, or a link for no sign-in, is refused.
        for url in [
            "keyport://oauth/callback?code=c1&state=s1",
            "keyport://oauth/callback?code=c&state=nope",
            "keyport://oauth/callback?code=c",
        ] {
            let e = flows.deliver(url).unwrap_err();
            assert!(e.to_string().contains("no sign-in in progress"), "{e}");
        }
        assert_eq!(flows.len(), 1);
    }

    #[tokio::test]
    async fn foreign_links_and_ended_sign_ins_are_refused() {
        let flows = PendingFlows::default();
        drop(flows.register(&Secret::new("gone")));
        assert!(flows.is_empty(), "a dropped waiter forgets its state");
        assert!(flows
            .deliver("keyport://oauth/callback?state=gone&code=c")
            .is_err());
        for url in [
            "https://oauth/callback?state=gone",
            "keyport://elsewhere/callback?state=gone",
            "keyport://oauth/other?state=gone",
            "not a url",
        ] {
            assert!(flows.deliver(url).is_err(), "{url}");
        }
        let waiter = flows.register(&Secret::new("s"));
        flows
            .deliver("keyport://oauth/callback?state=s&error=access_denied&error_description=No")
            .unwrap();
        let e = waiter.wait("Demo", Duration::from_secs(1)).await.unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Provider);
        assert!(e.to_string().contains("access_denied: No"), "{e}");
    }

    #[tokio::test]
    async fn waiting_times_out() {
        let flows = PendingFlows::default();
        let waiter = flows.register(&Secret::new("s"));
        let e = waiter.wait("Demo", Duration::from_millis(10)).await.unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Cancelled);
        assert!(flows.is_empty());
    }
}

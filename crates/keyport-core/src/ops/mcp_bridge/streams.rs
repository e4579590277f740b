//! The bridge's long-lived streams: the Streamable HTTP session's GET stream of the server's own
//! messages (`listen`), and the event stream of a 2024-11-05 (HTTP+SSE) server, which names where
//! to POST and carries every answer (`open_legacy`).

use super::{one_line, Session};
use crate::model::strip_query;
use crate::ops::Keyport;
use std::sync::Arc;
use url::Url;

impl Keyport {
    /// Opens the event stream of a 2024-11-05 (HTTP+SSE) server: a GET of its URL, whose first
    /// `endpoint` event names where to POST (on the same origin, or it is refused); every
    /// `message` event after it goes to the client, for as long as the bridge lives.
    pub(super) async fn open_legacy(&self, session: &Session) -> std::result::Result<(), String> {
        let build = |http: &reqwest::Client| {
            http.get(session.url.clone())
                .header("accept", "text/event-stream")
                // The stream lives as long as the bridge, not as long as a request to a provider.
                .timeout(std::time::Duration::from_secs(24 * 3600))
        };
        let mut response = self
            .send_authorized(session, &build)
            .await
            .map_err(|failure| failure.to_string())?;
        if !response.status().is_success() {
            return Err(format!("its GET answered HTTP {}", response.status().as_u16()));
        }
        let (named, endpoint) = tokio::sync::oneshot::channel::<Url>();
        let (base, to_client) = (session.url.clone(), session.to_client.clone());
        let reader = tokio::spawn(async move {
            let mut named = Some(named);
            let mut events = super::events::EventReader::default();
            while let Ok(Some(chunk)) = response.chunk().await {
                let Ok(batch) = events.push(&chunk) else { break };
                for event in batch {
                    let Some(data) = event.data else { continue };
                    match event.kind.as_deref() {
                        Some("endpoint") => {
                            let same_origin = |u: &Url| {
                                u.origin() == base.origin() && matches!(u.scheme(), "http" | "https")
                            };
                            match base.join(data.trim()) {
                                Ok(url) if same_origin(&url) => {
                                    if let Some(named) = named.take() {
                                        let _ = named.send(url);
                                    }
                                }
                                _ => {
                                    tracing::warn!(
                                        "the MCP server named an endpoint on another origin; refused"
                                    );
                                    return;
                                }
                            }
                        }
                        None | Some("message") => {
                            to_client.send(one_line(&data)).await;
                        }
                        Some(_) => {}
                    }
                }
            }
        });
        let reader = AbortOnDrop(reader);
        let endpoint = tokio::time::timeout(std::time::Duration::from_secs(10), endpoint)
            .await
            .map_err(|_| "its stream named no endpoint".to_string())?
            .map_err(|_| "its stream ended before naming an endpoint".to_string())?;
        tracing::info!(server = %strip_query(&session.url), "an HTTP+SSE (2024-11-05) server");
        *session.legacy.lock().expect("session lock") = Some((endpoint, reader));
        Ok(())
    }

    /// The server's messages outside any request (the Streamable HTTP GET stream): opened once the
    /// session is initialized and kept open, again after a drop with `Last-Event-ID` once the
    /// server's `retry` delay (else a second) has passed, each message written to the client as it
    /// comes. A server that answers the GET with anything but success offers none: it is not
    /// asked again (unless its session was opened anew meanwhile).
    pub(super) async fn listen(self: Arc<Self>, session: Arc<Session>) {
        let mut last_event: Option<String> = None;
        let mut retry = std::time::Duration::from_secs(1);
        let mut failures = 0;
        loop {
            let sid = session.id.lock().expect("session lock").clone();
            let resume = last_event.clone();
            let build = |http: &reqwest::Client| {
                let mut request = session
                    .in_session(http.get(session.url.clone()))
                    .header("accept", "text/event-stream")
                    // The stream lives as long as the session, not as long as a request to a provider.
                    .timeout(std::time::Duration::from_secs(24 * 3600));
                if let Some(id) = &resume {
                    request = request.header("last-event-id", id);
                }
                request
            };
            let mut response = match self.send_unasked(&session, &build).await {
                Ok(r) => r,
                Err(super::request::Failure::Unreachable { .. }) if failures < 5 => {
                    failures += 1;
                    tokio::time::sleep(retry).await;
                    continue;
                }
                Err(_) => return,
            };
            let status = response.status().as_u16();
            if !(200..300).contains(&status) {
                let reopened = *session.id.lock().expect("session lock") != sid;
                if reopened {
                    continue;
                }
                tracing::debug!(status, "the MCP server offers no stream of its own messages");
                return;
            }
            failures = 0;
            let mut events = super::events::EventReader::default();
            while let Ok(Some(chunk)) = response.chunk().await {
                let Ok(batch) = events.push(&chunk) else { break };
                for event in batch {
                    if let Some(id) = event.id {
                        last_event = Some(id);
                    }
                    if let Some(ms) = event.retry_ms {
                        retry = std::time::Duration::from_millis(ms.clamp(100, 60_000));
                    }
                    if let Some(data) = event.data {
                        session.to_client.send(one_line(&data)).await;
                    }
                }
            }
            tokio::time::sleep(retry).await;
        }
    }
}

/// Stops the stream's task when the bridge ends.
pub(super) struct AbortOnDrop(pub(super) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

//! `keyport mcp <url>`: a stdio MCP server for any MCP client, forwarding its JSON-RPC messages to a
//! remote MCP server over Streamable HTTP with a valid token from Keyport on every request, so the
//! client never signs in or keeps a token itself. The token is held in memory for the bridge's
//! session and asked for again (through the agent: consent, audit) a minute before it expires,
//! after a 401 and after a new sign-in.
//!
//! Each line the client writes is POSTed (`Accept: application/json, text/event-stream`, the
//! session's `Mcp-Session-Id`, `MCP-Protocol-Version` once negotiated); the answer, JSON or an
//! event stream, goes back as lines. A 401 gets one retry with a token refreshed first. A 403
//! `insufficient_scope` is a step-up (MCP spec): a sign-in for the scopes it names together with
//! those already granted, then the request again; at most three for one request, then a JSON-RPC
//! error, never a loop. A grant that ended (no refresh token, or revoked) is a new sign-in too,
//! rather than a failure. A session the server no longer knows after that (a new registration's
//! token) is opened again by replaying the client's `initialize`. The output carries only the
//! protocol (diagnostics go to the log, never a token). Messages are forwarded concurrently: a
//! long tool call does not hold up a ping. The server's own messages outside any request come
//! over the session's GET stream, kept open for the bridge's life (`listen`). A server of the
//! 2024-11-05 revision (HTTP+SSE), found when it refuses the `initialize` POST, is reached the old
//! way (`open_legacy`): its GET stream names where to POST, and every answer comes on that stream.
//! One task writes everything for the client, a line each.

mod events;
mod sign_ins;
mod streams;

use super::Keyport;
use crate::error::{Error, Result};
use crate::model::{strip_query, AccountId};
use crate::redirect::loopback::SignInAddress;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use url::Url;

/// Shows a sign-in the bridge needs (a step-up) to the person: the adapter opens the browser and
/// writes to stderr, never to the protocol's stdout.
pub type Present = Arc<dyn Fn(&SignInAddress) + Send + Sync>;

/// Sign-ins one request may cause before it gets an error instead.
const MAX_STEP_UPS: u32 = 3;

/// What one bridge keeps between requests.
struct Session {
    url: Url,
    account: AccountId,
    id: Mutex<Option<String>>,
    protocol_version: Mutex<Option<String>>,
    /// The client's `initialize`, replayed when the server forgets the session.
    initialize: Mutex<Option<String>>,
    /// The token handed out for this bridge and when it expires: asked for again (through the
    /// agent and its consent, with an audit record) when it comes within a minute of expiry,
    /// after a 401, and after any new sign-in, rather than for every message.
    token: Mutex<Option<(crate::secret::Secret, Option<u64>)>>,
    /// Held during a step-up, so that requests refused together make one sign-in.
    stepping_up: tokio::sync::Mutex<()>,
    present: Present,
    /// Every message for the client goes here; one task writes them out, a line each.
    to_client: tokio::sync::mpsc::UnboundedSender<String>,
    /// With a server of the 2024-11-05 revision (HTTP+SSE): the endpoint its stream named, where
    /// messages are POSTed, and the task reading that stream.
    legacy: Mutex<Option<(Url, streams::AbortOnDrop)>>,
}

impl Keyport {
    /// Forwards `input`'s JSON-RPC lines to the MCP server at `url` as the account `reference`,
    /// writing every answer to `output`, until `input` ends.
    pub async fn bridge_mcp<W>(
        self: Arc<Self>,
        url: &str,
        reference: &str,
        input: impl AsyncBufRead + Unpin,
        output: W,
        present: Present,
    ) -> Result<()>
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let url = Url::parse(url).map_err(|e| Error::Usage(format!("\"{url}\" is not a URL ({e})")))?;
        crate::model::check_endpoint(&url).map_err(Error::Usage)?;
        let account = self.find(reference)?.id;
        let (to_client, mut for_client) = tokio::sync::mpsc::unbounded_channel::<String>();
        let mut output = output;
        let writer = tokio::spawn(async move {
            while let Some(message) = for_client.recv().await {
                let _ = output.write_all(message.as_bytes()).await;
                let _ = output.write_all(b"\n").await;
                let _ = output.flush().await;
            }
        });
        let session = Arc::new(Session {
            url,
            account,
            id: Mutex::new(None),
            protocol_version: Mutex::new(None),
            initialize: Mutex::new(None),
            token: Mutex::new(None),
            stepping_up: tokio::sync::Mutex::new(()),
            present,
            to_client,
            legacy: Mutex::new(None),
        });
        let mut lines = input.lines();
        let mut running = tokio::task::JoinSet::new();
        // The server's own messages, once the session is initialized; ended with the bridge.
        let mut listening: Option<streams::AbortOnDrop> = None;
        while let Some(line) = lines
            .next_line()
            .await
            .map_err(|e| Error::io("read", "standard input", e))?
        {
            if line.trim().is_empty() {
                continue;
            }
            let initialize = line.contains("\"initialize\"");
            if initialize {
                *session.initialize.lock().expect("session lock") = Some(line.clone());
            }
            let (keyport, session_here) = (self.clone(), session.clone());
            let forward = async move {
                for answer in keyport.forward(&session_here, &line).await {
                    let _ = session_here.to_client.send(answer);
                }
            };
            if initialize {
                // Everything after `initialize` needs its session id: wait for it.
                forward.await;
                let legacy = session.legacy.lock().expect("session lock").is_some();
                if listening.is_none() && !legacy {
                    let listen = self.clone().listen(session.clone());
                    listening = Some(streams::AbortOnDrop(tokio::spawn(listen)));
                }
            } else {
                running.spawn(forward);
            }
            while running.try_join_next().is_some() {}
        }
        while running.join_next().await.is_some() {}
        // The streams end with the bridge; the client gets what was already on its way.
        drop(listening);
        session.legacy.lock().expect("session lock").take();
        drop(session);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), writer).await;
        Ok(())
    }

    /// One client message to the server; the messages to hand back (answers, notifications,
    /// requests of the server's, or a JSON-RPC error of ours).
    async fn forward(&self, session: &Session, line: &str) -> Vec<String> {
        let message: serde_json::Value = match serde_json::from_str(line) {
            Ok(m) => m,
            Err(e) => {
                return vec![rpc_error(
                    &serde_json::Value::Null,
                    -32700,
                    &format!("not JSON: {e}"),
                )]
            }
        };
        let id = message.get("id").cloned().unwrap_or(serde_json::Value::Null);
        let mut refreshed = false;
        let mut step_ups = 0;
        let mut reopened = false;
        let mut tried_legacy = false;
        let mut signed_in_again = false;
        loop {
            let token = match self.session_token(session).await {
                Ok(token) => token,
                // The grant ended (no refresh token, or revoked): sign in again rather than fail,
                // once for this request.
                Err(Error::NeedsReconnect { .. }) if !signed_in_again => {
                    signed_in_again = true;
                    if let Err(e) = self.sign_in_again(session).await {
                        return error_if_request(&message, &id, &crate::error::describe(&e));
                    }
                    continue;
                }
                Err(e) => return error_if_request(&message, &id, &crate::error::describe(&e)),
            };
            let mut request = session.post(self.http(), &token, line);
            if let Some(version) = session.protocol_version.lock().expect("session lock").clone() {
                request = request.header("mcp-protocol-version", version);
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    let why = crate::provider::http::HttpFailure::from(e).message;
                    return error_if_request(&message, &id, &why);
                }
            };
            let status = response.status().as_u16();
            if status == 401 && !refreshed {
                // The token was refused: refresh once, then try again.
                refreshed = true;
                session.forget_token();
                if let Err(e) = self.refresh(&session.account).await {
                    return error_if_request(&message, &id, &crate::error::describe(&e));
                }
                continue;
            }
            if status == 403 {
                let challenge = response
                    .headers()
                    .get_all("www-authenticate")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find_map(crate::provider::mcp::parse_challenge)
                    .filter(|c| c.error.as_deref() == Some("insufficient_scope"));
                if let Some(challenge) = challenge {
                    if step_ups == MAX_STEP_UPS {
                        return error_if_request(
                            &message,
                            &id,
                            &format!("the server still asks for more scopes after {MAX_STEP_UPS} sign-ins"),
                        );
                    }
                    step_ups += 1;
                    if let Err(e) = self
                        .step_up(session, challenge.scope.as_deref().unwrap_or(""))
                        .await
                    {
                        return error_if_request(&message, &id, &crate::error::describe(&e));
                    }
                    continue;
                }
            }
            let is_initialize = message.get("method").and_then(|m| m.as_str()) == Some("initialize");
            let legacy = session.legacy.lock().expect("session lock").is_some();
            if is_initialize && matches!(status, 400 | 404 | 405) && !legacy && !tried_legacy {
                // A server of the 2024-11-05 revision: its URL is an event stream to GET, which
                // names where to POST (the MCP spec's backwards-compatibility rule).
                tried_legacy = true;
                match self.open_legacy(session).await {
                    Ok(()) => continue,
                    Err(why) => {
                        tracing::debug!(%why, "not an HTTP+SSE server either");
                    }
                }
            }
            let sent_in_session = session.id.lock().expect("session lock").is_some();
            if status == 404 && sent_in_session && !reopened && (step_ups > 0 || signed_in_again) {
                // The new sign-in's token belongs to a new registration, and the server ties a
                // session to its client: open a new one as the client did, then send again.
                reopened = true;
                if let Err(why) = self.reopen(session).await {
                    return error_if_request(&message, &id, &why);
                }
                continue;
            }
            session.remember_id(&response);
            if !(200..300).contains(&status) {
                tracing::warn!(status, server = %strip_query(&session.url), "the MCP server refused a message");
                return error_if_request(
                    &message,
                    &id,
                    &format!("{} answered HTTP {status}", strip_query(&session.url)),
                );
            }
            let event_stream = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("text/event-stream"));
            let answers = match read_answers(response, event_stream).await {
                Ok(answers) => answers,
                Err(why) => return error_if_request(&message, &id, &why),
            };
            for answer in &answers {
                remember_version(session, &message, answer);
            }
            return answers;
        }
    }
}

impl Session {
    fn forget_token(&self) {
        *self.token.lock().expect("session lock") = None;
    }

    /// A POST of one message to the server with `token`, in the session once it has one.
    fn post(
        &self,
        http: &reqwest::Client,
        token: &crate::secret::Secret,
        line: &str,
    ) -> reqwest::RequestBuilder {
        let mut request = http
            .post(self.post_url())
            .bearer_auth(token.expose())
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(line.to_string());
        if let Some(sid) = self.id.lock().expect("session lock").clone() {
            request = request.header("mcp-session-id", sid);
        }
        request
    }

    /// Where messages go: the server's URL, or the endpoint an HTTP+SSE server named.
    fn post_url(&self) -> Url {
        match &*self.legacy.lock().expect("session lock") {
            Some((endpoint, _)) => endpoint.clone(),
            None => self.url.clone(),
        }
    }

    /// Keeps the session id a response names.
    fn remember_id(&self, response: &reqwest::Response) {
        if let Some(sid) = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            *self.id.lock().expect("session lock") = Some(sid.to_string());
        }
    }
}

/// The messages in a response: one JSON body, or the `data` of each event of a stream.
async fn read_answers(
    mut response: reqwest::Response,
    event_stream: bool,
) -> std::result::Result<Vec<String>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        body.extend_from_slice(&chunk);
        if body.len() > 16 * crate::provider::http::MAX_BODY_BYTES {
            return Err("the MCP server's answer is too large".into());
        }
    }
    let text = String::from_utf8_lossy(&body);
    if !event_stream {
        let text = text.trim();
        return Ok(if text.is_empty() {
            Vec::new()
        } else {
            vec![one_line(text)]
        });
    }
    Ok(events::all_data(&text)
        .into_iter()
        .map(|d| one_line(&d))
        .collect())
}

/// A JSON message on one line (stdio framing: one message per line).
fn one_line(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => v.to_string(),
        Err(_) => text.replace('\n', " "),
    }
}

/// After `initialize`, the protocol version the server chose goes on every request.
fn remember_version(session: &Session, sent: &serde_json::Value, answer: &str) {
    if sent.get("method").and_then(|m| m.as_str()) != Some("initialize") {
        return;
    }
    let Ok(answer) = serde_json::from_str::<serde_json::Value>(answer) else {
        return;
    };
    if let Some(version) = answer["result"]["protocolVersion"].as_str() {
        *session.protocol_version.lock().expect("session lock") = Some(version.to_string());
    }
}

/// A JSON-RPC error for a request (a notification gets no answer).
fn error_if_request(message: &serde_json::Value, id: &serde_json::Value, why: &str) -> Vec<String> {
    if message.get("method").is_some() && message.get("id").is_some() {
        vec![rpc_error(id, -32000, why)]
    } else {
        tracing::warn!(reason = %crate::text::escape_controls(why), "a notification could not be forwarded");
        Vec::new()
    }
}

fn rpc_error(id: &serde_json::Value, code: i64, message: &str) -> String {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_go_out_on_one_line() {
        assert_eq!(one_line("{\"a\":\n1}"), "{\"a\":1}");
    }

    #[test]
    fn only_requests_get_errors() {
        let request = serde_json::json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"});
        let answer = error_if_request(&request, &request["id"], "down");
        assert!(
            answer[0].contains("\"id\":7") && answer[0].contains("down"),
            "{answer:?}"
        );
        let notification = serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert!(error_if_request(&notification, &serde_json::Value::Null, "down").is_empty());
    }
}

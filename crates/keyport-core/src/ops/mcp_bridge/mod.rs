//! `keyport mcp <url>`: a stdio MCP server for any MCP client, forwarding its JSON-RPC messages to a
//! remote MCP server over HTTP with a token from Keyport once the server asks for one, so the
//! client never signs in or keeps a token itself.
//!
//! Layers, top-down:
//! - this file reads the client's lines and forwards each message by the transport of the
//!   revision the client speaks (`transport`): a 2026-07-28 request is one POST standing alone,
//!   with the routing headers derived from its body (`revision`) and no session; a message of the
//!   handshake era (2025-11-25, 06-18, 03-26) goes in the session `initialize` opened, whose GET
//!   stream brings the server's own messages (`streams::listen`); a 2024-11-05 server (HTTP+SSE)
//!   is reached through the endpoint its stream names (`streams::open_legacy`). Whatever the
//!   server answers goes back,
//!   its JSON-RPC errors included (a refused `server/discover` is how a client learns to fall back
//!   to `initialize`); an HTTP failure without one becomes an error naming the server, the status
//!   and what to do.
//! - `request` sends one HTTP request with whatever authorization it needs: none until the server
//!   asks (a 401, or a 403 `insufficient_scope`), then a first sign-in, then the account's token;
//!   a refresh after a 401; a step-up sign-in for the scopes a 403 names (three at most); a new
//!   sign-in for a grant that ended; one new connection when a kept-alive one turns out closed.
//!   Each failure is a [`request::Failure`].
//! - `sign_ins` holds the token and the sign-ins; the first one is the core's
//!   [`Keyport::sign_in_to_mcp_server`], shared with every other client starting at once.
//!
//! The output carries only the protocol (diagnostics go to the log, never a token). Messages are
//! forwarded concurrently, so a long tool call does not hold up the next request; one task writes
//! everything for the client, a line each (`outbox`).
//!
//! What a server sends is held within stated bounds, whatever it sends and however slowly the
//! client reads: at most [`MAX_IN_FLIGHT`] client requests are under way (then the client's next
//! line waits), each holding one JSON answer of at most [`MAX_ANSWER_BYTES`] or one event of at
//! most [`events::MAX_EVENT_BYTES`] at a time (an event stream's messages go out as they come);
//! at most [`outbox::MAX_QUEUED_BYTES`] wait for the client, and a stream is not read further
//! while they do, so a server streaming to a client that does not read is held back by TCP
//! instead of filling the bridge's memory. Event streams are read in linear time
//! (`events`).

// The event-stream parser also reads the answer to the name question (`mcp_setup`).
pub(in crate::ops) mod events;
mod outbox;
mod request;
mod revision;
mod sign_ins;
mod streams;
mod transport;

use super::Keyport;
use crate::error::{Error, Result};
use crate::model::{strip_query, AccountId};
use crate::ops::mcp_setup::OwnClient;
use crate::redirect::loopback::SignInAddress;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite};
use url::Url;

/// Why the bridge needs the person to sign in in the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInReason {
    /// The server asked for a sign-in and no account is connected to it yet.
    First,
    /// The server asks for more scopes than the account was granted (a step-up).
    MoreAccess,
    /// The account's grant ended (revoked, or no refresh token left).
    GrantEnded,
}

/// Shows a sign-in the bridge needs to the person, with the server's name: the adapter opens the
/// browser and writes to stderr, never to the protocol's stdout.
pub type Present = Arc<dyn Fn(&SignInAddress, SignInReason, &str) + Send + Sync>;

/// How the bridge signs in when a server asks and no account is connected to it.
#[derive(Clone)]
pub struct FirstSignIn {
    /// How long the person has to finish it in the browser.
    pub timeout: Duration,
    /// Who Keyport is to the server (`--client-id`, `--client-metadata-url`), if not itself.
    pub own: Option<OwnClient>,
}

/// What one bridge keeps between requests.
struct Session {
    url: Url,
    /// The account whose tokens go to the server: `None` until the server asks for a sign-in.
    account: Mutex<Option<AccountId>>,
    first_sign_in: FirstSignIn,
    /// Sign-ins made by this bridge: a request that saw one happen while it was under way may
    /// find its session gone (a new registration's token), and opens it again.
    sign_ins: AtomicU32,
    /// The HTTP client of this bridge (see [`request`]).
    http: reqwest::Client,
    id: Mutex<Option<String>>,
    protocol_version: Mutex<Option<String>>,
    /// The client's `initialize`, replayed when the server forgets the session.
    initialize: Mutex<Option<String>>,
    /// The token handed out for this bridge and when it expires: asked for again (through the
    /// agent and its consent, with an audit record) when it comes within a minute of expiry,
    /// after a 401, and after any new sign-in, rather than for every message.
    token: Mutex<Option<(crate::secret::Secret, Option<u64>)>>,
    /// Held while a token is fetched; `fetched` counts the fetches (see `session_token`).
    fetching: tokio::sync::Mutex<()>,
    fetched: AtomicU32,
    /// Held during a sign-in, so that requests refused together make one.
    stepping_up: tokio::sync::Mutex<()>,
    present: Present,
    /// Every message for the client goes here; one task writes them out, a line each.
    to_client: outbox::Outbox,
    /// With a server of the 2024-11-05 revision (HTTP+SSE): the endpoint its stream named, where
    /// messages are POSTed, and the task reading that stream.
    legacy: Mutex<Option<(Url, streams::AbortOnDrop)>>,
    /// The `x-mcp-header` annotations of the server's tools, from the `tools/list` answers.
    tools: Mutex<revision::ToolHeaders>,
}

impl Keyport {
    /// Forwards `input`'s JSON-RPC lines to the MCP server at `url`, writing every answer to
    /// `output`, until `input` ends. With `account`, its tokens go out from the first request;
    /// without, requests go out without one until the server asks, and `first_sign_in` says how
    /// to sign in then.
    pub async fn bridge_mcp<W>(
        self: Arc<Self>,
        url: &str,
        account: Option<&str>,
        first_sign_in: FirstSignIn,
        input: impl AsyncBufRead + Unpin,
        output: W,
        present: Present,
    ) -> Result<()>
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let url = Url::parse(url).map_err(|e| Error::Usage(format!("\"{url}\" is not a URL ({e})")))?;
        crate::model::check_endpoint(&url).map_err(Error::Usage)?;
        let account = match account {
            Some(reference) => Some(self.find(reference)?.id),
            None => None,
        };
        let (to_client, writer) = outbox::Outbox::new(output);
        let session = Arc::new(Session {
            url,
            account: Mutex::new(account),
            first_sign_in,
            sign_ins: AtomicU32::new(0),
            http: request::client(),
            id: Mutex::new(None),
            protocol_version: Mutex::new(None),
            initialize: Mutex::new(None),
            token: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            fetched: AtomicU32::new(0),
            stepping_up: tokio::sync::Mutex::new(()),
            present,
            to_client,
            legacy: Mutex::new(None),
            tools: Mutex::new(revision::ToolHeaders::default()),
        });
        let mut lines = input.lines();
        let mut running = tokio::task::JoinSet::new();
        let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
        // The 2026-07-28 requests under way, by their JSON-RPC id: a client cancels one by saying
        // so, and on that revision's HTTP the server learns it by the request's stream closing.
        let mut under_way: HashMap<String, tokio::task::AbortHandle> = HashMap::new();
        // The server's own messages, once a session is initialized; ended with the bridge.
        let mut listening: Option<streams::AbortOnDrop> = None;
        while let Some(line) = lines
            .next_line()
            .await
            .map_err(|e| Error::io("read", "standard input", e))?
        {
            if line.trim().is_empty() {
                continue;
            }
            let message: serde_json::Value = match serde_json::from_str(&line) {
                Ok(m) => m,
                Err(e) => {
                    let refusal = rpc_error(&serde_json::Value::Null, -32700, &format!("not JSON: {e}"));
                    session.to_client.send(refusal).await;
                    continue;
                }
            };
            let method = message["method"].as_str().unwrap_or_default();
            let per_request = revision::per_request_version(&message).is_some();
            let notification = message.get("id").is_none();
            if notification && method == "notifications/cancelled" {
                // Of a 2026-07-28 request (the notification itself need not say its revision:
                // the SDKs stamp only requests): that revision has no notifications to the server
                // over HTTP, and closing the request's stream is how the server learns it.
                let cancelled = message["params"]["requestId"].to_string();
                if let Some(request) = under_way.remove(&cancelled) {
                    request.abort();
                    continue;
                }
            }
            if per_request && notification {
                // 2026-07-28 defines no notifications to the server over HTTP.
                continue;
            }
            let initialize = method == "initialize";
            if initialize {
                *session.initialize.lock().expect("session lock") = Some(line.clone());
            }
            let request_id = per_request.then(|| message["id"].to_string());
            // A request under way holds a place until its answers are out; with none left, the
            // client's next line waits.
            let place = in_flight
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let (keyport, session_here) = (self.clone(), session.clone());
            let forward = async move {
                for answer in keyport.forward(&session_here, &message, &line).await {
                    session_here.to_client.send(answer).await;
                }
                drop(place);
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
                let handle = running.spawn(forward);
                if let Some(request_id) = request_id {
                    under_way.retain(|_, h| !h.is_finished());
                    under_way.insert(request_id, handle);
                }
            }
            while running.try_join_next().is_some() {}
        }
        while running.join_next().await.is_some() {}
        // The streams end with the bridge; the client gets what was already on its way.
        drop(listening);
        session.legacy.lock().expect("session lock").take();
        drop(session);
        let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
        Ok(())
    }

    /// One client message to the server; the messages to hand back (answers, notifications,
    /// requests of the server's, or a JSON-RPC error of ours).
    async fn forward(&self, session: &Session, message: &serde_json::Value, line: &str) -> Vec<String> {
        let id = message.get("id").cloned().unwrap_or(serde_json::Value::Null);
        let method = message["method"].as_str().unwrap_or_default();
        let sign_ins_before = session.sign_ins.load(Ordering::SeqCst);
        let mut reopened = false;
        let mut tried_http_sse = false;
        loop {
            let transport = transport::Transport::of(session, message);
            let build = |http: &reqwest::Client| transport.post(session, http, line, message);
            let response = match self.send_authorized(session, &build).await {
                Ok(response) => response,
                Err(failure) => return error_if_request(message, &id, &failure.to_string()),
            };
            let status = response.status().as_u16();
            if transport.may_be_http_sse(method, status) && !tried_http_sse {
                tried_http_sse = true;
                match self.open_legacy(session).await {
                    Ok(()) => continue,
                    Err(why) => tracing::debug!(%why, "not an HTTP+SSE server either"),
                }
            }
            let signed_in_meanwhile = session.sign_ins.load(Ordering::SeqCst) != sign_ins_before;
            if status == 404 && transport.in_a_session(session) && !reopened && signed_in_meanwhile {
                // The new sign-in's token belongs to a new registration, and the server ties a
                // session to its client: open a new one as the client did, then send again.
                reopened = true;
                if let Err(failure) = self.reopen(session).await {
                    return error_if_request(message, &id, &failure.to_string());
                }
                continue;
            }
            transport.answered(session, &response);
            let event_stream = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("text/event-stream"));
            let resumable = transport.in_a_session(session);
            // An accepted request's event stream goes to the client as it comes; a refusal's
            // messages are read first, to find the server's JSON-RPC error among them.
            let passing = (200..300).contains(&status).then_some(message);
            let answers = match self
                .read_answers(session, response, event_stream, &id, resumable, passing)
                .await
            {
                Ok(answers) => answers,
                Err(why) => {
                    let failure = request::Failure::Answer {
                        server: strip_query(&session.url),
                        why,
                    };
                    return error_if_request(message, &id, &failure.to_string());
                }
            };
            if !(200..300).contains(&status) {
                // A JSON-RPC error in the refusal is the server's word to the client (a
                // `server/discover` it does not know, a protocol version it does not speak): pass
                // it on, under the client's id.
                if let Some(error) = answers.iter().find_map(|a| json_rpc_error(a, &id)) {
                    return vec![error];
                }
                tracing::warn!(status, server = %strip_query(&session.url), "the MCP server refused a message");
                let failure = request::Failure::Refused {
                    server: strip_query(&session.url),
                    status,
                };
                return error_if_request(message, &id, &failure.to_string());
            }
            for answer in &answers {
                session.learn(message, answer);
            }
            return answers;
        }
    }
}

impl Session {
    fn account(&self) -> Option<AccountId> {
        self.account.lock().expect("session lock").clone()
    }

    fn forget_token(&self) {
        *self.token.lock().expect("session lock") = None;
    }

    /// The session's id and negotiated protocol version, once it has them.
    fn in_session(&self, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Some(sid) = self.id.lock().expect("session lock").clone() {
            request = request.header("mcp-session-id", sid);
        }
        if let Some(version) = self.protocol_version.lock().expect("session lock").clone() {
            request = request.header("mcp-protocol-version", version);
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

    /// What an answer teaches the bridge: the protocol version `initialize` negotiated (on every
    /// later request of the session), the `x-mcp-header` annotations of listed tools.
    fn learn(&self, sent: &serde_json::Value, answer: &str) {
        let method = sent["method"].as_str().unwrap_or_default();
        if !matches!(method, "initialize" | "tools/list") {
            return;
        }
        let Ok(answer) = serde_json::from_str::<serde_json::Value>(answer) else {
            return;
        };
        if method == "tools/list" {
            self.tools.lock().expect("session lock").learn(&answer);
        } else if let Some(version) = answer["result"]["protocolVersion"].as_str() {
            *self.protocol_version.lock().expect("session lock") = Some(version.to_string());
        }
    }
}

/// How many times one request's event stream is resumed after it drops before its answer came.
const MAX_RESUMPTIONS: u32 = 5;

/// The most one answer (a body, or one request's event stream) may hold: tool results are larger
/// than a provider's token responses.
const MAX_ANSWER_BYTES: usize = 16 * crate::provider::http::MAX_BODY_BYTES;

/// The client's requests under way at once: clients make a few in parallel (tool calls, lists);
/// each may hold one answer of up to [`MAX_ANSWER_BYTES`] while it is read.
const MAX_IN_FLIGHT: usize = 16;

impl Keyport {
    /// The messages in a response: one JSON body, or the `data` of each event of a stream. With
    /// `passing` (the request the server accepted), a stream's messages are learnt from and go to
    /// the client as they come, so that only one event is held at a time, and a client that does
    /// not read holds the stream back (`outbox`); without, they are returned. A stream of a
    /// session that ends before the answer to `id` came (a server that closes it to be polled, a
    /// proxy timing out) is resumed as the spec says: after the server's `retry` delay, a GET with
    /// `Last-Event-ID`, which carries on where it stopped.
    async fn read_answers(
        &self,
        session: &Session,
        mut response: reqwest::Response,
        event_stream: bool,
        id: &serde_json::Value,
        resumable: bool,
        passing: Option<&serde_json::Value>,
    ) -> std::result::Result<Vec<String>, String> {
        if !event_stream {
            let body = read_body(response).await?;
            let text = String::from_utf8_lossy(&body);
            let text = text.trim();
            return Ok(if text.is_empty() {
                Vec::new()
            } else {
                vec![one_line(text)]
            });
        }
        let mut answers = Vec::new();
        let mut last_event: Option<String> = None;
        let mut retry = std::time::Duration::from_secs(1);
        let mut resumptions = 0;
        loop {
            let mut events = events::EventReader::default();
            let mut answered = false;
            let mut size = 0;
            let mut ended = false;
            // Read until the answer came (a resumed stream may stay open after it) or the stream ends.
            while !ended && !answered {
                // The stream's end completes its last event.
                let next = match response.chunk().await {
                    // A stream cut off mid-way (the server closed it, a proxy timed out) is a
                    // stream that ended: resumed below when it can be.
                    Err(e) if resumable && last_event.is_some() => {
                        let why = crate::provider::http::HttpFailure::from(e).message;
                        tracing::debug!(%why, "the request's event stream was cut off");
                        None
                    }
                    other => other.map_err(|e| e.to_string())?,
                };
                let batch = match next {
                    Some(chunk) => {
                        size += chunk.len();
                        if size > MAX_ANSWER_BYTES {
                            return Err("its answer is too large".into());
                        }
                        events.push(&chunk)?
                    }
                    None => {
                        ended = true;
                        events.finish()
                    }
                };
                for event in batch {
                    last_event = event.id.or(last_event);
                    if let Some(ms) = event.retry_ms {
                        retry = std::time::Duration::from_millis(ms.clamp(100, 60_000));
                    }
                    if let Some(data) = event.data {
                        let line = one_line(&data);
                        answered |= answers_request(&line, id);
                        match passing {
                            Some(sent) => {
                                session.learn(sent, &line);
                                session.to_client.send(line).await;
                            }
                            None => answers.push(line),
                        }
                    }
                }
            }
            let Some(resume_from) = last_event
                .clone()
                .filter(|_| resumable && !answered && !id.is_null())
            else {
                return Ok(answers);
            };
            if resumptions == MAX_RESUMPTIONS {
                return Err(format!(
                    "its event stream dropped {MAX_RESUMPTIONS} times before the answer came"
                ));
            }
            resumptions += 1;
            tokio::time::sleep(retry).await;
            tracing::debug!(resumptions, "resuming the request's event stream");
            let build = |http: &reqwest::Client| {
                session
                    .in_session(http.get(session.url.clone()))
                    .header("accept", "text/event-stream")
                    .header("last-event-id", resume_from.as_str())
            };
            response = self
                .send_unasked(session, &build)
                .await
                .map_err(|f| f.to_string())?;
            if !response.status().is_success() {
                return Err(format!(
                    "its event stream dropped, and resuming it was answered HTTP {}",
                    response.status().as_u16()
                ));
            }
        }
    }
}

/// Whether `line` is the answer (a result or an error) to the request `id`.
fn answers_request(line: &str, id: &serde_json::Value) -> bool {
    serde_json::from_str::<serde_json::Value>(line)
        .is_ok_and(|m| &m["id"] == id && (m.get("result").is_some() || m.get("error").is_some()))
}

/// A whole response body, within the bridge's size cap.
async fn read_body(mut response: reqwest::Response) -> std::result::Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER_BYTES {
            return Err("its answer is too large".into());
        }
    }
    Ok(body)
}

/// A JSON message on one line (stdio framing: one message per line).
fn one_line(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => v.to_string(),
        Err(_) => text.replace('\n', " "),
    }
}

/// `answer` when it is a JSON-RPC error, under the request's `id` (a server refusing a request
/// before reading it may answer with a null id).
fn json_rpc_error(answer: &str, id: &serde_json::Value) -> Option<String> {
    let mut error: serde_json::Value = serde_json::from_str(answer).ok()?;
    error.get("error")?.get("code")?.as_i64()?;
    error["jsonrpc"] = "2.0".into();
    error["id"] = id.clone();
    Some(error.to_string())
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

    #[test]
    fn a_servers_json_rpc_refusal_goes_back_under_the_clients_id() {
        let refusal = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32022,"message":"unsupported","data":{"supported":["2025-11-25"]}}}"#;
        let passed: serde_json::Value =
            serde_json::from_str(&json_rpc_error(refusal, &serde_json::json!(4)).unwrap()).unwrap();
        assert_eq!(passed["id"], 4);
        assert_eq!(passed["error"]["code"], -32022);
        assert_eq!(passed["error"]["data"]["supported"][0], "2025-11-25");
        assert!(json_rpc_error(r#"{"detail":"Not Found"}"#, &serde_json::json!(4)).is_none());
    }
}

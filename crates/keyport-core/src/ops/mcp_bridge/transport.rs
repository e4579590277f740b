//! How one client message travels to the server, by the revision it is carried in:
//! - `Stateless` (2026-07-28): a POST standing alone, with the routing headers derived from its
//!   body (`revision`), no session; closing it cancels the request;
//! - `Session` (2025-11-25, 06-18, 03-26): in the session `initialize` opened, its id and
//!   negotiated version on every request; an answer's event stream can be resumed
//!   (`Last-Event-ID`), and a session the server forgot after a new sign-in is opened again;
//! - `HttpSse` (2024-11-05): POSTed to the endpoint the server's event stream named
//!   (`streams::open_legacy`), where an `initialize` refused as such a server refuses it leads.
//!
//! The forward loop (`mod.rs`) asks the transport what to do; it never looks at the revision.

use super::{revision, Session};
use serde_json::Value;

pub(super) enum Transport {
    Stateless { version: String },
    Session,
    HttpSse,
}

impl Transport {
    /// The transport `message` goes by: the revision it names for itself, else the session's
    /// (HTTP+SSE once a 2024-11-05 server was found).
    pub(super) fn of(session: &Session, message: &Value) -> Transport {
        if let Some(version) = revision::per_request_version(message) {
            return Transport::Stateless {
                version: version.to_string(),
            };
        }
        match session.legacy.lock().expect("session lock").is_some() {
            true => Transport::HttpSse,
            false => Transport::Session,
        }
    }

    /// The POST of `line` (the client's `message`, as it sent it).
    pub(super) fn post(
        &self,
        session: &Session,
        http: &reqwest::Client,
        line: &str,
        message: &Value,
    ) -> reqwest::RequestBuilder {
        let request = http
            .post(session.post_url())
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(line.to_string());
        match self {
            Transport::Stateless { version } => {
                let tools = session.tools.lock().expect("session lock");
                revision::routing_headers(message, version, &tools)
                    .into_iter()
                    .fold(request, |request, (name, value)| request.header(name, value))
            }
            Transport::Session | Transport::HttpSse => session.in_session(request),
        }
    }

    /// Whether a refusal of `method` with `status` may mean a 2024-11-05 server (the MCP spec's
    /// backwards-compatibility rule: its URL is an event stream to GET, which names where to
    /// POST).
    pub(super) fn may_be_http_sse(&self, method: &str, status: u16) -> bool {
        matches!(self, Transport::Session) && method == "initialize" && matches!(status, 400 | 404 | 405)
    }

    /// Whether the message went in a session the server gave an id: a 404 then means the server
    /// forgot it, and an answer's event stream can be resumed.
    pub(super) fn in_a_session(&self, session: &Session) -> bool {
        !matches!(self, Transport::Stateless { .. }) && session.id.lock().expect("session lock").is_some()
    }

    /// What the transport keeps of an answer: the session id the server named.
    pub(super) fn answered(&self, session: &Session, response: &reqwest::Response) {
        if !matches!(self, Transport::Stateless { .. }) {
            session.remember_id(response);
        }
    }
}

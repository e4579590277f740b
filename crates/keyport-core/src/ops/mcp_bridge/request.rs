//! One HTTP request of the bridge, with whatever authorization the server wants, and every way
//! it can fail as a [`Failure`] that names the server, what happened and what to do.
//!
//! The request goes without a token until the server asks for one: a 401, or a 403
//! `insufficient_scope`. Then, once per bridge (and once for every client starting together), a
//! first sign-in, whose discovery starts from that very challenge; from there the account's token
//! on every request. A 401 with a token gets one refresh; a 403 `insufficient_scope` a step-up
//! for the scopes it names, at most [`MAX_STEP_UPS`] for one request; a grant that ended a new
//! sign-in. Every sign-in the bridge opens on its own counts against the server's few per period
//! (`store/unasked_sign_ins.rs`), across requests, bridges and clients: past them the client gets
//! [`Failure::TooManySignIns`]. A connection the server closed while it sat in the pool (uvicorn closes idle ones
//! after 5 s, nginx after 75 s; a person reading a consent question takes longer) gets one fresh
//! connection: the request never reached the server, so sending it again is safe.

use super::{Session, SignInReason};
use crate::error::Error;
use crate::model::strip_query;
use crate::ops::Keyport;
use crate::provider::mcp::{parse_challenge, Challenge};
use std::time::Duration;

/// Sign-ins for more scopes one request may cause before it gets an error instead.
const MAX_STEP_UPS: u32 = 3;

/// How long a kept-alive connection may sit unused before the bridge drops it itself: below
/// uvicorn's 5 s, the shortest server timeout common in MCP servers, so that most closed
/// connections are never tried at all.
const POOL_IDLE: Duration = Duration::from_secs(4);

/// The bridge's HTTP client: the providers' (no redirects, its time limits), with a pool that lets
/// idle connections go before servers close them.
pub(super) fn client() -> reqwest::Client {
    crate::provider::http::builder()
        .pool_idle_timeout(POOL_IDLE)
        .build()
        .expect("the HTTP client configuration is static and valid")
}

/// Why a message did not reach the server, or its answer did not come back: what the client is
/// told, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub(super) enum Failure {
    #[error(
        "could not reach the MCP server {server} ({why}); check that it runs and that the address is right"
    )]
    Unreachable { server: String, why: String },
    #[error("the MCP server {server} answered HTTP {status}{}", hint(*status))]
    Refused { server: String, status: u16 },
    #[error("the MCP server {server} needs a sign-in that did not succeed: {why}")]
    SignIn { server: String, why: String },
    #[error(
        "the MCP server {server} still asks for more scopes after {MAX_STEP_UPS} sign-ins; the \
         account may not be allowed them (ask the server's administrator)"
    )]
    ScopesNeverEnough { server: String },
    #[error("the answer of the MCP server {server} could not be read ({why})")]
    Answer { server: String, why: String },
    /// The server had its sign-ins for the period: the core's sentence says all.
    #[error("{0}")]
    TooManySignIns(String),
}

/// What to do about a refusal, by its status.
fn hint(status: u16) -> &'static str {
    match status {
        401 => ": it refused the account's token even after a refresh (try `keyport reconnect`)",
        403 => ": the account may not do this",
        404 => ": nothing answers MCP there (is the URL right?)",
        400 | 405 | 406 | 415 => ": it did not take the request (is the URL an MCP endpoint?)",
        429 => ": too many requests; try again in a moment",
        500..=599 => ": a fault on the server's side; try again later",
        _ => "",
    }
}

impl Failure {
    fn sign_in(session: &Session, e: &Error) -> Self {
        if let Error::TooManySignIns { .. } = e {
            return Failure::TooManySignIns(e.to_string());
        }
        Failure::SignIn {
            server: strip_query(&session.url).to_string(),
            why: crate::error::describe(e),
        }
    }
}

impl Keyport {
    /// Sends the request `build` makes (again, when it must be repeated) with the authorization
    /// the server asks for; the server's response, whatever its status, once no sign-in, refresh
    /// or new connection can change it.
    pub(super) async fn send_authorized(
        &self,
        session: &Session,
        build: &(dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Sync),
    ) -> Result<reqwest::Response, Failure> {
        self.send_as(session, build, true).await
    }

    /// [`Keyport::send_authorized`], for a request the client did not make (the session's
    /// stream): it may use a token, but never sends the person to the browser for a first one.
    pub(super) async fn send_unasked(
        &self,
        session: &Session,
        build: &(dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Sync),
    ) -> Result<reqwest::Response, Failure> {
        self.send_as(session, build, false).await
    }

    async fn send_as(
        &self,
        session: &Session,
        build: &(dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Sync),
        may_sign_in: bool,
    ) -> Result<reqwest::Response, Failure> {
        let server = || strip_query(&session.url).to_string();
        let mut refreshed = false;
        let mut step_ups = 0;
        let mut signed_in_again = false;
        loop {
            let token = match session.account() {
                None => None,
                Some(_) => match self.session_token(session).await {
                    Ok(token) => Some(token),
                    // The grant ended (no refresh token, or revoked): sign in again rather than
                    // fail, once for this request.
                    Err(Error::NeedsReconnect { .. }) if !signed_in_again => {
                        signed_in_again = true;
                        self.sign_in_again(session)
                            .await
                            .map_err(|e| Failure::sign_in(session, &e))?;
                        continue;
                    }
                    Err(e) => return Err(Failure::sign_in(session, &e)),
                },
            };
            let authorized = |http: &reqwest::Client| match &token {
                Some(token) => build(http).bearer_auth(token.expose()),
                None => build(http),
            };
            let response = send_fresh(&session.http, &authorized).await.map_err(|e| {
                // The failure names the URL it was sent to, which the sentence names.
                let why = crate::provider::http::HttpFailure::from(e).message;
                let place = format!(" ({})", server());
                Failure::Unreachable {
                    server: server(),
                    why: why.strip_suffix(place.as_str()).unwrap_or(&why).to_string(),
                }
            })?;
            let status = response.status().as_u16();
            let challenge = challenge_of(&response);
            let wants_scope = challenge
                .as_ref()
                .is_some_and(|c| c.error.as_deref() == Some("insufficient_scope"));
            match (status, &token) {
                // Asked for the first time: sign in, starting from this challenge.
                (401, None) | (403, None) if may_sign_in && (status == 401 || wants_scope) => {
                    self.sign_in_when_asked(session, challenge.unwrap_or_default())
                        .await
                        .map_err(|e| Failure::sign_in(session, &e))?;
                }
                (401, Some(_)) if !refreshed => {
                    refreshed = true;
                    session.forget_token();
                    let account = session.account().expect("a token comes from an account");
                    self.refresh(account.as_str())
                        .await
                        .map_err(|e| Failure::sign_in(session, &e))?;
                }
                (403, Some(_)) if wants_scope => {
                    if step_ups == MAX_STEP_UPS {
                        return Err(Failure::ScopesNeverEnough { server: server() });
                    }
                    step_ups += 1;
                    let scope = challenge.and_then(|c| c.scope).unwrap_or_default();
                    self.step_up(session, &scope)
                        .await
                        .map_err(|e| Failure::sign_in(session, &e))?;
                }
                _ => return Ok(response),
            }
        }
    }

    /// The server asked for a sign-in and the bridge has no account for it: the core's first
    /// sign-in (which another client may be doing already), shown as every sign-in is.
    async fn sign_in_when_asked(&self, session: &Session, challenge: Challenge) -> crate::error::Result<()> {
        let _one = session.stepping_up.lock().await;
        if session.account().is_some() {
            return Ok(()); // another request's sign-in got there first
        }
        // A sign-in's grant passes through this process.
        self.hide_before_holding_tokens().await;
        let present = session.present.clone();
        let account = self
            .sign_in_to_mcp_server(
                session.url.as_str(),
                Some(challenge),
                &session.first_sign_in,
                &move |address, name| present(address, SignInReason::First, name),
            )
            .await?;
        *session.account.lock().expect("session lock") = Some(account);
        session.sign_ins.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        session.forget_token();
        Ok(())
    }
}

/// Sends what `build` makes; once more, on a new connection, when the first try went out on a
/// kept-alive connection the server had closed: the request never reached it. hyper learns of a
/// closed connection only when its task runs, and a runtime held by a synchronous wait (the
/// agent's consent question) has not run it.
async fn send_fresh(
    http: &reqwest::Client,
    build: &(dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Sync),
) -> Result<reqwest::Response, reqwest::Error> {
    match build(http).send().await {
        Err(e) if stale(&e) => {
            // Its words without the URL's query, which may carry a credential.
            let why = crate::provider::http::HttpFailure::from(e).message;
            tracing::debug!(%why, "no answer on a kept-alive connection; trying a new one");
            build(http).send().await
        }
        answered => answered,
    }
}

/// Whether a request failed the way one sent on a connection the server had already closed does:
/// no answer at all, and not for want of time (a timeout may mean the server is still at work).
fn stale(e: &reqwest::Error) -> bool {
    !e.is_timeout() && !e.is_builder() && !e.is_redirect() && !e.is_status()
}

/// The `Bearer` challenge of a 401 or 403, if it has one, with the address it came from (where
/// the server is, which bounds where what it names may be reached).
fn challenge_of(response: &reqwest::Response) -> Option<Challenge> {
    let challenge = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(parse_challenge)?;
    let from = response.remote_addr().map(|a| a.ip());
    Some(Challenge { from, ..challenge })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An HTTP/1.1 server on loopback that answers each request and closes the connection a
    /// moment later, as uvicorn and nginx close idle kept-alive connections.
    fn closing_server() -> String {
        use std::io::{BufRead, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}/mcp", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let mut stream = stream;
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        address
    }

    #[test]
    fn a_request_after_the_server_closed_the_kept_alive_connection_is_sent_again() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = closing_server();
        let http = client();
        runtime.block_on(async {
            let first = http.get(&url).send().await.unwrap();
            assert_eq!(first.text().await.unwrap(), "ok");
        });
        // The thread is held (as a synchronous question to the agent held it) while the server
        // closes the connection: nothing in the runtime sees it go.
        std::thread::sleep(Duration::from_millis(500));
        let plain = runtime.block_on(async { http.get(&url).send().await });
        assert!(
            plain.is_err(),
            "the scenario must reproduce: a plain send on the closed connection fails"
        );
        runtime.block_on(async {
            let first = http.get(&url).send().await.unwrap();
            assert_eq!(first.text().await.unwrap(), "ok");
        });
        std::thread::sleep(Duration::from_millis(500));
        let build = |http: &reqwest::Client| http.get(&url);
        let again = runtime.block_on(async { send_fresh(&http, &build).await });
        assert_eq!(again.expect("sent again on a new connection").status(), 200);
    }

    #[test]
    fn every_refusal_names_the_server_and_what_to_do() {
        let refused = |status| {
            Failure::Refused {
                server: "https://mcp.example.com/mcp".into(),
                status,
            }
            .to_string()
        };
        assert_eq!(
            refused(503),
            "the MCP server https://mcp.example.com/mcp answered HTTP 503: a fault on the server's side; try again later"
        );
        assert!(refused(404).contains("is the URL right?"));
        assert!(refused(401).contains("keyport reconnect"));
        let unreachable = Failure::Unreachable {
            server: "http://127.0.0.1:9/mcp".into(),
            why: "connection refused".into(),
        };
        assert!(unreachable.to_string().contains("check that it runs"));
    }
}

//! The loopback redirect listener (RFC 8252 §7.3): a tiny HTTP server on `127.0.0.1:<ephemeral>`
//! that receives the provider's redirect from the system browser.
//!
//! It is written for hostile input: anything on this machine can connect to it. Connections from
//! another user's processes are dropped unread (`peer`, on Linux). Each connection is
//! handled on its own task with a read deadline and a size cap, so idle speculative connections (which
//! browsers open) and junk never block the real callback. Only `GET /callback` with the expected
//! `state` ends the wait; everything else gets a plain answer and the listener keeps going.
//!
//! It also serves the one-time start page the browser is opened on (`/start/<random>`, which
//! redirects to the provider): a browser's command line is readable by every user of the machine,
//! and the authorization URL's `state` and PKCE challenge must never appear there. The first request
//! for the start page gets the redirect; any later one means someone else read the address, and
//! ends the sign-in before it can be completed with their code.

mod peer;

use crate::error::{Error, Result};
use crate::redirect::page::{respond, Reply};
use crate::secret::Secret;
use crate::serving::AcceptGuard;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use url::Url;

/// The largest request head we read; a redirect with a code and state is well under 2 KiB.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// How long a connection may take to send its request.
const READ_DEADLINE: Duration = Duration::from_secs(10);
pub const CALLBACK_PATH: &str = "/callback";
/// The redirect URI to register with a provider: the port is left out, because a loopback
/// redirect's port is ignored when matching (RFC 8252 §7.3) and ours is ephemeral.
pub const REGISTERED_REDIRECT_URI: &str = "http://127.0.0.1/callback";

pub use crate::redirect::callback::Callback;

pub struct CallbackListener {
    listener: TcpListener,
    local: std::net::SocketAddr,
    port: u16,
    start: Option<Arc<StartPage>>,
}

/// The one-time address the browser is opened on, and where it leads.
struct StartPage {
    /// `/start/<random>`.
    path: Secret,
    target: Url,
    hits: AtomicU32,
}

/// What the sign-in page is, for the two ways it reaches a person.
#[derive(Debug, Clone)]
pub struct SignInAddress {
    /// To open in a browser on this machine: a one-time local address that redirects to the
    /// provider, so the authorization request never appears on a command line.
    pub local: Url,
    /// The provider's authorization URL itself: to show the person (in their own terminal or
    /// window), or to open on another machine, where the local address does not reach.
    pub full: Url,
}

/// Why a sign-in whose start page was requested twice is ended.
const OPENED_TWICE: &str = "the sign-in address was opened more than once, so another program on this computer \
     may have read it (a browser's command line is visible to other users). Nothing was connected; start again";

/// What the listener of one sign-in is there for.
pub enum Serving<'a> {
    /// The provider's redirect: the callback carrying `state` ends the wait, from the browser
    /// or as an address the user pastes into `pasted` (when the browser cannot reach us).
    Callback {
        state: &'a str,
        pasted: Option<mpsc::Receiver<String>>,
    },
    /// Only the start page: the provider answers another way (`keyport://`), so no request here
    /// can complete the sign-in, and a second request for the start page ends it.
    StartPageOnly,
}

/// What one connection amounted to.
#[derive(Debug)]
enum Event {
    /// Something that is not our callback; the reason goes into the timeout message.
    Rejected(String),
    /// The callback for this flow: success or the provider's error.
    Done(Result<Callback>),
}

impl CallbackListener {
    /// Listens on a port the system picks (RFC 8252 §7.3).
    pub async fn bind() -> Result<Self> {
        Self::bind_port(0).await
    }

    /// Listens on `port`: the one a client Keyport registered earlier names in its redirect
    /// (servers that compare redirects exactly accept no other). Fails when it is taken.
    pub async fn bind_port(port: u16) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| Error::io("listen on", "127.0.0.1", e))?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::io("listen on", "127.0.0.1", e))?;
        Ok(Self {
            listener,
            local,
            port: local.port(),
            start: None,
        })
    }

    /// Serves `authorization_url` once, as a redirect from a fresh `/start/<random>` address.
    pub fn start_page(&mut self, authorization_url: &Url) -> SignInAddress {
        let random = oauth2::CsrfToken::new_random();
        let path = format!("/start/{}", random.secret());
        let local = Url::parse(&format!("http://127.0.0.1:{}{path}", self.port)).expect("a valid URL");
        self.start = Some(Arc::new(StartPage {
            path: Secret::new(path),
            target: authorization_url.clone(),
            hits: AtomicU32::new(0),
        }));
        SignInAddress {
            local,
            full: authorization_url.clone(),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn redirect_uri(&self) -> Url {
        Url::parse(&format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)).expect("a valid URL")
    }

    /// The next connection from a process of this user. Another user's are dropped as soon as
    /// they are taken from the queue, before anything is read and before they count against the
    /// cap, one after another without going back to the other work of the loop: so that she can
    /// neither serve herself the start page nor keep the queue full ahead of the browser. Each
    /// costs one question to the kernel (see `peer`).
    async fn accept_own(&self, others_dropped: &AtomicBool) -> std::io::Result<tokio::net::TcpStream> {
        loop {
            let (stream, peer) = self.listener.accept().await?;
            if peer::is_own_user(peer, self.local) {
                return Ok(stream);
            }
            drop(stream);
            others_dropped.store(true, Ordering::Relaxed);
        }
    }

    /// Serves until the callback carrying `state` arrives or `timeout` passes.
    #[cfg(test)]
    pub async fn wait(self, provider: &str, state: &str, timeout: Duration) -> Result<Callback> {
        let serving = Serving::Callback { state, pasted: None };
        self.serve(provider, serving, timeout).await
    }

    /// Serves as `serving` says until the sign-in ends or `timeout` passes. A pasted address is
    /// for a browser that cannot reach this machine (over SSH, in a container): the address it
    /// ends on holds the same callback. Whichever valid callback comes first wins; a pasted
    /// address is judged like a request (path, state), and a refused one does not end the wait.
    pub async fn serve(self, provider: &str, serving: Serving<'_>, timeout: Duration) -> Result<Callback> {
        let (state, mut pasted) = match serving {
            Serving::Callback { state, pasted } => (Some(state), pasted),
            Serving::StartPageOnly => (None, None),
        };
        let (tx, mut rx) = mpsc::channel::<Event>(16);
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut rejected: Vec<String> = Vec::new();
        let mut guard = AcceptGuard::default();
        let others_dropped = AtomicBool::new(false);
        let mut warned = false;
        loop {
            if others_dropped.load(Ordering::Relaxed) && !warned {
                tracing::warn!("dropped a connection from another user of this computer");
                rejected.push("a connection from another user of this computer".into());
                warned = true;
            }
            tokio::select! {
                accepted = self.accept_own(&others_dropped) => {
                    let stream = match accepted {
                        Ok(stream) => stream,
                        Err(e) => {
                            guard.pause_after(&e).await;
                            continue;
                        }
                    };
                    let Some(permit) = guard.admit() else { continue };
                    let ctx = Ctx {
                        tx: tx.clone(),
                        state: state.map(str::to_string),
                        port: self.port,
                        provider: provider.to_string(),
                        start: self.start.clone(),
                    };
                    tokio::spawn(async move {
                        let _permit = permit;
                        ctx.serve(stream).await
                    });
                }
                line = next_paste(&mut pasted) => match line {
                    None => pasted = None,
                    Some(line) => match judge_pasted(&line, state.unwrap_or_default(), provider) {
                        Event::Done(result) => return result,
                        Event::Rejected(why) => {
                            tracing::warn!(reason = %why, "ignored a pasted address");
                            if rejected.len() < 8 { rejected.push(why) }
                        }
                    },
                },
                Some(event) = rx.recv() => match event {
                    Event::Done(result) => return result,
                    Event::Rejected(why) => {
                        tracing::warn!(reason = %why, "ignored a request on the callback listener");
                        if rejected.len() < 8 { rejected.push(why) }
                    }
                },
                // Only the callback's wait has a deadline here; a start page alone is served for as
                // long as whatever waits beside it.
                _ = &mut deadline, if state.is_some() => {
                    if others_dropped.load(Ordering::Relaxed) && !warned {
                        rejected.push("a connection from another user of this computer".into());
                    }
                    return Err(if rejected.is_empty() {
                        Error::Timeout(timeout.as_secs())
                    } else {
                        Error::Authorization(format!(
                            "no valid callback arrived within {} s; rejected: {}",
                            timeout.as_secs(),
                            rejected.join("; ")
                        ))
                    });
                }
            }
        }
    }
}

/// A request (or pasted line) that is not our callback. Its description quotes what was sent,
/// which anyone on this machine may choose: control characters are written out before it reaches
/// a log or the person's terminal.
fn rejected(why: impl AsRef<str>) -> Event {
    Event::Rejected(crate::text::escape_controls(why.as_ref()).into_owned())
}

/// The next pasted line, or never when there is nothing (left) to read.
async fn next_paste(pasted: &mut Option<mpsc::Receiver<String>>) -> Option<String> {
    match pasted {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A pasted redirect address, judged like the request the browser could not deliver.
fn judge_pasted(line: &str, state: &str, provider: &str) -> Event {
    let line = line.trim();
    let Ok(url) = Url::parse(line) else {
        return rejected("a pasted line that is not an address");
    };
    if url.scheme() != "http" || url.host_str() != Some("127.0.0.1") || url.path() != CALLBACK_PATH {
        return rejected(format!(
            "a pasted address that is not Keyport's callback (http://127.0.0.1:<port>{CALLBACK_PATH})"
        ));
    }
    let params = match crate::redirect::callback::params(url.query().unwrap_or("")) {
        Ok(p) => p,
        Err(why) => return rejected(why),
    };
    if let Err(why) = crate::redirect::callback::check_state(&params, state) {
        return rejected(format!("pasted: {why}"));
    }
    Event::Done(crate::redirect::callback::outcome(&params, provider))
}

struct Ctx {
    tx: mpsc::Sender<Event>,
    /// The state a callback must carry; `None` when callbacks do not come here at all.
    state: Option<String>,
    port: u16,
    provider: String,
    start: Option<Arc<StartPage>>,
}

impl Ctx {
    async fn serve(self, mut stream: TcpStream) {
        let head = match tokio::time::timeout(READ_DEADLINE, read_head(&mut stream)).await {
            Ok(Ok(head)) => head,
            Ok(Err(why)) => {
                let _ = respond(&mut stream, &Reply::page(400, "Bad request", why.clone())).await;
                let _ = self.tx.send(rejected(why)).await;
                return;
            }
            // Idle or trickling connection (e.g. a browser's speculative pre-connect): drop it.
            Err(_) => return,
        };
        let (reply, event) = self.judge(&head);
        let _ = respond(&mut stream, &reply).await;
        if let Some(event) = event {
            let _ = self.tx.send(event).await;
        }
    }

    /// The answer to a request head, and what it means for the sign-in (nothing, for the first
    /// request of the start page).
    fn judge(&self, head: &str) -> (Reply, Option<Event>) {
        let reject = |status, why: String| {
            (
                Reply::page(status, "Keyport could not use this request", why.clone()),
                Some(rejected(why)),
            )
        };
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or("");
        let mut parts = request_line.split(' ');
        let (Some(method), Some(target), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return reject(400, "a malformed request line".into());
        };
        if !version.starts_with("HTTP/1.") {
            return reject(400, "not an HTTP/1 request".into());
        }
        if method != "GET" {
            return reject(405, format!("method {method} on the callback"));
        }
        let host = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.trim().to_string());
        let expected_host = format!("127.0.0.1:{}", self.port);
        if host.as_deref() != Some(expected_host.as_str()) {
            // A browser reaching us through another name (DNS rebinding) carries that name here.
            return reject(400, format!("a request for host {:?}", host.unwrap_or_default()));
        }
        if target
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ' || b >= 0x80)
        {
            // The URL parser would silently drop tabs and line breaks: refuse them instead.
            return reject(400, "a request target with control characters".into());
        }
        if !target.starts_with('/') || target.contains('#') {
            // Absolute-form targets could name another host; browsers never send fragments.
            return reject(400, "a request target that is not a plain path".into());
        }
        // Split by hand rather than through a URL parser: URL parsing is lenient on purpose
        // (backslashes become slashes, "//" starts a host), and we want the exact path.
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if let Some(start) = self.start.as_deref().filter(|s| s.path.expose() == path) {
            if start.hits.fetch_add(1, Ordering::SeqCst) == 0 {
                return (Reply::redirect(&start.target), None);
            }
            tracing::warn!("the sign-in's start page was requested twice; ending the sign-in");
            let message = "This sign-in address was already used. Keyport ended the sign-in to be safe; start it again.";
            return (
                Reply::page(410, "Sign-in ended", message),
                Some(Event::Done(Err(Error::Authorization(OPENED_TWICE.into())))),
            );
        }
        if path != CALLBACK_PATH {
            return reject(
                404,
                format!("a request for {}", path.chars().take(100).collect::<String>()),
            );
        }
        let Some(state) = self.state.as_deref() else {
            return reject(
                404,
                "a callback for a sign-in that returns through keyport://".into(),
            );
        };
        let params = match crate::redirect::callback::params(query) {
            Ok(p) => p,
            Err(why) => return reject(400, why),
        };
        if let Err(why) = crate::redirect::callback::check_state(&params, state) {
            return reject(400, why.into());
        }
        let callback = match crate::redirect::callback::outcome(&params, &self.provider) {
            Ok(callback) => callback,
            Err(e) => {
                let message = match &e {
                    Error::Provider(p) => format!("{} said: {}", self.provider, p.reason),
                    _ => "The provider sent no authorization code.".into(),
                };
                return (
                    Reply::page(400, "Sign-in was not completed", message),
                    Some(Event::Done(Err(e))),
                );
            }
        };
        let message = format!(
            "Keyport is connected to {}. You can close this tab.",
            self.provider
        );
        (
            Reply::page(200, "You are signed in", message),
            Some(Event::Done(Ok(callback))),
        )
    }
}

/// The status the listener answers a request head with. Public for the fuzzer, which checks that
/// no input makes the parser panic.
#[doc(hidden)]
pub fn judge_for_fuzzing(head: &str, port: u16, state: &str) -> u16 {
    let (tx, _rx) = mpsc::channel(1);
    let ctx = Ctx {
        tx,
        state: Some(state.to_string()),
        port,
        provider: "fuzz".to_string(),
        start: None,
    };
    ctx.judge(head).0.status
}

/// Reads up to the blank line that ends the request head, within [`MAX_REQUEST_BYTES`].
async fn read_head(stream: &mut TcpStream) -> std::result::Result<String, String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("a read error ({e})"))?;
        if n == 0 {
            return Err("a connection closed before a full request".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            if end > MAX_REQUEST_BYTES {
                return Err(format!("a request over {MAX_REQUEST_BYTES} bytes"));
            }
            buf.truncate(end);
            return String::from_utf8(buf).map_err(|_| "a request that is not text".into());
        }
        if buf.len() > MAX_REQUEST_BYTES {
            return Err(format!("a request over {MAX_REQUEST_BYTES} bytes"));
        }
    }
}

#[cfg(test)]
mod tests;

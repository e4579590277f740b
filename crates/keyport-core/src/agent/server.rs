//! The agent's server: the socket, the in-memory cache, and the background refresher.
//!
//! Only processes of the same user may ask: the socket is mode 0600 inside a 0700 directory, and
//! the peer's uid is checked on every connection.
//!
//! Besides its own socket the agent listens on forwarding sockets, one per `keyport ssh`
//! connection (and one per host set up with `keyport ssh-config`), made on request next to its
//! own: a connection there is another machine's request, by construction.

use super::asking::{Consent, DEFAULT_CONSENT_TIMEOUT};
use super::caller::Caller;
use super::sweep_backoff::SweepBackoff;
use crate::agent_link::protocol::{Answer, ConnectAsk, DeviceCode, ForwardAsk, GitAsk, Incoming, Request};
use crate::error::{Error, Result};
use crate::model::tokens::{now, TokenSet};
use crate::model::{AccountId, AccountSummary, TokenUse};
use crate::ops::{Keyport, DEFAULT_MIN_TTL_SECS};
use crate::process::Program;
use crate::secret::Secret;
use crate::serving::AcceptGuard;
use crate::store::accounts::{self, Account, Lifecycle};
use crate::store::audit::Use;
use crate::store::lock::FileLock;
use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::unix::{ReadHalf, WriteHalf};
use tokio::net::{UnixListener, UnixStream};

/// The longest request line the agent reads.
const MAX_REQUEST_BYTES: u64 = 4096;
/// How long a client may take to send its request and read the answer: a refresh, and the user's
/// answer to a consent question, included.
const READ_DEADLINE: Duration = Duration::from_secs(45 + DEFAULT_CONSENT_TIMEOUT.as_secs());
/// How often the agent looks for tokens to refresh ahead of their expiry.
const REFRESH_SWEEP: Duration = Duration::from_secs(30);
/// How many forwarding sockets may be open at once.
const MAX_FORWARDS: usize = 64;

/// Which socket a connection came through: that, and nothing the peer is or says, decides
/// whether its request is another machine's.
#[derive(Clone)]
enum Origin {
    /// The agent's own socket: a program of this desktop.
    Local,
    /// A forwarding socket, made for this SSH destination.
    Forwarded(Arc<str>),
}

/// Tokens held in memory, each with the account's metadata as it was when cached: any change to
/// the account (refresh, revoke, rename, reconnect by another process) invalidates it.
#[derive(Default)]
struct Cache {
    accounts: Vec<Account>,
    /// Identifies the account file's version: it is replaced by rename, so every write brings a
    /// new inode.
    accounts_stamp: Option<(u64, SystemTime, u64)>,
    tokens: HashMap<AccountId, (Account, TokenSet)>,
}

pub struct Agent {
    keyport: Arc<Keyport>,
    cache: Mutex<Cache>,
    /// Serializes the slow path (keychain read, refresh): the per-account file lock underneath
    /// blocks a thread, which must not happen to every runtime worker at once.
    slow_path: tokio::sync::Mutex<()>,
    uid: u32,
    /// Asks the user before a program it has not seen gets a token (the app's agent only).
    consent: Option<Consent>,
    /// The forwarding sockets open now, by path; the standing ones by destination too.
    forwards: Mutex<Forwards>,
    /// Connections open, and when the last one ended: whether the agent is idle.
    activity: Activity,
}

struct Activity {
    open: AtomicUsize,
    last: Mutex<std::time::Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            open: AtomicUsize::new(0),
            last: Mutex::new(std::time::Instant::now()),
        }
    }
}

impl Activity {
    /// How long since a connection last began or ended (or the agent started).
    fn since(&self) -> Duration {
        self.last.lock().expect("activity lock").elapsed()
    }

    fn touch(&self) {
        *self.last.lock().expect("activity lock") = std::time::Instant::now();
    }
}

/// One open connection, counted from the moment it is accepted (before its task first runs: the
/// agent must not find itself idle, or replaced, with a connection accepted and not yet served).
struct Busy(Arc<Agent>);

impl Busy {
    fn new(agent: Arc<Agent>) -> Self {
        agent.activity.open.fetch_add(1, Ordering::SeqCst);
        agent.activity.touch();
        Busy(agent)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.activity.touch();
        self.0.activity.open.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Default)]
struct Forwards {
    open: usize,
    standing: HashMap<String, ForwardSocket>,
}

impl Agent {
    pub fn new(keyport: Arc<Keyport>) -> Arc<Self> {
        Self::build(keyport, None)
    }

    /// An agent that asks the user, through `consent`, before serving a program it has not seen.
    pub fn with_consent(keyport: Arc<Keyport>, consent: Consent) -> Arc<Self> {
        Self::build(keyport, Some(consent))
    }

    fn build(keyport: Arc<Keyport>, consent: Option<Consent>) -> Arc<Self> {
        Arc::new(Self {
            keyport,
            cache: Mutex::default(),
            slow_path: tokio::sync::Mutex::new(()),
            // SAFETY: geteuid has no preconditions and cannot fail.
            uid: unsafe { libc::geteuid() },
            consent,
            forwards: Mutex::default(),
            activity: Activity::default(),
        })
    }

    /// Binds the socket (replacing a stale one) and serves until the task is dropped. Fails if
    /// another agent that asks already answers there; one that does not ask (`keyport agent`,
    /// started by hand or by systemd) steps aside for the app's (see `take_over`).
    pub async fn serve(self: Arc<Self>) -> Result<()> {
        self.serve_until_idle(None).await
    }

    /// Like [`Agent::serve`], on the socket systemd passed when there is one (socket activation,
    /// see `activation`), and leaving after `idle_exit` without a connection or a refresh under
    /// way: `None` is [`super::DEFAULT_IDLE_EXIT`] for an activated agent (systemd starts it again at the
    /// next connection, which waits in the socket meanwhile) and never for one started by hand;
    /// zero is never.
    pub async fn serve_until_idle(self: Arc<Self>, idle_exit: Option<Duration>) -> Result<()> {
        // Tokens are about to be kept in this process's memory, for as long as it runs.
        crate::process_guard::forbid_memory_reads();
        let path = self.keyport.home().agent_socket();
        let passed = super::activation::passed_listener(&path)?;
        let idle_exit = match (idle_exit, &passed) {
            (Some(d), _) if d.is_zero() => None,
            (Some(d), _) => Some(d),
            (None, Some(_)) => Some(super::DEFAULT_IDLE_EXIT),
            (None, None) => None,
        };
        // An agent that asks says so for as long as it serves: the CLI then hands out no token
        // but through it, even when it cannot reach this socket (another XDG_RUNTIME_DIR).
        let _asking = match &self.consent {
            Some(_) => Some(
                FileLock::try_exclusive(&self.keyport.home().asking_agent_lock())?
                    .ok_or_else(|| Error::AgentRunning(path.clone()))?,
            ),
            None => None,
        };
        let listener = match passed {
            Some(listener) => {
                listener
                    .set_nonblocking(true)
                    .map_err(|e| Error::io("listen on", &path, e))?;
                UnixListener::from_std(listener).map_err(|e| Error::io("listen on", &path, e))?
            }
            None => match bind(&path) {
                Err(Error::AgentRunning(_)) if self.consent.is_some() => take_over(&path)?,
                other => other?,
            },
        };
        // Which file is ours: once another agent's replaces it (the app taking over), this one
        // finishes what it serves and leaves.
        let ours = std::fs::metadata(&path).map(|m| m.ino()).ok();
        if let (Some(_), Some(inode)) = (&self.consent, ours) {
            super::activation::served_by_the_app(&path, inode);
        }
        tracing::info!(socket = %path.display(), activated = ours.is_some() && idle_exit.is_some(), "token agent listening");
        let sweeper = tokio::spawn(self.clone().sweep());
        let _sweeper = AbortOnDrop(sweeper);
        for host in crate::store::ssh_forwards::hosts(self.keyport.home()) {
            if let Err(e) = self.open_forward(ForwardAsk {
                destination: host.clone(),
                standing: true,
            }) {
                tracing::warn!(host = %crate::text::escape_controls(&host), error = %e, "could not open a standing forward");
            }
        }
        let waiting = Waiting(std::os::fd::AsRawFd::as_raw_fd(&listener));
        tokio::select! {
            () = accept(Arc::downgrade(&self), listener, Origin::Local) => {}
            () = self.until_replaced(&path, ours, waiting) => {
                tracing::info!(socket = %path.display(), "another agent serves the socket now; leaving");
            }
            () = self.until_idle(idle_exit, waiting) => {
                tracing::info!(idle_s = idle_exit.unwrap_or_default().as_secs(), "idle; leaving until the next request");
            }
        }
        Ok(())
    }

    /// Returns once nothing happened for `idle` (never without one): no connection open, none
    /// for that long, no forwarding socket (another machine may come back to it), no refresh
    /// under way, and none waiting to be accepted (one would otherwise start the next agent only
    /// to be served by it, or, on a socket no systemd holds, be lost).
    async fn until_idle(&self, idle: Option<Duration>, waiting: Waiting) {
        let Some(idle) = idle else {
            return std::future::pending().await;
        };
        let tick = (idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
        loop {
            tokio::time::sleep(tick).await;
            let quiet = self.activity.open.load(Ordering::SeqCst) == 0
                && self.activity.since() >= idle
                && self.forwards.lock().expect("forwards lock").open == 0
                && self.slow_path.try_lock().is_ok()
                && !waiting.any();
            if quiet {
                return;
            }
        }
    }

    /// Returns once the socket file at `path` is no longer `ours`, no connection is open and none
    /// is waiting: a program that connected just before the rename is in this socket's queue, not
    /// the new one's, and must be answered here (the app taking over loses no request).
    async fn until_replaced(&self, path: &Path, ours: Option<u64>, waiting: Waiting) {
        let Some(ours) = ours else {
            return std::future::pending().await;
        };
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = std::fs::metadata(path).map(|m| m.ino()).ok();
            if now != Some(ours) && self.activity.open.load(Ordering::SeqCst) == 0 && !waiting.any() {
                return;
            }
        }
    }

    /// Makes a forwarding socket for `ask.destination` and serves it. A standing one is kept by
    /// the agent until it stops (asked again, the same one is named); another lasts as long as
    /// what is returned.
    fn open_forward(self: &Arc<Self>, ask: ForwardAsk) -> Result<Forward> {
        let home = self.keyport.home();
        let mut forwards = self.forwards.lock().expect("forwards lock");
        if let Some(kept) = forwards.standing.get(&ask.destination).filter(|_| ask.standing) {
            return Ok(Forward::Standing(kept.path.clone()));
        }
        if forwards.open >= MAX_FORWARDS {
            return Err(Error::Unsupported(format!(
                "the agent already serves {MAX_FORWARDS} forwarding sockets; end some SSH connections"
            )));
        }
        let path = if ask.standing {
            home.standing_forward_socket(&ask.destination)
        } else {
            let own = home.agent_socket();
            let dir = own.parent().expect("the socket lives in a directory");
            dir.join(format!(
                "forward-{}.sock",
                crate::agent_link::address::random_tag()?
            ))
        };
        let listener = bind(&path)?;
        forwards.open += 1;
        tracing::info!(socket = %path.display(), destination = %crate::text::escape_controls(&ask.destination), "forwarding socket open");
        let origin = Origin::Forwarded(ask.destination.as_str().into());
        let socket = ForwardSocket {
            path: path.clone(),
            _task: AbortOnDrop(tokio::spawn(accept(Arc::downgrade(self), listener, origin))),
            agent: Arc::downgrade(self),
        };
        Ok(if ask.standing {
            forwards.standing.insert(ask.destination, socket);
            Forward::Standing(path)
        } else {
            Forward::Held(socket)
        })
    }

    async fn connection(self: Arc<Self>, mut stream: UnixStream, origin: Origin, _busy: Busy) {
        let Ok(cred) = stream.peer_cred() else { return };
        if cred.uid() != self.uid {
            tracing::warn!(uid = cred.uid(), "refused a token request from another user");
            return;
        }
        let pid = cred.pid().and_then(|p| u32::try_from(p).ok());
        // Who asks is read now, before the request: what it does afterwards cannot change it.
        let caller = match &origin {
            Origin::Local => Caller::at_accept(pid),
            Origin::Forwarded(destination) => Caller::forwarded(destination),
        };
        // Borrowed halves: an owned write half shuts the socket down when dropped, a system call
        // on every answer that closing it makes needless (clients read one line). One reader for
        // the whole connection, so that nothing a held connection sends is lost between lines.
        let (read, mut write) = stream.split();
        let mut reader = tokio::io::BufReader::new(read);
        let first = self.clone().exchange(&mut reader, &mut write, &caller, pid);
        match tokio::time::timeout(READ_DEADLINE, first).await {
            // A per-connection forwarding socket lasts while the connection that asked for it does.
            Ok(After::Forward(forward)) => {
                let mut rest = [0u8; 64];
                while matches!(tokio::io::AsyncReadExt::read(&mut reader, &mut rest).await, Ok(n) if n > 0) {}
                drop(forward);
            }
            Ok(After::Hold) => self.serve_held(&mut reader, &mut write, &caller).await,
            Ok(After::Close) | Err(_) => {}
        }
    }

    /// A held connection's token requests, one line after another, for as long as it stays open:
    /// each judged as the caller pinned at accept. A line may be long in coming (a process holds
    /// its connection between tokens, as `keyport ssh` holds its own); its answer has the deadline
    /// any request has.
    async fn serve_held(&self, reader: &mut Reader<'_>, write: &mut WriteHalf<'_>, caller: &Caller) {
        while let Some(line) = read_request(reader).await {
            let answer = match Incoming::parse(&line) {
                Some(Incoming::Token(request)) if caller.over_ssh().is_none() && request.claim.is_some() => {
                    claim_on_own_socket()
                }
                Some(Incoming::Token(request)) => {
                    match tokio::time::timeout(READ_DEADLINE, self.answer(request, caller)).await {
                        Ok(answer) => answer,
                        Err(_) => return,
                    }
                }
                _ => Answer::from(&Error::Usage(
                    "a held connection to the agent carries token requests only".into(),
                )),
            };
            if !send_answer(write, &answer).await {
                return;
            }
        }
    }

    /// Reads one request and writes its answer; what the connection is for afterwards.
    async fn exchange(
        self: Arc<Self>,
        reader: &mut Reader<'_>,
        write: &mut WriteHalf<'_>,
        caller: &Caller,
        pid: Option<u32>,
    ) -> After {
        let Some(line) = read_request(reader).await else {
            return After::Close;
        };
        let incoming = Incoming::parse(&line);
        let mut after = After::Close;
        let answer = match incoming {
            // Only a forwarding socket carries another machine's word about who asks there.
            Some(incoming) if caller.over_ssh().is_none() && incoming.claims() => claim_on_own_socket(),
            Some(Incoming::Forward(_)) if caller.over_ssh().is_some() => Answer::from(&Error::Unsupported(
                "a machine reached over SSH cannot forward the agent further".into(),
            )),
            Some(Incoming::Forward(ask)) => match self.open_forward(ask) {
                Ok(Forward::Standing(socket)) => Answer::Forwarding { socket },
                Ok(Forward::Held(socket)) => {
                    let answer = Answer::Forwarding {
                        socket: socket.path.clone(),
                    };
                    after = After::Forward(socket);
                    answer
                }
                Err(e) => Answer::from(&e),
            },
            Some(Incoming::Token(request)) => self.answer(request, caller).await,
            // A code from another machine could make the person approve someone else's sign-in.
            Some(Incoming::DeviceCode(_)) if caller.over_ssh().is_some() => Answer::from(
                &Error::Unsupported("device codes from machines reached over SSH are not shown".into()),
            ),
            Some(Incoming::DeviceCode(code)) => self.show_device_code(code, pid),
            Some(Incoming::List(_)) => self.list_for(caller),
            Some(Incoming::Git(ask)) => self.answer_git(ask, caller).await,
            Some(Incoming::Connect(ask)) => match self.connect_for(ask, caller).await {
                Ok(account) => Answer::Connected {
                    account: Box::new(account),
                },
                Err(e) => Answer::from(&e),
            },
            Some(Incoming::Hold(_)) => {
                after = After::Hold;
                Answer::Held
            }
            None => Answer::from(&Error::Usage("the agent could not read the request".into())),
        };
        if !send_answer(write, &answer).await {
            return After::Close;
        }
        after
    }

    async fn answer(&self, request: Request, caller: &Caller) -> Answer {
        match self.consented_token(&request, caller).await {
            Ok((account, tokens, usage)) => match account.issue_from(tokens, request.token_use) {
                Ok(issued) => {
                    self.keyport.audit().record(&usage);
                    Answer::Token(issued)
                }
                Err(e) => Answer::from(&e),
            },
            Err(e) => Answer::from(&e),
        }
    }

    /// git's question from a machine reached over SSH: the account is chosen here, by the host
    /// (and the account the remote named), then handed out as any token request would be.
    async fn answer_git(&self, ask: GitAsk, caller: &Caller) -> Answer {
        let request = crate::ops::GitRequest {
            protocol: ask.protocol,
            host: ask.host,
        };
        let chosen = self.keyport.git_account(&request, ask.account.as_deref(), None);
        // Over SSH, an account that is not allowed there is not named, nor its candidates.
        let chosen = match (caller.over_ssh(), chosen) {
            (Some(_), Ok(Some(account))) if !account.over_ssh => Ok(None),
            (Some(_), Err(_)) => Ok(None),
            (_, chosen) => chosen,
        };
        match chosen {
            Ok(Some(account)) => {
                let request = Request {
                    account: account.id.into(),
                    min_ttl: ask.min_ttl,
                    token_use: TokenUse::Access,
                    claim: Some(ask.claim),
                    rejected: None,
                };
                self.answer(request, caller).await
            }
            Ok(None) => Answer::from(&Error::NoSuchAccount(format!(
                "an account for git at {}",
                crate::text::escape_controls(&request.host)
            ))),
            Err(e) => Answer::from(&e),
        }
    }

    /// A sign-in asked for from a machine reached over SSH, run here once the person at the desktop
    /// agreed: the browser opens here, or the window shows the device code. The new account may
    /// then be used over SSH (that is what the person agreed to). Only the app's agent asks;
    /// `keyport agent` has no window and says where to sign in instead.
    async fn connect_for(&self, ask: ConnectAsk, caller: &Caller) -> Result<AccountSummary<'static>> {
        let Some(destination) = caller.over_ssh() else {
            return Err(Error::Unsupported(
                "the agent starts sign-ins only for machines reached over SSH; run `keyport connect` here"
                    .into(),
            ));
        };
        // The sign-in is the one the person is asked about: the provider as this desktop's catalog
        // declares it. Variables could send the browser (and a client secret) to a host of the
        // other machine's choosing; a nickname could make it update another account.
        if !ask.variables.is_empty() || ask.nickname.is_some() || ask.scopes.is_some() {
            return Err(Error::Unsupported(
                "over SSH, a sign-in takes the provider as the desktop declares it: connect with variables, \
                 other scopes or a nickname on the desktop"
                    .into(),
            ));
        }
        let provider = self.keyport.catalog()?.get(&ask.provider)?.clone();
        if !provider.variables.is_empty() {
            return Err(Error::Unsupported(format!(
                "{} asks for values (its variables): connect it on the desktop",
                provider.display_name
            )));
        }
        let Some(consent) = &self.consent else {
            return Err(Error::Unsupported(format!(
                "the agent on the desktop has no window to ask in: sign in there (`keyport connect {}`), then \
                 allow the account over SSH (`keyport forwarding ACCOUNT on`)",
                provider.id
            )));
        };
        // A sign-in: no account yet.
        let usage = caller.usage(&AccountId::default(), Some(&ask.claim));
        consent.check_sign_in(&usage, &provider.display_name).await?;
        // The catalog's scopes and no variables or nickname: the remote's were refused above.
        let opts = crate::ops::ConnectOptions {
            timeout: Duration::from_secs(ask.timeout.clamp(10, 900)),
            ..Default::default()
        };
        let program = usage.program.clone().unwrap_or_default();
        let account = if ask.device {
            let asker = consent.asker();
            let show = |prompt: &crate::ops::DevicePrompt| {
                asker.show_device_code(DeviceCode {
                    provider: provider.id.to_string(),
                    provider_name: provider.display_name.clone(),
                    user_code: prompt.user_code.clone(),
                    verification_uri: prompt.verification_uri.to_string(),
                    expires_in: prompt.expires_in.as_secs(),
                    program: Some(format!("{program} on {destination} (over SSH)")),
                })
            };
            self.keyport
                .connect_device(provider.id.as_str(), opts, show)
                .await?
        } else {
            let open = |address: &crate::redirect::loopback::SignInAddress| {
                if let Err(e) = crate::redirect::browser::open(&address.local) {
                    tracing::warn!(error = %e, "could not open the browser for a sign-in asked over SSH");
                }
            };
            self.keyport
                .connect_via(
                    provider.id.as_str(),
                    opts,
                    crate::ops::RedirectMode::Loopback,
                    open,
                )
                .await?
        };
        let account = self.keyport.set_over_ssh(account.id.as_str(), true)?;
        tracing::info!(account = %account.id, destination, "connected for a machine reached over SSH");
        Ok(self.keyport.summary(&account, now())?.into_owned())
    }

    /// The accounts the caller may ask for, as `keyport list --json` shows them: over SSH, only
    /// those allowed there. Metadata only.
    fn list_for(&self, caller: &Caller) -> Answer {
        let listed = self.keyport.with_summaries(now(), |all| {
            all.into_iter()
                .filter(|a| caller.over_ssh().is_none() || a.over_ssh)
                .map(AccountSummary::into_owned)
                .collect()
        });
        match listed {
            Ok(accounts) => Answer::Accounts { accounts },
            Err(e) => Answer::from(&e),
        }
    }

    /// Puts a device sign-in's code in front of the user, naming the program that started it by
    /// its executable (not by anything it claims).
    fn show_device_code(&self, mut code: DeviceCode, pid: Option<u32>) -> Answer {
        let Some(consent) = &self.consent else {
            return Answer::from(&Error::Unsupported("this agent has no window".into()));
        };
        let from = Program::agent_peer(pid);
        code.program = from.exe.or(from.name);
        consent.asker().show_device_code(code);
        Answer::Shown
    }

    /// The token, once the calling program may have it (see [`Consent`]).
    async fn consented_token(&self, request: &Request, caller: &Caller) -> Result<(Account, TokenSet, Use)> {
        let claim = request.claim.as_ref();
        // Another machine gets the token of an account the user allowed there, and no other.
        let mut consented: Option<AccountId> = None;
        let mut reference = match caller.over_ssh() {
            Some(destination) => self.find_over_ssh(&request.account, destination)?.id.into(),
            None => request.account.clone(),
        };
        if let Some(consent) = &self.consent {
            let account = self.find(&reference)?;
            // Asked only when a token could follow: an account that needs reconnecting gets
            // its real answer, with no question before it.
            self.keyport.usable(&account)?;
            consent.check(&caller.usage(&account.id, claim), &account).await?;
            // What is handed out is the account asked about, whatever the names mean by now.
            consented = Some(account.id.clone());
            reference = account.id.into();
        }
        let (account, tokens) = self
            .token_for(
                &reference,
                request.min_ttl,
                request.token_use,
                request.rejected.as_ref(),
            )
            .await?;
        // Its id, looked up again, could have become another account's name meanwhile (the
        // account removed during the question): only the account asked about goes out.
        if consented.is_some_and(|id| id != account.id) {
            return Err(Error::NoSuchAccount(
                crate::text::escape_controls(&reference).into_owned(),
            ));
        }
        let usage = caller.usage(&account.id, claim);
        // The program judged is the one accepted: if it (or the program it ran for) became
        // another since, by execve during the question or after, nothing goes out.
        if !caller.unchanged() {
            tracing::warn!(program = ?usage.program, "the caller ran another program while it asked; refused");
            return Err(Error::CallerChanged {
                program: crate::text::escape_controls(usage.program.as_deref().unwrap_or("the program"))
                    .into_owned(),
                account: account.label(),
            });
        }
        Ok((account, tokens, usage))
    }

    /// [`Self::token_instead_of`], with an ID token good for `min_ttl` too when `token_use` asks
    /// for one.
    async fn token_for(
        &self,
        reference: &str,
        min_ttl: u64,
        token_use: TokenUse,
        rejected: Option<&Secret>,
    ) -> Result<(Account, TokenSet)> {
        let (account, tokens) = self.token_instead_of(reference, min_ttl, rejected).await?;
        if token_use.is_access() || !tokens.id_token_needs_refresh(min_ttl, now()) {
            return Ok((account, tokens));
        }
        let _gate = self.slow_path.lock().await;
        let fetched = self
            .keyport
            .token_set_for(account.id.as_str(), min_ttl, token_use)
            .await?;
        Ok(self.keep(fetched))
    }

    /// From memory when the cached token is still good enough, else through the core (keychain,
    /// refresh under the account lock).
    pub async fn token_set_from_memory(&self, reference: &str, min_ttl: u64) -> Result<(Account, TokenSet)> {
        self.token_instead_of(reference, min_ttl, None).await
    }

    /// [`Self::token_set_from_memory`], but never `rejected` (a token the caller's server refused): that one is
    /// replaced by a refresh, once, however many callers were refused it together.
    async fn token_instead_of(
        &self,
        reference: &str,
        min_ttl: u64,
        rejected: Option<&Secret>,
    ) -> Result<(Account, TokenSet)> {
        let cached = || -> Result<Option<(Account, TokenSet)>> {
            Ok(self
                .cached(reference, min_ttl)?
                .filter(|(_, tokens)| rejected.is_none_or(|r| *r != tokens.access_token)))
        };
        if let Some(hit) = cached()? {
            return Ok(hit);
        }
        let _gate = self.slow_path.lock().await;
        // Whoever held the gate before us may have done the work.
        if let Some(hit) = cached()? {
            return Ok(hit);
        }
        let account = self.find(reference)?;
        let fetched = self
            .keyport
            .token_set_instead_of(account.id.as_str(), min_ttl, rejected)
            .await?;
        Ok(self.keep(fetched))
    }

    /// Keeps a token set the core handed out (read from the keychain or refreshed) in memory,
    /// where the next request finds it.
    fn keep(&self, (account, tokens): (Account, TokenSet)) -> (Account, TokenSet) {
        let mut cache = self.cache.lock().expect("cache lock");
        cache
            .tokens
            .insert(account.id.clone(), (account.clone(), tokens.clone()));
        (account, tokens)
    }

    fn cached(&self, reference: &str, min_ttl: u64) -> Result<Option<(Account, TokenSet)>> {
        let account = self.find(reference)?;
        let cache = self.cache.lock().expect("cache lock");
        Ok(match cache.tokens.get(&account.id) {
            Some((seen, tokens)) if *seen == account && !tokens.needs_refresh(min_ttl, now()) => {
                Some((account, tokens.clone()))
            }
            _ => None,
        })
    }

    /// Resolves `reference` against the account file, re-read only when it changed on disk.
    fn find(&self, reference: &str) -> Result<Account> {
        self.with_accounts(|all| accounts::resolve(all, reference).cloned())?
    }

    /// Resolves `reference` among the accounts allowed over SSH only: a machine reached over SSH
    /// learns nothing of the others, not even whether a name exists.
    fn find_over_ssh(&self, reference: &str, destination: &str) -> Result<Account> {
        self.with_accounts(|all| {
            let allowed: Vec<Account> = all.iter().filter(|a| a.over_ssh).cloned().collect();
            match accounts::resolve(&allowed, reference) {
                Ok(account) => Ok(account.clone()),
                Err(Error::NoSuchAccount(_)) => Err(Error::NotForwarded {
                    reference: crate::text::escape_controls(reference).into_owned(),
                    destination: destination.to_string(),
                }),
                Err(e) => Err(e),
            }
        })?
    }

    /// `f` of the accounts, the account file read again only when it changed on disk.
    fn with_accounts<T>(&self, f: impl FnOnce(&[Account]) -> T) -> Result<T> {
        let path = self.keyport.home().accounts_file();
        let stamp = std::fs::metadata(&path)
            .ok()
            .map(|m| (m.ino(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.accounts_stamp != stamp || stamp.is_none() {
            cache.accounts = self.keyport.accounts()?;
            cache.accounts_stamp = stamp;
            let live: Vec<AccountId> = cache.accounts.iter().map(|a| a.id.clone()).collect();
            cache.tokens.retain(|id, _| live.contains(id));
        }
        Ok(f(&cache.accounts))
    }

    /// Refreshes every account shortly before its token would expire, so callers rarely wait.
    async fn sweep(self: Arc<Self>) {
        let mut tick = tokio::time::interval(REFRESH_SWEEP);
        let mut backoff = SweepBackoff::new(REFRESH_SWEEP.as_secs());
        loop {
            tick.tick().await;
            let ids: Vec<AccountId> = match self.keyport.accounts() {
                Ok(all) => all
                    .iter()
                    .filter(|a| a.has_refresh_token && a.lifecycle == Lifecycle::Active)
                    .map(|a| a.id.clone())
                    .collect(),
                Err(_) => continue,
            };
            backoff.keep_only(&ids);
            for id in ids {
                let began = now();
                if !backoff.due(&id, began) {
                    continue;
                }
                // Ask for a margin of two sweeps, so the token is fresh before anyone needs it.
                let margin = DEFAULT_MIN_TTL_SECS + 2 * REFRESH_SWEEP.as_secs();
                match self.token_set_from_memory(id.as_str(), margin).await {
                    Ok(_) => backoff.succeeded(&id),
                    Err(e) => {
                        let pause = backoff.failed(&id, began);
                        tracing::warn!(account = %id, error = %e, next_try_in_s = pause, "background refresh failed");
                    }
                }
            }
        }
    }
}

type Reader<'a> = tokio::io::BufReader<ReadHalf<'a>>;

/// The answer to another machine's word about who asks, arriving on this desktop's own socket.
fn claim_on_own_socket() -> Answer {
    Answer::from(&Error::Unsupported(
        "a request that says it comes from another machine arrived on this desktop's own agent socket; \
         forward the agent with `keyport ssh` (or unset KEYPORT_AGENT where it names this socket)"
            .into(),
    ))
}

/// What a connection is for once its first request is answered.
enum After {
    Close,
    /// It asked for a forwarding socket, which lasts while it stays open.
    Forward(ForwardSocket),
    /// It is held: token requests follow.
    Hold,
}

/// The next request line, at most [`MAX_REQUEST_BYTES`]; `None` at the end of the connection or
/// on bytes that are not text.
async fn read_request(reader: &mut Reader<'_>) -> Option<String> {
    let mut line = String::new();
    let read = tokio::io::AsyncReadExt::take(&mut *reader, MAX_REQUEST_BYTES)
        .read_line(&mut line)
        .await;
    matches!(read, Ok(n) if n > 0).then_some(line)
}

/// Writes `answer` as one line; `false` when the client is gone. The line, which may hold a
/// token, is wiped once written.
async fn send_answer(write: &mut WriteHalf<'_>, answer: &Answer) -> bool {
    let mut out = zeroize::Zeroizing::new(serde_json::to_vec(answer).expect("answers serialize"));
    out.push(b'\n');
    write.write_all(&out).await.is_ok()
}

/// Binds `path` with owner-only permissions, replacing a socket nobody answers on.
fn bind(path: &Path) -> Result<UnixListener> {
    let dir = path.parent().expect("the socket lives in a directory");
    crate::files::private::create_dir(dir)?;
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(Error::AgentRunning(path.to_path_buf()));
        }
        std::fs::remove_file(path).map_err(|e| Error::io("remove the stale socket", path, e))?;
    }
    let listener = UnixListener::bind(path).map_err(|e| Error::io("listen on", path, e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io("restrict", path, e))?;
    Ok(listener)
}

/// The app's agent takes the socket from one that does not ask: its own socket is bound beside
/// it, then renamed over it, so that the path always has a listener and no request finds none
/// in between (connections already made are served by the other, which then leaves).
fn take_over(path: &Path) -> Result<UnixListener> {
    let beside = path.with_extension(format!("taking-over-{}", std::process::id()));
    let _ = std::fs::remove_file(&beside);
    let listener = bind(&beside)?;
    std::fs::rename(&beside, path).map_err(|e| Error::io("take over", path, e))?;
    tracing::info!(socket = %path.display(), "took the socket over from an agent that does not ask");
    Ok(listener)
}

/// Serves the connections of one socket while the agent lives. A client never stops the agent:
/// accept errors pause the loop, and the number of connections served at once is capped.
async fn accept(agent: std::sync::Weak<Agent>, listener: UnixListener, origin: Origin) {
    let mut guard = AcceptGuard::default();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let Some(permit) = guard.admit() else { continue };
                let Some(agent) = agent.upgrade() else { return };
                let origin = origin.clone();
                let busy = Busy::new(agent.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    agent.connection(stream, origin, busy).await;
                });
            }
            Err(e) => guard.pause_after(&e).await,
        }
    }
}

enum Forward {
    /// A standing forwarding socket, kept by the agent.
    Standing(std::path::PathBuf),
    /// One that lasts while this is held.
    Held(ForwardSocket),
}

/// A forwarding socket being served: dropped, its listener stops and its file goes.
struct ForwardSocket {
    path: std::path::PathBuf,
    _task: AbortOnDrop,
    agent: std::sync::Weak<Agent>,
}

impl Drop for ForwardSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(agent) = self.agent.upgrade() {
            let mut forwards = agent.forwards.lock().unwrap_or_else(|e| e.into_inner());
            forwards.open = forwards.open.saturating_sub(1);
        }
    }
}

/// The agent's listening socket, asked whether a connection waits in its queue (not accepted yet).
/// Valid while `serve_until_idle` runs: the listener it names lives as long.
#[derive(Clone, Copy)]
struct Waiting(std::os::fd::RawFd);

impl Waiting {
    fn any(self) -> bool {
        let mut poll = libc::pollfd {
            fd: self.0,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, a zero timeout; the descriptor is the listener still open.
        unsafe { libc::poll(&raw mut poll, 1, 0) > 0 && poll.revents & libc::POLLIN != 0 }
    }
}

/// Stops the background refresher when the agent stops serving.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

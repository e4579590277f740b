//! Consent: while the desktop app runs, the first time a program asks the agent for an account's
//! token, the user is asked "Allow <program> to use <account>?" (Allow once, Always, Deny) and the
//! program waits, for a bounded time. Answers are kept per executable and account
//! ([`ConsentBook`]). A request from a terminal session is asked about once for that session:
//! "Always" there allows whatever runs in it until it ends (the person's own `keyport token` at
//! the prompt, `git push`, a script started there), and nothing is kept beyond it.
//!
//! This guards against surprises, not against a hostile program of the same user, which could
//! read the keychain or edit the book directly (docs/SECURITY.md says so).

pub use crate::agent_link::DEFAULT_CONSENT_TIMEOUT;
use crate::error::{Error, Refusal, Result};
use crate::model::AccountId;
use crate::store::accounts::Account;
use crate::store::audit::Use;
use crate::store::consent_book::ConsentBook;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// What the window asks.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Question {
    pub id: u64,
    /// The program's name (its executable's file name when it has one).
    pub program: String,
    /// The path of its executable: what the answer is remembered for.
    pub exe: String,
    pub account: String,
    /// The account in words (`provider:nickname`; "the MCP server <its name>" for one), never
    /// an id made of a host and port.
    pub account_label: String,
    /// The SSH destination the request came through; then `program` is only what the machine
    /// there says, and the window says so.
    pub over_ssh: Option<String>,
    /// The shells and launchers the program asked through ("sh"): the question names both,
    /// "git, through sh".
    pub through: Option<String>,
    /// Whether "Always" and "Deny" are kept: not for a shell interpreter (whatever runs `sh -c`
    /// would then have the account), nor for a program that cannot be identified.
    pub remembered: bool,
    /// Set when the question is whether to sign in to this provider (its name) for a program on
    /// another machine, rather than to hand out a token; "Always" then means once.
    pub connect: Option<String>,
    /// The terminal session the program runs in ("pts/3, opened by xterm"): "Always" then allows
    /// everything run in that session until it ends, and nothing is remembered beyond it.
    pub terminal: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Once,
    Always,
    Deny,
    /// Denied this time, not kept: what Enter and Escape answer, so that a stray key press is
    /// never permanent.
    DenyOnce,
}

/// The user's side of the agent (the app's window): puts a question to the user and sends the
/// reply when there is one; shows device sign-in codes that `keyport connect --device` sends.
pub trait Asker: Send + Sync {
    fn ask(&self, question: Question, reply: oneshot::Sender<Reply>);
    fn show_device_code(&self, code: crate::agent_link::protocol::DeviceCode);
}

/// Programs that ask together for the same account wait on one question.
type Waiters = HashMap<(String, AccountId), Vec<oneshot::Sender<Reply>>>;

pub struct Consent {
    book: Arc<ConsentBook>,
    asker: Arc<dyn Asker>,
    timeout: Duration,
    next_id: AtomicU64,
    waiting: Mutex<Waiters>,
    /// The terminal sessions the person allowed, while they last.
    terminals: Mutex<Vec<AllowedTerminal>>,
}

/// A terminal session allowed by the person: its leader pinned, so that the allowance ends with
/// the session, and a session id used again later by another process is not taken for it.
struct AllowedTerminal {
    tty: i64,
    session: u32,
    leader: crate::process::Pin,
}

impl Consent {
    pub fn new(book: Arc<ConsentBook>, asker: Arc<dyn Asker>, timeout: Duration) -> Self {
        Self {
            book,
            asker,
            timeout,
            next_id: AtomicU64::new(1),
            waiting: Mutex::default(),
            terminals: Mutex::default(),
        }
    }

    pub(crate) fn asker(&self) -> &dyn Asker {
        self.asker.as_ref()
    }

    /// `Ok` when `usage`'s program may have `account`'s token, asking the user if needed.
    pub(crate) async fn check(&self, usage: &Use, account: &Account) -> Result<()> {
        if !self.book.asks() {
            return Ok(());
        }
        // A request from another machine runs in none of this machine's terminals.
        let terminal = usage.terminal.as_ref().filter(|_| usage.over_ssh.is_none());
        if terminal.is_some_and(|t| self.allowed_in(t)) {
            return Ok(());
        }
        // A program whose executable cannot be read is asked about every time, under its name;
        // so is a shell interpreter: an answer kept for it would be every script's; and so is a
        // program in another root (a container): its path may name another file there.
        let program = usage
            .program
            .clone()
            .unwrap_or_else(|| "An unknown program".into());
        let asked = Asked {
            program: &program,
            through: usage.through.as_deref(),
            over_ssh: usage.over_ssh.as_deref(),
            terminal,
        };
        let exe = usage
            .exe
            .clone()
            .filter(|e| usage.over_ssh.is_some() || !crate::process::is_shell(std::path::Path::new(e)));
        let Some(exe) = exe else {
            return self.ask(asked, "", false, account).await;
        };
        if usage.in_another_root && usage.over_ssh.is_none() {
            // Shown (it is what that program runs, in its root), never looked up or kept.
            return self.ask(asked, &exe, false, account).await;
        }
        match self.book.lookup(&exe, &account.id) {
            Some(true) => Ok(()),
            Some(false) => Err(refused(&program, account, Refusal::Denied)),
            // Asked from a terminal, the answer is for the terminal session, not kept.
            None => self.ask(asked, &exe, terminal.is_none(), account).await,
        }
    }

    /// Whether the person allowed terminal session `t`, and it still runs.
    fn allowed_in(&self, t: &crate::process::Terminal) -> bool {
        let mut allowed = self.terminals.lock().unwrap_or_else(|e| e.into_inner());
        allowed.retain(|a| a.leader.unchanged());
        allowed.iter().any(|a| a.tty == t.tty && a.session == t.session)
    }

    fn allow_in(&self, t: &crate::process::Terminal) {
        let leader = crate::process::Pin::new(&mut crate::process::Snapshot::default(), t.session, false);
        let mut allowed = self.terminals.lock().unwrap_or_else(|e| e.into_inner());
        allowed.push(AllowedTerminal {
            tty: t.tty,
            session: t.session,
            leader,
        });
        tracing::info!(terminal = ?t.described, "the person allowed a terminal session");
    }

    /// Asks about `asked` running `exe` (shown), keeping an "Always" or a "Deny" for `exe` when
    /// `keep` says an answer may stand for it.
    async fn ask(&self, asked: Asked<'_>, exe: &str, keep: bool, account: &Account) -> Result<()> {
        let Asked {
            program,
            through,
            over_ssh,
            terminal,
        } = asked;
        // Requests from one terminal session wait on one question; another session is asked
        // its own.
        let key = match terminal {
            Some(t) => (
                format!("{exe}\0terminal {}:{}", t.tty, t.session),
                account.id.clone(),
            ),
            None => (exe.to_string(), account.id.clone()),
        };
        let (tx, rx) = oneshot::channel();
        let first = {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            let waiters = waiting.entry(key.clone()).or_default();
            waiters.push(tx);
            // A question whose answer stands for nothing beyond itself (a shell, an unknown
            // program) is asked per request; one for a terminal session stands for the session.
            waiters.len() == 1 || (!keep && terminal.is_none())
        };
        if first {
            let (reply_tx, reply_rx) = oneshot::channel();
            let question = Question {
                id: self.next_id.fetch_add(1, Ordering::Relaxed),
                program: program.to_string(),
                exe: exe.to_string(),
                account: account.id.to_string(),
                account_label: account.spoken(),
                over_ssh: over_ssh.map(str::to_string),
                through: through.map(str::to_string),
                remembered: keep,
                connect: None,
                terminal: terminal.map(|t| t.described.clone()),
            };
            tracing::info!(program, exe, account = %account.id, "asking the user before handing out a token");
            self.asker.ask(question, reply_tx);
            let reply = tokio::time::timeout(self.timeout, reply_rx).await;
            let reply = match reply {
                Ok(Ok(reply)) => Some(reply),
                // No answer in time, or the window went away: nobody said yes.
                _ => None,
            };
            match (reply, terminal) {
                (Some(Reply::Always), Some(t)) => self.allow_in(t),
                (Some(Reply::Always), None) if keep => self.remember(exe, account, true),
                (Some(Reply::Deny), None) if keep => self.remember(exe, account, false),
                _ => {}
            }
            let waiters = {
                let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
                waiting.remove(&key).unwrap_or_default()
            };
            for w in waiters {
                // A dropped sender below reads as "timed out".
                if let Some(reply) = reply {
                    let _ = w.send(reply);
                }
            }
        }
        match tokio::time::timeout(self.timeout + Duration::from_secs(1), rx).await {
            Ok(Ok(Reply::Once | Reply::Always)) => Ok(()),
            // A denial that is not kept says so: the person is not told to go and forget it.
            Ok(Ok(Reply::Deny)) if keep => Err(refused(program, account, Refusal::Denied)),
            Ok(Ok(Reply::Deny)) => Err(refused(program, account, Refusal::DeniedOnce)),
            Ok(Ok(Reply::DenyOnce)) => Err(refused(program, account, Refusal::DeniedOnce)),
            _ => Err(refused(program, account, Refusal::NoAnswer)),
        }
    }

    /// `Ok` when the person agrees to sign in to `provider_name` for `usage`'s program on the
    /// machine it names (asked every time: a sign-in is never remembered as allowed).
    pub(crate) async fn check_sign_in(&self, usage: &Use, provider_name: &str) -> Result<()> {
        let program = usage.program.clone().unwrap_or_else(|| "A program".into());
        let (reply_tx, reply_rx) = oneshot::channel();
        let question = Question {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            program: program.clone(),
            exe: String::new(),
            account: String::new(),
            account_label: provider_name.to_string(),
            over_ssh: usage.over_ssh.clone(),
            through: None,
            remembered: false,
            connect: Some(provider_name.to_string()),
            terminal: None,
        };
        tracing::info!(
            program,
            provider = provider_name,
            "asking the user before a sign-in for another machine"
        );
        self.asker.ask(question, reply_tx);
        let refused = |why| Error::Refused {
            program: crate::text::escape_controls(&program).into_owned(),
            account: format!("a new {provider_name} account"),
            why,
        };
        // A sign-in is never remembered: any denial is for this time.
        match tokio::time::timeout(self.timeout, reply_rx).await {
            Ok(Ok(Reply::Once | Reply::Always)) => Ok(()),
            Ok(Ok(Reply::Deny | Reply::DenyOnce)) => Err(refused(Refusal::DeniedOnce)),
            _ => Err(refused(Refusal::NoAnswer)),
        }
    }

    fn remember(&self, exe: &str, account: &Account, allow: bool) {
        if exe.is_empty() {
            return;
        }
        if let Err(e) = self.book.remember(exe, &account.id, allow) {
            tracing::warn!(error = %e, "could not remember the answer");
        }
    }
}

fn refused(program: &str, account: &Account, why: Refusal) -> Error {
    Error::Refused {
        program: crate::text::escape_controls(program).into_owned(),
        account: account.spoken(),
        why,
    }
}

/// Who a question is about.
#[derive(Clone, Copy)]
struct Asked<'a> {
    program: &'a str,
    through: Option<&'a str>,
    over_ssh: Option<&'a str>,
    terminal: Option<&'a crate::process::Terminal>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(exe: Option<&str>, pid: Option<u32>) -> Use {
        Use {
            at: 0,
            account: AccountId::new("a"),
            program: exe.map(|e| e.rsplit('/').next().unwrap().to_string()),
            exe: exe.map(str::to_string),
            parent_exe: None,
            pid,
            via: "agent".into(),
            over_ssh: None,
            through: None,
            terminal: None,
            in_another_root: false,
        }
    }

    /// Answers every question "Always", and keeps them.
    #[derive(Default)]
    struct AlwaysAsker(Mutex<Vec<Question>>);

    impl Asker for AlwaysAsker {
        fn ask(&self, question: Question, reply: oneshot::Sender<Reply>) {
            self.0.lock().unwrap().push(question);
            let _ = reply.send(Reply::Always);
        }
        fn show_device_code(&self, _code: crate::agent_link::protocol::DeviceCode) {}
    }

    #[tokio::test]
    async fn an_answer_is_kept_for_the_program_behind_a_shell_never_for_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let book = Arc::new(ConsentBook::open(dir.path(), || false).unwrap());
        let asker = Arc::new(AlwaysAsker::default());
        let consent = Consent::new(book, asker.clone(), Duration::from_secs(5));
        let account = crate::store::accounts::tests::account("demo-1", "demo", "ada");

        // `sh -c 'keyport token …'` with nothing behind it: asked, "Always" not kept.
        let shell = usage(Some("/usr/bin/dash"), None);
        consent.check(&shell, &account).await.unwrap();
        consent.check(&shell, &account).await.unwrap();
        // git, through sh: asked once, named with what it came through, kept.
        let git = Use {
            through: Some("sh".into()),
            ..usage(Some("/usr/bin/git"), None)
        };
        consent.check(&git, &account).await.unwrap();
        consent.check(&git, &account).await.unwrap();

        let asked = asker.0.lock().unwrap();
        let shown: Vec<(&str, Option<&str>, bool)> = asked
            .iter()
            .map(|q| (q.program.as_str(), q.through.as_deref(), q.remembered))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("dash", None, false),
                ("dash", None, false),
                ("git", Some("sh"), true)
            ]
        );
    }

    #[tokio::test]
    async fn a_terminal_session_allowed_once_asks_no_more_until_it_ends_and_nothing_is_kept() {
        use crate::process::Terminal;
        let dir = tempfile::tempdir().unwrap();
        let book = Arc::new(ConsentBook::open(dir.path(), || false).unwrap());
        let asker = Arc::new(AlwaysAsker::default());
        let consent = Consent::new(book.clone(), asker.clone(), Duration::from_secs(5));
        let account = crate::store::accounts::tests::account("demo-1", "demo", "ada");
        let other = crate::store::accounts::tests::account("demo-2", "demo", "bob");
        // The session's leader: a process of its own, whose pid names the session.
        let mut leader = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let here = Terminal {
            tty: 136 << 8 | 7,
            session: leader.id(),
            described: "pts/7, opened by xterm".into(),
        };
        let in_it = |exe: &str, t: &Terminal| Use {
            terminal: Some(t.clone()),
            ..usage(Some(exe), None)
        };

        // `keyport token` typed at the prompt: asked once, "Always" is for the terminal.
        consent
            .check(&in_it("/usr/bin/bash", &here), &account)
            .await
            .unwrap();
        consent
            .check(&in_it("/usr/bin/bash", &here), &account)
            .await
            .unwrap();
        // Whatever else runs there, for any account, is not asked.
        consent
            .check(&in_it("/usr/bin/git", &here), &other)
            .await
            .unwrap();
        // Another terminal session is asked its own question.
        let elsewhere = Terminal {
            tty: 136 << 8 | 8,
            session: std::process::id(),
            described: "pts/8, opened by script".into(),
        };
        consent
            .check(&in_it("/usr/bin/bash", &elsewhere), &account)
            .await
            .unwrap();
        // A request from another machine is in none of this machine's terminals.
        let remote = Use {
            over_ssh: Some("devbox".into()),
            ..in_it("ssh:devbox:bash", &here)
        };
        consent.check(&remote, &account).await.unwrap();
        // The session ends: the same terminal and session id are asked about again.
        let _ = leader.kill();
        let _ = leader.wait();
        consent
            .check(&in_it("/usr/bin/bash", &here), &account)
            .await
            .unwrap();

        let asked = asker.0.lock().unwrap();
        let shown: Vec<(&str, Option<&str>, bool)> = asked
            .iter()
            .map(|q| (q.program.as_str(), q.terminal.as_deref(), q.remembered))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("bash", Some("pts/7, opened by xterm"), false),
                ("bash", Some("pts/8, opened by script"), false),
                ("ssh:devbox:bash", None, true),
                ("bash", Some("pts/7, opened by xterm"), false),
            ]
        );
        // Nothing was kept for the programs that ran in the terminal.
        assert_eq!(book.lookup("/usr/bin/git", &other.id), None);
        assert_eq!(book.lookup("/usr/bin/bash", &account.id), None);
    }

    /// Holds each question until the test answers it.
    #[derive(Default)]
    struct HeldAsker(Mutex<Vec<(Question, oneshot::Sender<Reply>)>>);

    impl Asker for HeldAsker {
        fn ask(&self, question: Question, reply: oneshot::Sender<Reply>) {
            self.0.lock().unwrap().push((question, reply));
        }
        fn show_device_code(&self, _code: crate::agent_link::protocol::DeviceCode) {}
    }

    #[tokio::test]
    async fn requests_from_one_terminal_session_wait_on_one_question() {
        let dir = tempfile::tempdir().unwrap();
        let book = Arc::new(ConsentBook::open(dir.path(), || false).unwrap());
        let asker = Arc::new(HeldAsker::default());
        let consent = Consent::new(book, asker.clone(), Duration::from_secs(5));
        let account = crate::store::accounts::tests::account("demo-1", "demo", "ada");
        let here = crate::process::Terminal {
            tty: 136 << 8 | 9,
            session: std::process::id(),
            described: "pts/9, opened by xterm".into(),
        };
        // Two commands of one shell line (`keyport token a; … &`), asking at once.
        let typed = Use {
            terminal: Some(here),
            ..usage(Some("/usr/bin/bash"), None)
        };
        let answer = async {
            while asker.0.lock().unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // Time for the second request to find the question open.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let asked: Vec<_> = asker.0.lock().unwrap().drain(..).collect();
            let count = asked.len();
            for (_, reply) in asked {
                let _ = reply.send(Reply::Always);
            }
            count
        };
        let (first, second, asked) = tokio::join!(
            consent.check(&typed, &account),
            consent.check(&typed, &account),
            answer
        );
        first.unwrap();
        second.unwrap();
        assert_eq!(asked, 1, "one question for the terminal session");
    }

    #[tokio::test]
    async fn a_program_in_another_root_is_asked_every_time_whatever_its_path_was_answered() {
        let dir = tempfile::tempdir().unwrap();
        let book = Arc::new(ConsentBook::open(dir.path(), || false).unwrap());
        let asker = Arc::new(AlwaysAsker::default());
        let consent = Consent::new(book, asker.clone(), Duration::from_secs(5));
        let account = crate::store::accounts::tests::account("demo-1", "demo", "ada");
        // "Always" for this machine's python3, kept.
        consent
            .check(&usage(Some("/usr/bin/python3"), None), &account)
            .await
            .unwrap();
        // A container's /usr/bin/python3 is a file of its own root: asked, and nothing kept.
        let inside = Use {
            in_another_root: true,
            ..usage(Some("/usr/bin/python3"), None)
        };
        consent.check(&inside, &account).await.unwrap();
        consent.check(&inside, &account).await.unwrap();
        // This machine's python3 still has its answer.
        consent
            .check(&usage(Some("/usr/bin/python3"), None), &account)
            .await
            .unwrap();
        let remembered: Vec<bool> = asker.0.lock().unwrap().iter().map(|q| q.remembered).collect();
        assert_eq!(remembered, vec![true, false, false]);
    }
}

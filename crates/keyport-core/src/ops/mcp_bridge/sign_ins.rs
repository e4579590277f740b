//! The bridge's tokens and sign-ins: the session's token (a `Secret`, in a process that hid itself
//! first: `ops::held_agent`), held until a minute before it expires;
//! a step-up for more scopes; a sign-in again when the grant ended; the session opened again when
//! the new sign-in's token belongs to a new registration. (The first sign-in is the core's, in
//! `mcp_setup`, shared with `keyport connect`.) Each sign-in the bridge opens on its own counts
//! against the server's few per period (`store/unasked_sign_ins.rs`), first one included.

use super::{Session, SignInReason};
use crate::error::{Error, Result};
use crate::model::strip_query;
use crate::ops::sign_in::{ConnectOptions, RedirectMode};
use crate::ops::Keyport;

impl Keyport {
    /// The token for the session's next request: the one held, while it has more than a minute
    /// left, else a fresh one from [`Keyport::token`].
    pub(super) async fn session_token(&self, session: &Session) -> Result<crate::secret::Secret> {
        let now = crate::model::now();
        if let Some((token, expires_at)) = session.token.lock().expect("session lock").as_ref() {
            if expires_at.is_none_or(|at| at > now + 60) {
                return Ok(token.clone());
            }
        }
        // One fetch at a time: requests that need a token together take the one fetched while
        // they waited (a token living under a minute is never "held", and concurrent refreshes in
        // one process would wait on each other's file lock on the runtime's one thread).
        let seen = session.fetched.load(std::sync::atomic::Ordering::SeqCst);
        let _one = session.fetching.lock().await;
        if session.fetched.load(std::sync::atomic::Ordering::SeqCst) != seen {
            let now = crate::model::now();
            if let Some((token, expires_at)) = session.token.lock().expect("session lock").as_ref() {
                if expires_at.is_none_or(|at| at > now) {
                    return Ok(token.clone());
                }
            }
        }
        let account = session
            .account()
            .ok_or_else(|| Error::Usage("no account is connected to this MCP server yet".into()))?;
        // The bridge lives as long as its client: it holds tokens as the agent does.
        self.hide_before_holding_tokens().await;
        let issued = self.token(account.as_str(), 60).await?;
        *session.token.lock().expect("session lock") = Some((issued.token.clone(), issued.expires_at));
        session.fetched.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(issued.token)
    }

    /// A sign-in for `wanted` scopes (space-separated) together with those already granted, unless
    /// another request's step-up already got them.
    pub(super) async fn step_up(&self, session: &Session, wanted: &str) -> Result<()> {
        let _one = session.stepping_up.lock().await;
        let account = self.session_account(session)?;
        let mut scopes = account.scopes.clone();
        let missing: Vec<String> = wanted
            .split_whitespace()
            .filter(|s| !scopes.iter().any(|have| have == s))
            .map(str::to_string)
            .collect();
        if missing.is_empty() && !wanted.trim().is_empty() {
            return Ok(()); // another request's sign-in got them meanwhile
        }
        scopes.extend(missing);
        tracing::info!(account = %account.id, scopes = %crate::text::escape_controls(&scopes.join(" ")), "the MCP server asks for more scopes: signing in again");
        self.sign_in(session, &account, scopes, SignInReason::MoreAccess)
            .await
    }

    /// The session's account, as stored now.
    fn session_account(&self, session: &Session) -> Result<crate::store::accounts::Account> {
        let id = session
            .account()
            .ok_or_else(|| Error::Usage("no account is connected to this MCP server yet".into()))?;
        self.find(id.as_str())
    }

    /// A new sign-in with the scopes already granted, for a grant that ended, unless another
    /// request's sign-in already brought the account back.
    pub(super) async fn sign_in_again(&self, session: &Session) -> Result<()> {
        let _one = session.stepping_up.lock().await;
        let account = self.session_account(session)?;
        if self.usable(&account).is_ok() {
            return Ok(());
        }
        tracing::info!(account = %account.id, "the MCP server's grant ended: signing in again");
        let scopes = account.scopes.clone();
        self.sign_in(session, &account, scopes, SignInReason::GrantEnded)
            .await
    }

    /// A sign-in of the session's account for `scopes` and those its catalog entry asks for, shown
    /// as the adapter shows sign-ins; the token held is then stale. The entry's count because a
    /// server need not say it granted them: oidc-provider grants `offline_access` and leaves it
    /// out of the token response's `scope`, and a sign-in without it gets no refresh token.
    pub(super) async fn sign_in(
        &self,
        session: &Session,
        account: &crate::store::accounts::Account,
        mut scopes: Vec<String>,
        reason: SignInReason,
    ) -> Result<()> {
        if let Ok(entry) = self.catalog().and_then(|c| c.get(account.provider.as_str())) {
            crate::ops::add_scopes(&mut scopes, &entry.scopes);
        }
        // The person's browser, that is: a machine's grant opens none.
        if account.connection.quirks.grant == crate::model::GrantKind::AuthorizationCode {
            self.unasked_sign_in(&session.url)?;
        }
        let opts = ConnectOptions {
            scopes: Some(scopes),
            nickname: Some(account.nickname.clone()),
            ..ConnectOptions::default()
        };
        // A sign-in's grant passes through this process.
        self.hide_before_holding_tokens().await;
        let present = session.present.clone();
        let name = account.nickname.clone();
        self.connect_via(
            account.provider.as_str(),
            opts,
            RedirectMode::Loopback,
            move |address| present(address, reason, &name),
        )
        .await?;
        session.sign_ins.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        session.forget_token();
        Ok(())
    }

    /// Counts a sign-in the bridge is about to open for the server at `url` without the person
    /// asking; refused once the server had its few in the period (a server decides when it asks,
    /// and one that asks for a new scope at every request would never stop).
    pub(in crate::ops) fn unasked_sign_in(&self, url: &url::Url) -> Result<()> {
        use crate::store::unasked_sign_ins::{MAX_PER_PERIOD, PERIOD_SECS};
        let server = strip_query(url);
        let now = crate::model::now();
        match self.unasked_sign_ins.take(&server, now)? {
            Ok(()) => Ok(()),
            Err(capped) => {
                tracing::warn!(%server, count = capped.count, "no more sign-ins for this MCP server for now");
                Err(Error::TooManySignIns {
                    server,
                    count: capped.count.max(MAX_PER_PERIOD),
                    period_minutes: PERIOD_SECS / 60,
                    wait_minutes: capped.until.saturating_sub(now).div_ceil(60).max(1),
                })
            }
        }
    }

    /// Opens a new session for the client: its `initialize` again, then `initialized`.
    pub(super) async fn reopen(&self, session: &Session) -> std::result::Result<(), super::request::Failure> {
        let initialize = session.initialize.lock().expect("session lock").clone();
        let Some(initialize) = initialize else {
            return Err(super::request::Failure::Refused {
                server: strip_query(&session.url).to_string(),
                status: 404,
            });
        };
        *session.id.lock().expect("session lock") = None;
        for line in [
            initialize.as_str(),
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        ] {
            let build = |http: &reqwest::Client| {
                session.in_session(
                    http.post(session.post_url())
                        .header("accept", "application/json, text/event-stream")
                        .header("content-type", "application/json")
                        .body(line.to_string()),
                )
            };
            let response = self.send_authorized(session, &build).await?;
            if !response.status().is_success() {
                return Err(super::request::Failure::Refused {
                    server: strip_query(&session.url).to_string(),
                    status: response.status().as_u16(),
                });
            }
            session.remember_id(&response);
            // The answer to the replayed initialize was the client's already: read and drop it.
            let _ = response.bytes().await;
        }
        tracing::info!(server = %strip_query(&session.url), "opened the MCP session again after a new sign-in");
        Ok(())
    }
}

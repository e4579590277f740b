//! The bridge's tokens and sign-ins: the session's token, held until a minute before it expires;
//! a step-up for more scopes; a sign-in again when the grant ended; the session opened again when
//! the new sign-in's token belongs to a new registration.

use super::Session;
use crate::error::Result;
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
        let issued = self.token(&session.account, 60).await?;
        *session.token.lock().expect("session lock") = Some((issued.token.clone(), issued.expires_at));
        Ok(issued.token)
    }

    /// A sign-in for `wanted` scopes (space-separated) together with those already granted, unless
    /// another request's step-up already got them.
    pub(super) async fn step_up(&self, session: &Session, wanted: &str) -> Result<()> {
        let _one = session.stepping_up.lock().await;
        let account = self.find(&session.account)?;
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
        self.sign_in(session, &account, scopes).await
    }

    /// A new sign-in with the scopes already granted, for a grant that ended, unless another
    /// request's sign-in already brought the account back.
    pub(super) async fn sign_in_again(&self, session: &Session) -> Result<()> {
        let _one = session.stepping_up.lock().await;
        let account = self.find(&session.account)?;
        if self.usable(&account).is_ok() {
            return Ok(());
        }
        tracing::info!(account = %account.id, "the MCP server's grant ended: signing in again");
        let scopes = account.scopes.clone();
        self.sign_in(session, &account, scopes).await
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
    ) -> Result<()> {
        if let Ok(entry) = self.catalog().and_then(|c| c.get(&account.provider)) {
            crate::ops::add_scopes(&mut scopes, &entry.scopes);
        }
        let opts = ConnectOptions {
            scopes: Some(scopes),
            nickname: Some(account.nickname.clone()),
            ..ConnectOptions::default()
        };
        let present = session.present.clone();
        self.connect_via(&account.provider, opts, RedirectMode::Loopback, move |address| {
            present(address)
        })
        .await?;
        session.forget_token();
        Ok(())
    }

    /// Opens a new session for the client: its `initialize` again, then `initialized`.
    pub(super) async fn reopen(&self, session: &Session) -> std::result::Result<(), String> {
        let initialize = session
            .initialize
            .lock()
            .expect("session lock")
            .clone()
            .ok_or("the server forgot a session that was never opened")?;
        *session.id.lock().expect("session lock") = None;
        let token = self
            .session_token(session)
            .await
            .map_err(|e| crate::error::describe(&e))?;
        for line in [
            initialize.as_str(),
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        ] {
            let response = session
                .post(self.http(), &token, line)
                .send()
                .await
                .map_err(|e| crate::provider::http::HttpFailure::from(e).message)?;
            if !response.status().is_success() {
                return Err(format!(
                    "reopening the session: HTTP {}",
                    response.status().as_u16()
                ));
            }
            session.remember_id(&response);
            // The answer to the replayed initialize was the client's already: read and drop it.
            let _ = response.bytes().await;
        }
        tracing::info!(server = %strip_query(&session.url), "opened the MCP session again after a new sign-in");
        Ok(())
    }
}

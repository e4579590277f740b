//! git's credential helper protocol (`git credential`): git writes `key=value` lines describing
//! the remote, Keyport answers with a user name and a fresh token for the account that fits. No
//! answer means "not mine", and git asks its next helper.
//!
//! An account fits a remote when its provider serves git over HTTPS with its tokens (the catalog's
//! `git_username`) and the account's sign-in host is the remote's host. Whatever chose it (an
//! explicit account, a rule, the only or default account for the host), a token is only ever sent
//! to its own host, and never over plain http except to a loopback host.

use super::{Keyport, TokenRoute};
use crate::agent_link::address::AgentAddress;
use crate::agent_link::protocol::{Answer, GitAsk};
use crate::error::{Error, ErrorKind, Result};
use crate::model::Issued;
use crate::secret::Secret;
use crate::store::accounts::{self, Account};
use crate::store::config::Rules;
use std::collections::BTreeMap;
use std::path::Path;
use url::Url;

/// What git asks about.
#[derive(Debug, Default, Clone)]
pub struct GitRequest {
    pub protocol: String,
    /// As git sends it, with a port when the remote has one.
    pub host: String,
}

impl GitRequest {
    /// Reads git's `key=value` lines (up to an empty line); unknown keys are ignored.
    pub fn parse(text: &str) -> GitRequest {
        let fields: BTreeMap<&str, &str> = text
            .lines()
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split_once('='))
            .collect();
        GitRequest {
            protocol: fields.get("protocol").unwrap_or(&"").to_string(),
            host: fields.get("host").unwrap_or(&"").to_string(),
        }
    }

    fn host_name(&self) -> &str {
        host_name(&self.host)
    }

    /// https, or http to a loopback host: a token never travels in the clear.
    fn may_carry_a_token(&self) -> bool {
        let loopback = matches!(self.host_name(), "127.0.0.1" | "localhost" | "[::1]");
        self.protocol == "https" || (self.protocol == "http" && loopback)
    }

    /// The remote's scheme, host and port, as a URL; `None` for what is not one.
    fn origin(&self) -> Option<Url> {
        if self.host.contains(['/', '@', '?', '#', '\\']) {
            return None;
        }
        Url::parse(&format!("{}://{}/", self.protocol, self.host))
            .ok()
            .filter(|u| u.host().is_some())
    }
}

fn host_name(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Keyport's answer to git's `get`.
pub struct GitCredential {
    pub username: String,
    pub password: Secret,
    pub expires_at: Option<u64>,
}

impl GitCredential {
    /// The answer in git's format.
    pub fn to_git(&self) -> String {
        let mut out = format!(
            "username={}\npassword={}\n",
            self.username,
            self.password.expose()
        );
        if let Some(at) = self.expires_at {
            out.push_str(&format!("password_expiry_utc={at}\n"));
        }
        out
    }
}

impl Keyport {
    /// git's `get`: the account named by `account`, else by a rule for the host or for `cwd`,
    /// else the one (or the default) account for the host; `Ok(None)` when none fits. On a
    /// machine reached over SSH, the desktop's agent chooses (by the host and `account` only:
    /// its rules know no directory here).
    pub async fn git_credential(
        &self,
        request: &GitRequest,
        account: Option<&str>,
        cwd: Option<&Path>,
        min_ttl: u64,
    ) -> Result<Option<GitCredential>> {
        if !request.may_carry_a_token() {
            tracing::info!(protocol = %request.protocol, "git credentials only go over https");
            return Ok(None);
        }
        let agent = self.agent_address();
        if self.route == TokenRoute::ThroughAgent && agent.is_remote() {
            if let Some(answer) = self.git_credential_across_ssh(&agent, request, account, min_ttl)? {
                return Ok(answer);
            }
        }
        let Some(account) = self.git_account(request, account, cwd)? else {
            return Ok(None);
        };
        let issued = self.token(account.id.as_str(), min_ttl).await?;
        Ok(Some(GitCredential::from(issued)))
    }

    /// The account that answers git for `request`, chosen as [`Keyport::git_credential`] says;
    /// `Ok(None)` when none fits.
    pub fn git_account(
        &self,
        request: &GitRequest,
        account: Option<&str>,
        cwd: Option<&Path>,
    ) -> Result<Option<Account>> {
        if !request.may_carry_a_token() {
            return Ok(None);
        }
        let all = self.accounts()?;
        let rules = Rules::load(&self.home.config_file())?;
        let named = account
            .or_else(|| rules.for_host(request.host_name()))
            .or_else(|| cwd.and_then(|cwd| rules.for_directory(cwd)));
        let chosen = match named {
            Some(reference) => Some(accounts::resolve(&all, reference)?.clone()),
            None => {
                let for_host: Vec<&Account> = all.iter().filter(|a| serves_git_at(a, request)).collect();
                match for_host.as_slice() {
                    [one] => Some((*one).clone()),
                    many => many.iter().find(|a| a.is_default).map(|a| (*a).clone()),
                }
            }
        };
        let Some(account) = chosen else {
            tracing::info!(host = %request.host, "no single account for this host; name one with --account or a rule");
            return Ok(None);
        };
        if !serves_git_at(&account, request) {
            tracing::info!(account = %account.id, host = %request.host, "the chosen account is not for this host");
            return Ok(None);
        }
        Ok(Some(account))
    }

    /// The desktop's answer; `None` when no forward leads anywhere after all.
    fn git_credential_across_ssh(
        &self,
        agent: &AgentAddress,
        request: &GitRequest,
        account: Option<&str>,
        min_ttl: u64,
    ) -> Result<Option<Option<GitCredential>>> {
        let ask = GitAsk {
            protocol: request.protocol.clone(),
            host: request.host.clone(),
            account: account.map(str::to_string),
            min_ttl,
            claim: Default::default(),
        };
        match crate::agent_link::client::ask_git(agent, ask)? {
            Some(Answer::Token(issued)) => Ok(Some(Some(GitCredential::from(issued)))),
            // The desktop has no account for this host: git asks its next helper.
            Some(Answer::Error {
                kind: ErrorKind::NotFound,
                ..
            }) => Ok(Some(None)),
            Some(Answer::Error { kind, message }) => Err(Error::AgentAnswered { kind, message }),
            None => Ok(None),
            Some(_) => Err(Error::Internal("the agent answered another request".into())),
        }
    }
}

impl From<Issued> for GitCredential {
    fn from(issued: Issued) -> Self {
        GitCredential {
            username: issued.git_username.unwrap_or_else(|| "oauth2".into()),
            password: issued.token,
            expires_at: issued.expires_at,
        }
    }
}

/// Whether `account`'s provider serves git with its tokens at the request's origin: the same
/// scheme, host and port (443 for https when none is given) as its declared `git_url`, else as
/// its sign-in. Another port of the same host may be another user's server.
fn serves_git_at(account: &Account, request: &GitRequest) -> bool {
    let connection = &account.connection;
    let git = connection
        .integration
        .git_url
        .as_ref()
        .unwrap_or_else(|| connection.authorization_url());
    connection.integration.git_username.is_some()
        && request.origin().is_some_and(|asked| same_origin(&asked, git))
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host() == b.host() && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_use_gits_format() {
        let r = GitRequest::parse("protocol=https\nhost=git.example.com:8443\npath=a/b.git\n\nignored=1\n");
        assert_eq!(
            (r.protocol.as_str(), r.host.as_str()),
            ("https", "git.example.com:8443")
        );
        assert_eq!(r.host_name(), "git.example.com");
        assert_eq!(r.origin().unwrap().as_str(), "https://git.example.com:8443/");
        let answer = GitCredential {
            username: "oauth2".into(),
            password: Secret::new("T0KEN"),
            expires_at: Some(1_700_000_000),
        };
        assert_eq!(
            answer.to_git(),
            "username=oauth2\npassword=T0KEN\npassword_expiry_utc=1700000000\n"
        );
    }

    #[test]
    fn a_token_goes_to_its_own_origin_only() {
        use crate::store::accounts::tests::account;
        use std::sync::Arc;
        let request = |protocol: &str, host: &str| GitRequest {
            protocol: protocol.into(),
            host: host.into(),
        };
        let mut a = account("x-1", "x", "n"); // signs in at https://a.example/auth
        Arc::make_mut(&mut a.connection).integration.git_username = Some("oauth2".into());
        assert!(serves_git_at(&a, &request("https", "a.example")));
        assert!(serves_git_at(&a, &request("https", "A.EXAMPLE:443")));
        for (protocol, host) in [
            ("https", "a.example:8443"),
            ("http", "a.example"),
            ("https", "b.example"),
            ("https", "a.example.evil"),
            ("https", "a.example/x@b.example"),
        ] {
            assert!(
                !serves_git_at(&a, &request(protocol, host)),
                "{protocol}://{host}"
            );
        }
        // A declared git origin replaces the sign-in's, port included.
        Arc::make_mut(&mut a.connection).integration.git_url =
            Some(Url::parse("http://127.0.0.1:9000").unwrap());
        assert!(serves_git_at(&a, &request("http", "127.0.0.1:9000")));
        assert!(!serves_git_at(&a, &request("http", "127.0.0.1:9001")));
        assert!(!serves_git_at(&a, &request("https", "a.example")));
    }
}

//! Tokens for a command's environment (`keyport exec`): one variable per account, named as the
//! catalog says (`GITHUB_TOKEN`) or as asked, and optionally a whole `Authorization` header.

use super::Keyport;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// One variable to set.
#[derive(Debug, Clone)]
pub struct EnvRequest {
    /// The account, as a reference.
    pub account: String,
    /// The variable's name; else the provider's (`env_var`), else `KEYPORT_TOKEN`.
    pub name: Option<String>,
    /// The whole header line (`Authorization: Bearer …`) instead of the bare token.
    pub header: bool,
}

impl Keyport {
    /// The variables `requests` ask for, each with a token valid for `min_ttl` seconds at least.
    /// Two variables of one name are refused: the command would see only one of them.
    pub async fn exec_env(&self, requests: &[EnvRequest], min_ttl: u64) -> Result<Vec<(String, Secret)>> {
        let mut out: Vec<(String, Secret)> = Vec::new();
        for request in requests {
            let issued = self.token(&request.account, min_ttl).await?;
            let name = request
                .name
                .clone()
                .or_else(|| issued.env_var.clone())
                .unwrap_or_else(|| "KEYPORT_TOKEN".into());
            if !valid_name(&name) {
                return Err(Error::Usage(format!(
                    "\"{name}\" is not an environment variable name"
                )));
            }
            if out.iter().any(|(n, _)| *n == name) {
                return Err(Error::Usage(format!(
                    "two tokens would go into {name}; name the variables with --env NAME=ACCOUNT"
                )));
            }
            let value = if request.header {
                Secret::new(format!("Authorization: Bearer {}", issued.token.expose()))
            } else {
                issued.token
            };
            out.push((name, value));
        }
        Ok(out)
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

//! What an authorization callback's query says, however it arrived (the loopback listener or a
//! `keyport://` deep link): the provider's error, or the code to exchange.
//!
//! Callers match `state` first; this only reads the rest, so both redirect kinds report the same
//! failures in the same words.

use crate::error::{Error, ProviderError, Result};
use crate::secret::Secret;
use std::collections::HashMap;

/// What the provider sent back, once `state` matched.
#[derive(Debug)]
pub struct Callback {
    pub code: Secret,
    pub iss: Option<String>,
}

/// The query's parameters, refusing one given twice (an attacker-appended `state` or `code` must
/// not win by position).
pub fn params(query: &str) -> std::result::Result<HashMap<String, String>, String> {
    let mut params = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if params.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(format!("a callback with parameter \"{k}\" given twice"));
        }
    }
    Ok(params)
}

/// Whether the callback belongs to the sign-in that sent `expected` as its state; why not, if not.
pub fn check_state(
    params: &HashMap<String, String>,
    expected: &str,
) -> std::result::Result<(), &'static str> {
    match params.get("state") {
        Some(s) if s == expected => Ok(()),
        Some(_) => Err("a callback whose state does not match this sign-in"),
        None => Err("a callback without state"),
    }
}

/// The outcome of a callback whose `state` matched: the code, or the provider's refusal in its
/// own words (`error_description`).
pub fn outcome(params: &HashMap<String, String>, provider: &str) -> Result<Callback> {
    if let Some(error) = params.get("error") {
        let description = params.get("error_description").cloned().unwrap_or_default();
        let reason = if description.is_empty() {
            error.clone()
        } else {
            format!("{error}: {description}")
        };
        return Err(Error::Provider(ProviderError {
            code: Some(error.clone()),
            ..ProviderError::new(provider, "authorization", reason)
        }));
    }
    let Some(code) = params.get("code").filter(|c| !c.is_empty()) else {
        return Err(Error::Authorization(
            "the provider's callback carried no authorization code".into(),
        ));
    };
    Ok(Callback {
        code: Secret::new(code.clone()),
        iss: params.get("iss").cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_providers_words_and_codes_stay_secret() {
        let p = params("state=s&error=access_denied&error_description=The+user+said+no").unwrap();
        let e = outcome(&p, "Demo").unwrap_err();
        assert!(e.to_string().contains("access_denied: The user said no"), "{e}");

        let p = params("state=s&code=abc&iss=https%3A%2F%2Fi").unwrap();
        let c = outcome(&p, "Demo").unwrap();
        assert_eq!(c.code.expose(), "abc");
        assert_eq!(c.iss.as_deref(), Some("https://i"));
        assert!(!format!("{c:?}").contains("abc"));

        assert!(outcome(&params("state=s&code=").unwrap(), "Demo").is_err());
        assert!(params("code=a&code=b").is_err());
    }
}

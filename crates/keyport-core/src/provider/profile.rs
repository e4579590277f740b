//! Who the user is at the provider: a nickname to show (email, login, …) and a stable subject to
//! recognize a reconnect of the same user. Read from the userinfo / "who am I" endpoint the catalog
//! names (a GET, or a GraphQL query POSTed to it), or, failing that, from the ID token's claims.

use crate::error::ProviderError;
use crate::provider::grant::Grant;
use crate::provider::http;
use crate::provider::json_path;
use crate::provider::remote::Remote;
use crate::secret::Secret;
use base64::Engine;
use serde_json::Value;
use url::Url;

#[derive(Debug, Default, Clone)]
pub struct Profile {
    pub nickname: Option<String>,
    pub subject: Option<String>,
}

impl Remote<'_> {
    /// Who signed in: from the userinfo endpoint, else the user object in the token response,
    /// else the ID token. A failed lookup is logged, never fatal: the account id stands in.
    pub async fn profile(&self, grant: &Grant) -> Profile {
        let quirks = &self.connection.quirks;
        let tokens = &grant.tokens;
        let mut found = Profile::default();
        if let Some(url) = &self.connection.endpoints.userinfo_url {
            let query = quirks.userinfo_query.as_deref();
            match fetch(self.http, self.name(), url, &tokens.access_token, query).await {
                Ok(answer) => {
                    let user = user_object(&answer, quirks.user_path.as_deref());
                    found = from_claims(user, &quirks.nickname_fields);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not look up the user; using the token response instead")
                }
            }
        }
        let fallbacks = grant
            .user
            .clone()
            .into_iter()
            .chain(tokens.id_token.as_ref().and_then(id_token_claims));
        for claims in fallbacks {
            if found.nickname.is_some() && found.subject.is_some() {
                break;
            }
            let more = from_claims(&claims, &quirks.nickname_fields);
            found.nickname = found.nickname.or(more.nickname);
            found.subject = found.subject.or(more.subject);
        }
        found
    }
}

/// The user as the endpoint describes them. With `graphql_query`, the query is POSTed as
/// `{"query": …}` and a GraphQL `errors` answer without `data` is a failure.
pub async fn fetch(
    client: &reqwest::Client,
    provider: &str,
    url: &Url,
    access_token: &Secret,
    graphql_query: Option<&str>,
) -> Result<Value, ProviderError> {
    let fail = |reason: String| ProviderError::new(provider, "user lookup", reason);
    let request = match graphql_query {
        Some(query) => client
            .post(url.clone())
            .json(&serde_json::json!({ "query": query })),
        None => client.get(url.clone()),
    }
    .bearer_auth(access_token.expose())
    .header(reqwest::header::ACCEPT, "application/json");
    let (status, body) = http::send(request).await.map_err(|e| fail(e.to_string()))?;
    if status != 200 {
        return Err(fail(format!("{} answered HTTP {status}", http::strip_query(url))));
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|_| fail(format!("{} did not answer with JSON", http::strip_query(url))))?;
    if graphql_query.is_some() && value.get("data").is_none_or(Value::is_null) {
        let message = value
            .pointer("/errors/0/message")
            .and_then(Value::as_str)
            .unwrap_or("no data");
        return Err(fail(format!("the GraphQL query failed: {message}")));
    }
    Ok(value)
}

/// The user object at `user_path` (the whole answer without one, or when it is not there).
pub fn user_object<'a>(answer: &'a Value, user_path: Option<&str>) -> &'a Value {
    user_path
        .and_then(|p| json_path::get(answer, p))
        .unwrap_or(answer)
}

/// Picks the nickname from the first of `fields` (dot paths into the JSON) that holds a non-empty
/// string, and the subject from `sub`, `id` or `user_id`.
pub fn from_claims(claims: &Value, fields: &[String]) -> Profile {
    let nickname = fields
        .iter()
        .filter_map(|f| json_path::get(claims, f))
        .filter_map(|v| v.as_str().map(crate::text::strip_controls))
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty());
    let subject = ["sub", "id", "user_id"]
        .iter()
        .filter_map(|f| json_path::get(claims, f))
        .find_map(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    Profile { nickname, subject }
}

/// The (unverified) claims of an ID token. Used only to label the account, never to authorize.
pub fn id_token_claims(id_token: &Secret) -> Option<Value> {
    let payload = id_token.expose().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_non_empty_field_wins() {
        let claims = json!({"email": "", "login": "octocat", "id": 583231, "team": {"name": "core"}});
        let fields = vec!["email".to_string(), "login".to_string()];
        let p = from_claims(&claims, &fields);
        assert_eq!(p.nickname.as_deref(), Some("octocat"));
        assert_eq!(p.subject.as_deref(), Some("583231"));
        let p = from_claims(&claims, &["team.name".to_string()]);
        assert_eq!(p.nickname.as_deref(), Some("core"));
    }

    #[test]
    fn user_found_below_a_path() {
        let answer = json!({"data": {"viewer": {"id": "u-9", "email": "ada@example.test"}}});
        let user = user_object(&answer, Some("data.viewer"));
        let p = from_claims(user, &["email".to_string()]);
        assert_eq!(
            (p.nickname.as_deref(), p.subject.as_deref()),
            (Some("ada@example.test"), Some("u-9"))
        );
        assert_eq!(user_object(&answer, Some("data.nope")), &answer);
    }

    #[test]
    fn reads_id_token_payload() {
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"u1","email":"a@b.c"}"#);
        let token = Secret::new(format!("eyJhbGciOiJub25lIn0.{payload}.sig"));
        let claims = id_token_claims(&token).unwrap();
        assert_eq!(claims["email"], "a@b.c");
        assert!(id_token_claims(&Secret::new("garbage")).is_none());
    }
}

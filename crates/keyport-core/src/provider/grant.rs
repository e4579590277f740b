//! What a token endpoint grants: the tokens, the scopes it says it granted, the response fields
//! the catalog keeps as metadata, and the user object some providers put in the token response.

use crate::model::tokens::{now, TokenSet};
use crate::model::Quirks;
use crate::secret::Secret;
use oauth2::basic::BasicTokenType;
use oauth2::{StandardTokenResponse, TokenResponse};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The token-response fields beyond RFC 6749's: the OpenID Connect ID token, and the rest, from
/// which the catalog's `keep_fields` are picked.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct ExtraFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<Secret>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}
impl oauth2::ExtraTokenFields for ExtraFields {}

/// The other fields may hold anything, a provider's extra secrets included: names only.
impl std::fmt::Debug for ExtraFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtraFields")
            .field("id_token", &self.id_token)
            .field("rest", &self.rest.keys().collect::<Vec<_>>())
            .finish()
    }
}

pub(crate) type TokenResp = StandardTokenResponse<ExtraFields, BasicTokenType>;

/// Whether `body` parses as a token response, the way exchanges and refreshes parse it. Public
/// for the fuzzer (with [`crate::provider::token_response::normalize`] in front, as in real use).
pub fn parses_as_token_response(body: &[u8]) -> bool {
    serde_json::from_slice::<TokenResp>(body).is_ok()
}

pub struct Grant {
    pub tokens: TokenSet,
    pub scopes: Option<Vec<String>>,
    pub kept: BTreeMap<String, String>,
    /// The user object at the catalog's `user_path` in the token response, if there is one
    /// (Notion names the user there); a fallback for the nickname when there is no userinfo.
    pub user: Option<Value>,
}

impl Grant {
    /// Reads `response` as `quirks` say. A response without a refresh token keeps
    /// `previous_refresh` (refresh answers often leave it out).
    pub(crate) fn new(response: TokenResp, quirks: &Quirks, previous_refresh: Option<&Secret>) -> Grant {
        let separator = &quirks.scope_separator;
        let obtained_at = now();
        let tokens = TokenSet {
            access_token: Secret::new(response.access_token().secret().clone()),
            refresh_token: response
                .refresh_token()
                .map(|t| Secret::new(t.secret().clone()))
                .or_else(|| previous_refresh.cloned()),
            id_token: response.extra_fields().id_token.clone(),
            expires_at: response.expires_in().map(|d| obtained_at + d.as_secs()),
            obtained_at,
        };
        let scopes = response.scopes().map(|s| {
            s.iter()
                .flat_map(|scope| {
                    scope
                        .split(|c: char| c == ',' || separator.contains(c))
                        .map(str::to_string)
                })
                .filter(|s| !s.is_empty())
                .collect()
        });
        let extras = response.extra_fields();
        let field = |path: &str| crate::provider::json_path::get_in(&extras.rest, path);
        let user = quirks
            .user_path
            .as_deref()
            .and_then(field)
            .filter(|v| v.is_object())
            .cloned();
        let kept = quirks
            .keep_fields
            .iter()
            .filter_map(|path| {
                let value = field(path)?;
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(_) | Value::Bool(_) => value.to_string(),
                    _ => return None,
                };
                Some((path.clone(), text))
            })
            .collect();
        Grant {
            tokens,
            scopes,
            kept,
            user,
        }
    }
}

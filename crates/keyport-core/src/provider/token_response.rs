//! Smoothing of token-endpoint responses that deviate from RFC 6749 §5, so that the `oauth2` crate
//! can parse what real providers send.
//!
//! Known deviations handled here: form-encoded bodies (GitHub without an `Accept` header), errors
//! sent with HTTP 200 (GitHub), `expires_in` as a string, a missing `token_type`, and tokens nested
//! in an object (Slack's `authed_user`, named by the catalog's `token_path`). Missing `expires_in`
//! needs no help: it means the token does not expire, and stays that way.

use serde_json::{Map, Value};

/// Returns the status and a JSON body equivalent to what the provider meant. With `token_path`,
/// the fields of the object found there replace those at the top (a response without it, like
/// some refresh responses, is left as it is).
pub fn normalize(status: u16, content_type: &str, body: Vec<u8>, token_path: Option<&str>) -> (u16, Vec<u8>) {
    let mut object = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return (status, body),
        Err(_) if content_type.starts_with("application/x-www-form-urlencoded") || looks_like_form(&body) => {
            form_to_object(&body)
        }
        Err(_) => return (status, body),
    };
    if let Some(Value::Object(nested)) = token_path
        .and_then(|p| crate::provider::json_path::get_in(&object, p))
        .cloned()
    {
        object.extend(nested);
    }
    let mut status = status;
    if (200..300).contains(&status) && object.get("error").is_some_and(|e| e.is_string()) {
        // An error in a success envelope: make it the error `oauth2` understands.
        status = 400;
    }
    if let Some(Value::String(s)) = object.get("expires_in") {
        if let Ok(n) = s.trim().parse::<u64>() {
            object.insert("expires_in".into(), Value::from(n));
        }
    }
    if (200..300).contains(&status)
        && object.contains_key("access_token")
        && !object.contains_key("token_type")
    {
        object.insert("token_type".into(), Value::from("bearer"));
    }
    let body = serde_json::to_vec(&Value::Object(object)).expect("a JSON object serializes");
    (status, body)
}

fn looks_like_form(body: &[u8]) -> bool {
    !body.is_empty()
        && body.contains(&b'=')
        && body
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"=&%+-._~*".contains(b))
}

fn form_to_object(body: &[u8]) -> Map<String, Value> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    #[test]
    fn form_encoded_success() {
        let (s, b) = normalize(
            200,
            "application/x-www-form-urlencoded; charset=utf-8",
            b"access_token=abc&token_type=bearer&scope=repo%2Cuser".to_vec(),
            None,
        );
        assert_eq!(s, 200);
        let v = json(&b);
        assert_eq!(v["access_token"], "abc");
        assert_eq!(v["scope"], "repo,user");
    }

    #[test]
    fn error_with_http_200_becomes_400() {
        let (s, b) = normalize(
            200,
            "application/json",
            br#"{"error":"bad_verification_code"}"#.to_vec(),
            None,
        );
        assert_eq!(s, 400);
        assert_eq!(json(&b)["error"], "bad_verification_code");
    }

    #[test]
    fn string_expires_in_and_missing_token_type() {
        let (_, b) = normalize(
            200,
            "application/json",
            br#"{"access_token":"a","expires_in":"3600"}"#.to_vec(),
            None,
        );
        let v = json(&b);
        assert_eq!(v["expires_in"], 3600);
        assert_eq!(v["token_type"], "bearer");
    }

    #[test]
    fn tokens_nested_at_a_path_are_lifted() {
        let slack = br#"{"ok":true,"access_token":"xoxb-bot","token_type":"bot","team":{"name":"Acme"},
            "authed_user":{"id":"U1","access_token":"xoxp-user","token_type":"user","refresh_token":"r"}}"#;
        let (s, b) = normalize(200, "application/json", slack.to_vec(), Some("authed_user"));
        let v = json(&b);
        assert_eq!(
            (s, &v["access_token"], &v["refresh_token"]),
            (200, &"xoxp-user".into(), &"r".into())
        );
        assert_eq!(v["team"]["name"], "Acme");
        // Not there (a refresh answer with the tokens on top): unchanged.
        let flat = br#"{"access_token":"a","token_type":"user"}"#;
        let (_, b) = normalize(200, "application/json", flat.to_vec(), Some("authed_user"));
        assert_eq!(json(&b)["access_token"], "a");
    }

    #[test]
    fn html_is_left_alone_for_the_parser_to_reject() {
        let body = b"<html>oops</html>".to_vec();
        let (s, b) = normalize(502, "text/html", body.clone(), None);
        assert_eq!((s, b), (502, body));
    }
}

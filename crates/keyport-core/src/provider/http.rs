//! The one HTTP client Keyport talks to providers with, and the adapter that lets the `oauth2` crate
//! use it.
//!
//! Redirects are never followed (a token endpoint that redirects is misconfigured or hostile, and
//! following it could leak a code or secret to another origin), bodies are capped, and every request
//! has a timeout. Plain `http` is refused for anything but loopback hosts; see [`check_endpoint`].

pub use crate::model::strip_query;
use crate::provider::token_response;
use oauth2::{HttpRequest, HttpResponse};
use std::future::Future;
use std::time::Duration;

/// The most Keyport reads of any provider response. Token and userinfo responses are a few KiB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// A failure to get a usable answer: connection refused, timeout, oversized or unreadable body,
/// a server error.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HttpFailure {
    pub message: String,
    /// Whether the request surely did not take effect and may be sent again: the connection
    /// failed, or the server answered 5xx / 429. A timeout is not: the server may have acted
    /// (with a rotating refresh token, sending it again would revoke the grant).
    pub transient: bool,
}

#[allow(non_snake_case)]
fn HttpFailure(message: String) -> HttpFailure {
    HttpFailure {
        message,
        transient: false,
    }
}

impl From<reqwest::Error> for HttpFailure {
    fn from(e: reqwest::Error) -> Self {
        // Refused before connecting: the address is the whole story (and names the host).
        if let Some(refused) = super::reach::out_of_reach(&e) {
            return HttpFailure(refused.to_string());
        }
        let what = if e.is_timeout() {
            "the request timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "the request failed"
        };
        let place = e
            .url()
            .map(|u| format!(" ({})", strip_query(u)))
            .unwrap_or_default();
        HttpFailure(format!("{what}{place}"))
    }
}

/// How long a request to a provider may take, unless `KEYPORT_HTTP_TIMEOUT` (seconds) says otherwise.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// The settings of every client: the plain one and those that reach only some address spaces
/// (`reach::Clients`), and the MCP bridge's, with its own pool.
pub fn builder() -> reqwest::ClientBuilder {
    let timeout = std::env::var("KEYPORT_HTTP_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_TIMEOUT_SECS);
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(timeout.min(10)))
        .timeout(Duration::from_secs(timeout))
        .user_agent(concat!("keyport/", env!("CARGO_PKG_VERSION")));
    with_test_root(builder)
}

/// Debug builds only: `KEYPORT_TEST_CA` names a PEM certificate trusted besides the built-in
/// roots, so that the end-to-end tests can serve TLS at an address no public CA certifies (an MCP
/// server at a public address of the test machine). Release builds have no such door.
#[cfg(debug_assertions)]
fn with_test_root(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    let root = std::env::var_os("KEYPORT_TEST_CA")
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|pem| reqwest::Certificate::from_pem(&pem).ok());
    match root {
        Some(root) => builder.add_root_certificate(root),
        None => builder,
    }
}

#[cfg(not(debug_assertions))]
fn with_test_root(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder
}

/// Reads a response body, refusing anything over [`MAX_BODY_BYTES`].
pub async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, HttpFailure> {
    if resp.content_length().is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(HttpFailure(format!(
            "the response is larger than {MAX_BODY_BYTES} bytes"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(HttpFailure(format!(
                "the response is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Sends `request` and returns status and capped body.
pub async fn send(request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), HttpFailure> {
    let resp = request.send().await?;
    let status = resp.status().as_u16();
    Ok((status, read_capped(resp).await?))
}

/// How a provider's token endpoint deviates in shape from RFC 6749, as its catalog entry declares.
#[derive(Debug, Clone, Default)]
pub struct TokenQuirks {
    /// Send the request parameters as a JSON object instead of a form.
    pub json_body: bool,
    /// The dot path of the object that holds the tokens in a response.
    pub token_path: Option<String>,
}

/// The HTTP function `oauth2` sends through (see [`oauth_client`]).
pub trait OAuthTransport:
    Fn(HttpRequest) -> std::pin::Pin<Box<dyn Future<Output = Result<HttpResponse, HttpFailure>> + Send>>
{
}

impl<F> OAuthTransport for F where
    F: Fn(HttpRequest) -> std::pin::Pin<Box<dyn Future<Output = Result<HttpResponse, HttpFailure>> + Send>>
{
}

/// An `oauth2` HTTP client over `client` that also smooths the token-response deviations
/// providers are known for (see [`token_response::normalize`]) before `oauth2` parses them, and
/// reshapes requests as `quirks` says.
pub fn oauth_client(client: &reqwest::Client, quirks: TokenQuirks) -> impl OAuthTransport + '_ {
    move |request: HttpRequest| {
        let client = client.clone();
        let quirks = quirks.clone();
        Box::pin(async move {
            let request = if quirks.json_body {
                form_to_json(request)
            } else {
                request
            };
            let request = reqwest::Request::try_from(request)
                .map_err(|e| HttpFailure(format!("could not build the request: {e}")))?;
            let url = strip_query(request.url());
            let resp = client.execute(request).await?;
            let status = resp.status();
            if status.is_server_error() || status.as_u16() == 429 {
                return Err(HttpFailure {
                    message: format!("{url} answered HTTP {}", status.as_u16()),
                    transient: true,
                });
            }
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = read_capped(resp).await?;
            let (status, body) =
                token_response::normalize(status.as_u16(), &content_type, body, quirks.token_path.as_deref());
            let mut out = HttpResponse::new(body);
            *out.status_mut() = oauth2::http::StatusCode::from_u16(status)
                .map_err(|_| HttpFailure(format!("invalid HTTP status {status}")))?;
            out.headers_mut().insert(
                oauth2::http::header::CONTENT_TYPE,
                oauth2::http::HeaderValue::from_static("application/json"),
            );
            Ok(out)
        })
    }
}

/// The same request with its form body as a JSON object of strings.
fn form_to_json(mut request: HttpRequest) -> HttpRequest {
    let object: serde_json::Map<String, serde_json::Value> = url::form_urlencoded::parse(request.body())
        .map(|(k, v)| (k.into_owned(), serde_json::Value::from(v.into_owned())))
        .collect();
    *request.body_mut() = serde_json::to_vec(&object).expect("a JSON object serializes");
    request.headers_mut().insert(
        oauth2::http::header::CONTENT_TYPE,
        oauth2::http::HeaderValue::from_static("application/json"),
    );
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    #[test]
    fn form_bodies_become_json_objects() {
        let mut request = HttpRequest::new(b"grant_type=authorization_code&code=a%2Bb".to_vec());
        request.headers_mut().insert(
            oauth2::http::header::CONTENT_TYPE,
            oauth2::http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let request = form_to_json(request);
        assert_eq!(request.headers()["content-type"], "application/json");
        let v: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"grant_type": "authorization_code", "code": "a+b"})
        );
    }

    #[test]
    fn messages_never_carry_the_query() {
        let u = Url::parse("https://p.example/cb?code=SECRET#x").unwrap();
        assert_eq!(strip_query(&u), "https://p.example/cb");
    }
}

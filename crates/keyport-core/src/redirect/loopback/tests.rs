//! The loopback listener against hostile and honest requests, on a real socket.

use super::*;
use tokio::io::AsyncWriteExt;

async fn send(port: u16, raw: impl AsRef<[u8]>) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let _ = s.write_all(raw.as_ref()).await;
    let _ = s.shutdown().await;
    let mut out = Vec::new();
    // The answer may be lost to a reset when we close with unread bytes; that is fine here.
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn get(port: u16, target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n")
}

/// Every hostile or broken request class gets its answer, and the listener still completes the
/// real callback afterwards.
#[tokio::test]
async fn bad_requests_are_answered_and_the_real_callback_still_wins() {
    let listener = CallbackListener::bind().await.unwrap();
    let port = listener.port();
    let wait = tokio::spawn(listener.wait("Demo", "s1", Duration::from_secs(20)));
    // Connections that say nothing, or trickle, must not hold up anyone else.
    let _idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut trickle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    trickle.write_all(b"GET /callback?st").await.unwrap();

    let host = format!("127.0.0.1:{port}");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "wrong state",
            get(port, "/callback?state=other&code=x").into(),
            "400",
        ),
        ("missing state", get(port, "/callback?code=x").into(), "400"),
        ("other path", get(port, "/favicon.ico").into(), "404"),
        ("root path", get(port, "/").into(), "404"),
        (
            "POST",
            format!("POST /callback?state=s1&code=x HTTP/1.1\r\nHost: {host}\r\n\r\n").into(),
            "405",
        ),
        (
            "PUT",
            format!("PUT /callback?state=s1&code=x HTTP/1.1\r\nHost: {host}\r\n\r\n").into(),
            "405",
        ),
        (
            "rebound host",
            format!("GET /callback?state=s1&code=x HTTP/1.1\r\nHost: evil.example:{port}\r\n\r\n").into(),
            "400",
        ),
        (
            "no host",
            b"GET /callback?state=s1&code=x HTTP/1.1\r\n\r\n".to_vec(),
            "400",
        ),
        (
            "absolute-form target",
            format!("GET http://evil.example/callback?state=s1&code=x HTTP/1.1\r\nHost: {host}\r\n\r\n")
                .into(),
            "400",
        ),
        (
            "scheme-relative target",
            format!("GET //evil.example/callback?state=s1&code=x HTTP/1.1\r\nHost: {host}\r\n\r\n").into(),
            "404",
        ),
        (
            "duplicate state",
            get(port, "/callback?state=s1&state=s1&code=x").into(),
            "400",
        ),
        (
            "duplicate code",
            get(port, "/callback?state=s1&code=x&code=y").into(),
            "400",
        ),
        (
            "malformed percent-encoding",
            get(port, "/callback?state=%zz%E0%A4&code=%").into(),
            "400",
        ),
        (
            "oversized request line",
            get(
                port,
                &format!("/callback?state=s1&code={}", "a".repeat(MAX_REQUEST_BYTES)),
            )
            .into(),
            "",
        ),
        (
            "oversized headers",
            format!(
                "GET /callback?state=s1&code=x HTTP/1.1\r\nHost: {host}\r\nX-Pad: {}\r\n\r\n",
                "p".repeat(MAX_REQUEST_BYTES)
            )
            .into(),
            "",
        ),
        (
            "not HTTP",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n".to_vec(),
            "400",
        ),
        (
            "HTTP/2 preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
            "400",
        ),
        ("closed early", b"GET /callback?state=s1".to_vec(), "400"),
        // Found by the fuzzer: the URL parser drops CR, LF and tab inside a target.
        (
            "control characters in the target",
            format!("GET /callback?state=s\r\r1&code=x HTTP/1.1\r\nHost: {host}\r\n\r\n").into(),
            "400",
        ),
        // Found by the fuzzer: a URL parser reads "/\\0:x@evil/callback" as a path on a host.
        (
            "backslash authority",
            format!("GET /\\0:x@evil/callback?state=s1&code=x HTTP/1.1\r\nHost: {host}\r\n\r\n").into(),
            "404",
        ),
        ("fragment", get(port, "/callback?state=s1&code=x#y").into(), "400"),
        (
            "tab in the target",
            format!("GET /callback?state=s\t1&code=x HTTP/1.1\r\nHost: {host}\r\n\r\n").into(),
            "400",
        ),
    ];
    for (name, raw, status) in &cases {
        let answer = send(port, raw).await;
        // An empty expectation: the answer may be lost to a reset (unread bytes at close).
        if !status.is_empty() {
            assert!(
                answer.starts_with(&format!("HTTP/1.1 {status}")),
                "{name}: {answer}"
            );
        }
    }
    let ok = send(
        port,
        get(port, "/callback?state=s1&code=the-code&iss=http%3A%2F%2Fi"),
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let cb = wait.await.unwrap().unwrap();
    assert_eq!(cb.code.expose(), "the-code");
    assert_eq!(cb.iss.as_deref(), Some("http://i"));
    // A second callback after success finds nobody listening.
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
}

#[tokio::test]
async fn provider_error_is_escaped_and_ends_the_flow() {
    let listener = CallbackListener::bind().await.unwrap();
    let port = listener.port();
    let wait = tokio::spawn(listener.wait("Demo", "s1", Duration::from_secs(10)));
    let page = send(
        port,
        get(
            port,
            "/callback?state=s1&error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        ),
    )
    .await;
    assert!(
        page.contains("&lt;script&gt;") && !page.contains("<script>"),
        "{page}"
    );
    assert!(
        page.contains("default-src 'none'"),
        "the page forbids scripts anyway: {page}"
    );
    let err = wait.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("access_denied"), "{err}");
    assert_eq!(err.kind(), crate::error::ErrorKind::Provider);
}

#[tokio::test]
async fn a_callback_without_code_ends_the_flow_with_a_clear_error() {
    let listener = CallbackListener::bind().await.unwrap();
    let port = listener.port();
    let wait = tokio::spawn(listener.wait("Demo", "s1", Duration::from_secs(10)));
    assert!(send(port, get(port, "/callback?state=s1"))
        .await
        .starts_with("HTTP/1.1 400"));
    let err = wait.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("no authorization code"), "{err}");
}

#[tokio::test]
async fn after_a_timeout_nobody_listens_and_rejections_are_reported() {
    let listener = CallbackListener::bind().await.unwrap();
    let port = listener.port();
    let wait = tokio::spawn(listener.wait("Demo", "s1", Duration::from_millis(800)));
    send(port, get(port, "/callback?state=forged&code=x")).await;
    let err = wait.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("state does not match"), "{err}");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "a late callback finds nobody"
    );

    let listener = CallbackListener::bind().await.unwrap();
    let err = listener
        .wait("Demo", "s1", Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
}

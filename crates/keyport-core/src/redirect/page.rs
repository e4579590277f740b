//! The small page the browser shows after a redirect: a title and a sentence, escaped, with a
//! strict content security policy and no caching.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// What the listener answers one request with.
pub(crate) struct Reply {
    pub status: u16,
    pub title: &'static str,
    pub message: String,
    /// For a redirect (302): where to.
    pub location: Option<String>,
}

impl Reply {
    pub fn page(status: u16, title: &'static str, message: impl Into<String>) -> Reply {
        Reply {
            status,
            title,
            message: message.into(),
            location: None,
        }
    }

    pub fn redirect(to: &url::Url) -> Reply {
        Reply {
            status: 302,
            title: "Redirecting to your provider",
            message: "Continue to the sign-in page.".into(),
            location: Some(to.to_string()),
        }
    }
}

pub(crate) async fn respond(stream: &mut TcpStream, reply: &Reply) -> std::io::Result<()> {
    let (status, title, message) = (reply.status, reply.title, reply.message.as_str());
    let location = reply
        .location
        .as_deref()
        .map(|l| format!("Location: {l}\r\n"))
        .unwrap_or_default();
    let reason = match status {
        200 => "OK",
        302 => "Found",
        410 => "Gone",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Bad Request",
    };
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Keyport</title>\
         <style>body{{font:16px system-ui,sans-serif;max-width:32em;margin:4em auto;padding:0 1em;color:#222}}\
         @media(prefers-color-scheme:dark){{body{{background:#1e1e1e;color:#eee}}}}</style></head>\
         <body><h1>{}</h1><p>{}</p></body></html>",
        escape_html(title),
        escape_html(message)
    );
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\n{location}Content-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\nReferrer-Policy: no-referrer\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

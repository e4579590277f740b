//! The rules every endpoint URL obeys, wherever it comes from (the catalog, discovery, a stored
//! connection, the setup form): `https`, or plain `http` for loopback hosts only; and how a URL may
//! appear in a message.

use url::Url;

/// A URL as it may appear in a message: no query string or fragment, which could carry a code.
pub fn strip_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// Accepts `https` URLs, and `http` only for loopback hosts (a local provider or test server).
pub fn check_endpoint(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(format!(
            "{} uses plain http; only https is allowed, except for loopback hosts",
            strip_query(url)
        )),
        other => Err(format!("{} has unsupported scheme \"{other}\"", strip_query(url))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http() {
        let ok = [
            "https://example.com/token",
            "http://127.0.0.1:8080/t",
            "http://[::1]/t",
            "http://localhost/t",
        ];
        for u in ok {
            assert!(check_endpoint(&Url::parse(u).unwrap()).is_ok(), "{u}");
        }
        let bad = [
            "http://example.com/token",
            "http://10.0.0.1/t",
            "ftp://127.0.0.1/t",
        ];
        for u in bad {
            assert!(check_endpoint(&Url::parse(u).unwrap()).is_err(), "{u}");
        }
    }
}

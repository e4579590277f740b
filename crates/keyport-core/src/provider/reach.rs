//! Reaching a server's endpoints only at addresses as public as the server that named them
//! (`model/address_space.rs`), checked on the address a name resolves to, as browsers' Private
//! Network Access does: a name is no promise, since its owner points it wherever they like, at
//! 127.0.0.1 even, and may change it between two lookups.
//!
//! An HTTP client per address space: the one for `local` is the plain one; the others resolve
//! names themselves and keep only the addresses the space reaches, so the connection is made to
//! one of those or not at all. A host that is an address is never resolved: those are checked
//! where the URL is read (discovery, the catalog), against the same rule.

use crate::model::AddressSpace;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use url::Url;

/// Keyport's HTTP clients by the address space they may reach, each built on first use.
#[derive(Default)]
pub struct Clients {
    by_space: [OnceLock<reqwest::Client>; 3],
}

impl Clients {
    /// The client for endpoints named by a server in `space`.
    pub fn within(&self, space: AddressSpace) -> &reqwest::Client {
        self.by_space[space as usize].get_or_init(|| {
            let builder = super::http::builder();
            let builder = match space {
                AddressSpace::Local => builder,
                space => builder.dns_resolver(Arc::new(Within(space))),
            };
            builder
                .build()
                .expect("the HTTP client configuration is static and valid")
        })
    }
}

/// A name resolved to several addresses in no space the server may reach.
#[derive(Debug, thiserror::Error)]
#[error(
    "{host} resolves to {}, {}, named by a server at a {} address; Keyport reaches nothing more \
     private than the server that names it",
    addresses(.found),
    .space.words(),
    .limit.name()
)]
pub struct OutOfReach {
    host: String,
    found: Vec<IpAddr>,
    /// The most public space among what it resolved to.
    space: AddressSpace,
    limit: AddressSpace,
}

fn addresses(found: &[IpAddr]) -> String {
    let text: Vec<String> = found.iter().map(IpAddr::to_string).collect();
    text.join(", ")
}

/// A resolver that keeps only the addresses a server in its space may have Keyport reach.
struct Within(AddressSpace);

impl reqwest::dns::Resolve for Within {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let limit = self.0;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (kept, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = found
                .into_iter()
                .partition(|a| limit.reaches(AddressSpace::of(a.ip())));
            if kept.is_empty() && !refused.is_empty() {
                let found: Vec<IpAddr> = refused.iter().map(SocketAddr::ip).collect();
                let space = found
                    .iter()
                    .map(|ip| AddressSpace::of(*ip))
                    .max()
                    .unwrap_or_default();
                let host = crate::text::escape_controls(&host).into_owned();
                return Err(Box::new(OutOfReach {
                    host,
                    found,
                    space,
                    limit,
                }) as _);
            }
            if !refused.is_empty() {
                tracing::info!(host = %crate::text::escape_controls(&host), refused = %addresses(&refused.iter().map(SocketAddr::ip).collect::<Vec<_>>()), "addresses out of the server's reach left out");
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The space of the server at `url`, when no connection to it said where it is: the most public
/// space its name resolves to (the strictest limit), public when it does not resolve.
pub async fn space_of_host(url: &Url) -> AddressSpace {
    let name = match url.host() {
        Some(url::Host::Ipv4(ip)) => return AddressSpace::of(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => return AddressSpace::of(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => name.to_string(),
        None => return AddressSpace::Public,
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let found = tokio::net::lookup_host((name.as_str(), port)).await;
    let space = match found {
        Ok(found) => found.map(|a| AddressSpace::of(a.ip())).max(),
        Err(_) => None,
    };
    space.unwrap_or(AddressSpace::Public)
}

/// The [`OutOfReach`] behind a failed request, if that is why it failed.
pub fn out_of_reach<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a OutOfReach> {
    let mut source = Some(e);
    while let Some(e) = source {
        if let Some(found) = e.downcast_ref::<OutOfReach>() {
            return Some(found);
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server on loopback that counts the connections it gets.
    fn counting_server() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                use std::io::{BufRead, Write};
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let mut stream = stream;
                let _ =
                    stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            }
        });
        (port, count)
    }

    #[test]
    fn a_name_that_resolves_to_this_machine_is_not_reached_for_a_public_server() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (port, connections) = counting_server();
        let clients = Clients::default();
        let url = format!("http://localhost:{port}/v1.41/containers/prune");
        runtime.block_on(async {
            for space in [AddressSpace::Public, AddressSpace::Private] {
                let refused = clients.within(space).post(&url).send().await.unwrap_err();
                let why = out_of_reach(&refused)
                    .expect("refused for its address")
                    .to_string();
                assert!(
                    why.starts_with("localhost resolves to ") && why.contains("127.0.0.1"),
                    "{why}"
                );
                assert!(why.contains(&format!("a {} address", space.name())), "{why}");
                let failure = crate::provider::http::HttpFailure::from(refused).message;
                assert!(
                    failure.contains("Keyport reaches nothing more private"),
                    "{failure}"
                );
            }
            assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0);
            let local = clients
                .within(AddressSpace::Local)
                .post(&url)
                .send()
                .await
                .unwrap();
            assert_eq!(local.status(), 200, "a server on this machine may name it");
        });
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(
            runtime.block_on(space_of_host(&Url::parse("http://localhost:1/").unwrap())),
            AddressSpace::Local
        );
    }
}

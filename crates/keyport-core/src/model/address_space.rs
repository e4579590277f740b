//! Address spaces as browsers' Private Network Access names them: `local` (this machine),
//! `private` (a local network) and `public` (the rest). A server may have Keyport reach endpoints
//! it names only in its own space or a more public one, so that an MCP server on the internet
//! cannot aim Keyport's POSTs at a service on this machine or its network (a Docker API on
//! loopback, a router's admin page). The space of an address is what counts, wherever its name
//! came from; a URL whose host is a name is checked when the name is resolved
//! (`provider/reach.rs`).

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::Url;

/// From the most private to the most public: a space may reach itself and those after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressSpace {
    /// This machine: loopback and unspecified addresses. A server here may name anything.
    #[default]
    Local,
    /// A local network: RFC 1918, carrier-grade NAT, benchmarking, link-local and unique-local
    /// addresses.
    Private,
    /// Everything else.
    Public,
}

impl AddressSpace {
    /// The space `ip` is in (an IPv4-mapped IPv6 address is its IPv4 address).
    pub fn of(ip: IpAddr) -> AddressSpace {
        match ip {
            IpAddr::V4(v4) => of_v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => of_v4(v4),
                None => of_v6(v6),
            },
        }
    }

    /// Whether a server in this space may have Keyport reach an address in `target`.
    pub fn reaches(self, target: AddressSpace) -> bool {
        target >= self
    }

    /// Where an address of this space is, in a sentence.
    pub fn words(self) -> &'static str {
        match self {
            AddressSpace::Local => "on this machine",
            AddressSpace::Private => "on a private network",
            AddressSpace::Public => "public",
        }
    }

    /// Its name, as Private Network Access spells it.
    pub fn name(self) -> &'static str {
        match self {
            AddressSpace::Local => "local",
            AddressSpace::Private => "private",
            AddressSpace::Public => "public",
        }
    }

    /// `url` checked before any lookup, for a server in this space: a host that is an address is
    /// in its space, `localhost` is this machine; other names are checked when they are resolved.
    pub fn check_url(self, url: &Url) -> Result<(), String> {
        let space = match url.host() {
            Some(url::Host::Ipv4(ip)) => AddressSpace::of(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => AddressSpace::of(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) if is_localhost(name) => AddressSpace::Local,
            _ => return Ok(()),
        };
        if self.reaches(space) {
            return Ok(());
        }
        Err(format!(
            "{} is {}, named by a server at a {} address; Keyport reaches nothing more private \
             than the server that names it",
            super::strip_query(url),
            space.words(),
            self.name(),
        ))
    }
}

/// `localhost` and its subdomains, which resolvers keep on this machine (RFC 6761 §6.3).
fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

fn of_v4(ip: Ipv4Addr) -> AddressSpace {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() || a == 0 {
        // 0.0.0.0/8 ("this network"): connecting to 0.0.0.0 reaches this machine.
        return AddressSpace::Local;
    }
    let private = a == 10
        || (a == 100 && (64..128).contains(&b))
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 169 && b == 254);
    if private {
        AddressSpace::Private
    } else {
        AddressSpace::Public
    }
}

fn of_v6(ip: Ipv6Addr) -> AddressSpace {
    if ip.is_loopback() || ip.is_unspecified() {
        return AddressSpace::Local;
    }
    let first = ip.segments()[0];
    // fc00::/7 unique-local, fe80::/10 link-local.
    if (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80 {
        return AddressSpace::Private;
    }
    AddressSpace::Public
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_fall_in_the_spaces_private_network_access_names() {
        let space = |s: &str| AddressSpace::of(s.parse().unwrap());
        for local in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "0.1.2.3",
            "::1",
            "::",
            "::ffff:127.0.0.1",
        ] {
            assert_eq!(space(local), AddressSpace::Local, "{local}");
        }
        for private in [
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "169.254.169.254",
            "fd00::2",
            "fc00::1",
            "fe80::1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
        ] {
            assert_eq!(space(private), AddressSpace::Private, "{private}");
        }
        for public in [
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.0.1",
            "172.32.0.1",
            "192.0.2.2",
            "198.20.0.1",
            "2001:db8::1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(space(public), AddressSpace::Public, "{public}");
        }
    }

    #[test]
    fn a_server_reaches_its_own_space_and_more_public_ones_only() {
        use AddressSpace::*;
        assert!(Local.reaches(Local) && Local.reaches(Private) && Local.reaches(Public));
        assert!(!Private.reaches(Local) && Private.reaches(Private) && Private.reaches(Public));
        assert!(!Public.reaches(Local) && !Public.reaches(Private) && Public.reaches(Public));
        let url = |s: &str| Url::parse(s).unwrap();
        for refused in [
            "http://127.0.0.1:2375/v1.41/containers/prune",
            "http://localhost:2375/v1.41/containers/prune",
            "http://app.localhost./x",
            "https://[::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://10.0.0.1/register",
            "https://[fd00::2]/token",
            "https://169.254.169.254/latest/meta-data",
        ] {
            let refused = Public.check_url(&url(refused)).unwrap_err();
            assert!(
                refused.contains("named by a server at a public address"),
                "{refused}"
            );
        }
        assert!(Public.check_url(&url("https://192.0.2.2/token")).is_ok());
        assert!(
            Public.check_url(&url("https://auth.example/token")).is_ok(),
            "names wait for the lookup"
        );
        assert!(Private.check_url(&url("https://10.0.0.1/token")).is_ok());
        assert!(Private.check_url(&url("http://127.0.0.1/token")).is_err());
        assert!(Local.check_url(&url("http://127.0.0.1:2375/anything")).is_ok());
    }
}

//! Who is on the other end of a loopback TCP connection. Anything on this machine can connect to
//! the sign-in listener, other users included; only this user's own programs (the browser) may be
//! served, so another user can neither take the start page's redirect (and with it the state and
//! PKCE challenge) nor deliver a callback of her own, whatever she reads from a command line and
//! however fast she is.
//!
//! On Linux the kernel lists every TCP socket with its owner's uid in `/proc/net/tcp` (and
//! `tcp6`, for a client connecting from an IPv6 socket to our IPv4 address): the client's socket
//! is the one whose local address is our peer and whose remote address is us. Elsewhere this is
//! not looked up (docs/SECURITY.md says what that leaves open).

use std::net::SocketAddr;

/// Whether the connection from `peer` to our `local` address comes from a process of this user.
/// A connection whose owner cannot be found is not this user's.
#[cfg(target_os = "linux")]
pub fn is_own_user(peer: SocketAddr, local: SocketAddr) -> bool {
    let me = crate::files::private::euid();
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table)
            .ok()
            .and_then(|text| owner_in(&text, peer, local))
            .is_some_and(|uid| uid == me)
    })
}

#[cfg(not(target_os = "linux"))]
pub fn is_own_user(_peer: SocketAddr, _local: SocketAddr) -> bool {
    true
}

/// The uid owning the socket whose local address is `peer` and remote address is `local`, in a
/// `/proc/net/tcp{,6}` table.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn owner_in(table: &str, peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (from, to, uid) = (fields.get(1)?, fields.get(2)?, fields.get(7)?);
        (same(from, peer) && same(to, local))
            .then(|| uid.parse().ok())
            .flatten()
    })
}

/// Whether a table's `ADDRESS:PORT` (hex; the address as the kernel's 32-bit words, each in this
/// machine's byte order) is `addr`, an IPv4 address also matching its IPv6-mapped form.
fn same(field: &str, addr: SocketAddr) -> bool {
    let Some((hex, port)) = field.split_once(':') else {
        return false;
    };
    if u16::from_str_radix(port, 16).ok() != Some(addr.port()) {
        return false;
    }
    let mut bytes = Vec::with_capacity(16);
    for i in (0..hex.len()).step_by(8) {
        let Some(word) = hex.get(i..i + 8).and_then(|w| u32::from_str_radix(w, 16).ok()) else {
            return false;
        };
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    let ip = match bytes.len() {
        4 => std::net::IpAddr::from(<[u8; 4]>::try_from(bytes).expect("four bytes")),
        16 => {
            let v6 = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).expect("sixteen bytes"));
            v6.to_ipv4_mapped()
                .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4)
        }
        _ => return false,
    };
    ip == addr.ip()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex4(ip: [u8; 4]) -> String {
        format!("{:08X}", u32::from_ne_bytes(ip))
    }

    #[test]
    fn the_clients_socket_is_found_with_its_owner() {
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let us: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let lo = hex4([127, 0, 0, 1]);
        let table = format!(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
             0: {lo}:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1\n\
             1: {lo}:1F90 {lo}:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 2\n\
             2: {lo}:9C40 {lo}:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 3\n"
        );
        // Our own side (uid 1000) is not taken for the client's (uid 1001).
        assert_eq!(owner_in(&table, peer, us), Some(1001));
        assert_eq!(owner_in(&table, "127.0.0.1:40001".parse().unwrap(), us), None);
        // A client on an IPv6 socket, connected to our IPv4 address through its mapped form.
        let mapped = |ip: [u8; 4]| {
            let words = [
                0u32,
                0,
                u32::from_ne_bytes([0, 0, 0xff, 0xff]),
                u32::from_ne_bytes(ip),
            ];
            words.iter().map(|w| format!("{w:08X}")).collect::<String>()
        };
        let table6 = format!(
            "  sl  local_address rem_address st tx_queue rx_queue tr tm->when retrnsmt uid timeout inode\n\
             0: {}:9C40 {}:1F90 01 00000000:00000000 00:00000000 00000000 0 0 4\n",
            mapped([127, 0, 0, 1]),
            mapped([127, 0, 0, 1])
        );
        assert_eq!(owner_in(&table6, peer, us), Some(0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_connection_of_this_process_is_this_users() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert!(is_own_user(peer, listener.local_addr().unwrap()));
        assert!(!is_own_user(
            "127.0.0.1:1".parse().unwrap(),
            listener.local_addr().unwrap()
        ));
    }
}

//! Who is on the other end of a loopback TCP connection. Anything on this machine can connect to
//! the sign-in listener, other users included; only this user's own programs (the browser) may be
//! served, so another user can neither take the start page's redirect (and with it the state and
//! PKCE challenge) nor deliver a callback of her own, whatever she reads from a command line and
//! however fast she is.
//!
//! On Linux the kernel is asked, through `sock_diag` (`NETLINK_SOCK_DIAG`), for the one socket
//! whose local address is our peer and whose remote address is us (the client's), and its answer
//! carries that socket's owner. The kernel looks the socket up in its connection table, so the
//! question costs the same however many connections the machine holds. Reading `/proc/net/tcp`
//! instead had the kernel walk that whole table and format every TCP socket in it, and us parse
//! them, for each connection: with 80 idle connections from another user open, dropping hers took
//! most of a core.
//! Elsewhere this is not looked up (docs/SECURITY.md says what that leaves open).

use std::net::SocketAddr;

/// Whether the connection from `peer` to our `local` address comes from a process of this user.
/// A connection whose owner cannot be found is not this user's.
#[cfg(target_os = "linux")]
pub fn is_own_user(peer: SocketAddr, local: SocketAddr) -> bool {
    diag::owner(peer, local).is_some_and(|uid| uid == crate::files::private::euid())
}

#[cfg(not(target_os = "linux"))]
pub fn is_own_user(_peer: SocketAddr, _local: SocketAddr) -> bool {
    true
}

#[cfg(target_os = "linux")]
mod diag {
    use std::io;
    use std::mem::size_of;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    // From linux/sock_diag.h, linux/inet_diag.h and net/tcp_states.h, which libc does not carry.
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const INET_DIAG_NOCOOKIE: [u32; 2] = [u32::MAX; 2];
    const TCP_TIME_WAIT: u8 = 6;
    const TCP_NEW_SYN_RECV: u8 = 12;

    /// `struct inet_diag_sockid`: ports and addresses in network byte order; an IPv4 address is
    /// the first four bytes.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct SockId {
        sport: u16,
        dport: u16,
        src: [u8; 16],
        dst: [u8; 16],
        interface: u32,
        cookie: [u32; 2],
    }

    /// A netlink header followed by `struct inet_diag_req_v2`.
    #[repr(C)]
    struct Request {
        header: libc::nlmsghdr,
        family: u8,
        protocol: u8,
        ext: u8,
        pad: u8,
        states: u32,
        id: SockId,
    }

    /// `struct inet_diag_msg`, the answer.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Message {
        family: u8,
        state: u8,
        timer: u8,
        retrans: u8,
        id: SockId,
        expires: u32,
        rqueue: u32,
        wqueue: u32,
        uid: u32,
        inode: u32,
    }

    // The kernel's sizes; and a request without padding sends no uninitialized byte.
    const _: () = assert!(size_of::<SockId>() == 48);
    const _: () = assert!(size_of::<Request>() == 16 + 56);
    const _: () = assert!(size_of::<Message>() == 72);

    /// The owner of the client's socket of the connection from `peer` to `local`, as the kernel
    /// tells it; none when it has no such socket or cannot be asked.
    pub(super) fn owner(peer: SocketAddr, local: SocketAddr) -> Option<u32> {
        // One socket per thread, kept: while another user floods the listener, every dropped
        // connection asks. Question numbers never repeat, so a late answer is never taken for
        // another question's.
        thread_local! {
            static DIAG: std::cell::RefCell<Option<Diag>> = const { std::cell::RefCell::new(None) };
        }
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        DIAG.with(|kept| {
            let mut kept = kept.borrow_mut();
            if kept.is_none() {
                match Diag::open() {
                    Ok(diag) => *kept = Some(diag),
                    Err(e) => {
                        // Every connection is then refused, this user's too: say why somewhere.
                        tracing::warn!("cannot ask the kernel who owns a loopback connection: {e}");
                        return None;
                    }
                }
            }
            let diag = kept.as_ref()?;
            let mut failed = false;
            let found = questions(peer, local).into_iter().find_map(|(family, id)| {
                let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                match diag.ask(seq, family, id) {
                    Ok(answer) => answer.filter(|m| is_the_client(m, peer, local)).map(|m| m.uid),
                    Err(e) => {
                        tracing::debug!("the kernel did not say who owns a loopback connection: {e}");
                        failed = true;
                        None
                    }
                }
            });
            // A socket that failed once starts afresh next time.
            if failed {
                *kept = None;
            }
            found
        })
    }

    /// The questions naming the client's socket, as (address family, socket): an IPv4 client,
    /// then one on an IPv6 socket connected to our IPv4 address through its mapped form (Linux
    /// 6.18 finds that one for the IPv4 question already, as the two share a table, but this does
    /// not depend on it); or an IPv6 client of an IPv6 address.
    fn questions(peer: SocketAddr, local: SocketAddr) -> Vec<(u8, SockId)> {
        let id = |src, dst| SockId {
            sport: peer.port().to_be(),
            dport: local.port().to_be(),
            src,
            dst,
            interface: 0,
            cookie: INET_DIAG_NOCOOKIE,
        };
        let v4 = |ip: Ipv4Addr| {
            let mut bytes = [0; 16];
            bytes[..4].copy_from_slice(&ip.octets());
            bytes
        };
        match (peer.ip().to_canonical(), local.ip().to_canonical()) {
            (IpAddr::V4(from), IpAddr::V4(to)) => vec![
                (libc::AF_INET as u8, id(v4(from), v4(to))),
                (
                    libc::AF_INET6 as u8,
                    id(from.to_ipv6_mapped().octets(), to.to_ipv6_mapped().octets()),
                ),
            ],
            (IpAddr::V6(from), IpAddr::V6(to)) => {
                vec![(libc::AF_INET6 as u8, id(from.octets(), to.octets()))]
            }
            _ => Vec::new(),
        }
    }

    /// Whether the kernel's answer is the client's live socket. Asked for a socket that is gone,
    /// the kernel answers with one listening on the peer's port, if any; and a socket in
    /// `TIME_WAIT` (or a half-open one) is told with uid 0, whoever owned it.
    fn is_the_client(m: &Message, peer: SocketAddr, local: SocketAddr) -> bool {
        let ip = |bytes: [u8; 16]| match i32::from(m.family) {
            libc::AF_INET => Some(IpAddr::from([bytes[0], bytes[1], bytes[2], bytes[3]])),
            libc::AF_INET6 => Some(Ipv6Addr::from(bytes).to_canonical()),
            _ => None,
        };
        !matches!(m.state, TCP_TIME_WAIT | TCP_NEW_SYN_RECV)
            && u16::from_be(m.id.sport) == peer.port()
            && u16::from_be(m.id.dport) == local.port()
            && ip(m.id.src) == Some(peer.ip().to_canonical())
            && ip(m.id.dst) == Some(local.ip().to_canonical())
    }

    /// A `sock_diag` socket: only the kernel answers it, one question at a time.
    struct Diag(OwnedFd);

    impl Diag {
        fn open() -> io::Result<Self> {
            // SAFETY: socket takes no pointers; its result is checked before it is used.
            let fd = unsafe {
                libc::socket(
                    libc::AF_NETLINK,
                    libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                    libc::NETLINK_SOCK_DIAG,
                )
            };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: fd is a descriptor socket just opened, which nothing else owns or closes.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            // An answer the kernel never sends must not hold up the listener's accept loop.
            let timeout = libc::timeval {
                tv_sec: 1,
                tv_usec: 0,
            };
            // SAFETY: the option value points to a live timeval and the length given is its size,
            // which is what SO_RCVTIMEO reads.
            let set = unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    (&raw const timeout).cast(),
                    size_of::<libc::timeval>() as libc::socklen_t,
                )
            };
            if set < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(Self(fd))
        }

        /// The socket `id` of `family` the kernel has (in any state), or none: question `seq`.
        fn ask(&self, seq: u32, family: u8, id: SockId) -> io::Result<Option<Message>> {
            let request = Request {
                header: libc::nlmsghdr {
                    nlmsg_len: size_of::<Request>() as u32,
                    nlmsg_type: SOCK_DIAG_BY_FAMILY,
                    nlmsg_flags: libc::NLM_F_REQUEST as u16,
                    nlmsg_seq: seq,
                    nlmsg_pid: 0,
                },
                family,
                protocol: libc::IPPROTO_TCP as u8,
                ext: 0,
                pad: 0,
                states: u32::MAX,
                id,
            };
            let kernel = netlink_address();
            // SAFETY: the buffer is the live request, of the length given and without padding
            // (its size is asserted above); the address is a live sockaddr_nl of the length given.
            // The kernel reads both during the call and keeps neither.
            let sent = unsafe {
                libc::sendto(
                    self.0.as_raw_fd(),
                    (&raw const request).cast(),
                    size_of::<Request>(),
                    0,
                    (&raw const kernel).cast(),
                    size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            if sent < 0 {
                return Err(io::Error::last_os_error());
            }
            // The answer is one message of about 200 bytes; a late answer to an earlier question
            // or a datagram from elsewhere is passed over, a few times at most.
            let mut datagram = [0u8; 8192];
            for _ in 0..4 {
                let mut from = netlink_address();
                let mut from_len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
                // SAFETY: the buffer is writable for the length given; `from` is a live, writable
                // sockaddr_nl and `from_len` holds its size, as recvfrom requires. Nothing is kept
                // after the call.
                let got = unsafe {
                    libc::recvfrom(
                        self.0.as_raw_fd(),
                        datagram.as_mut_ptr().cast(),
                        datagram.len(),
                        0,
                        (&raw mut from).cast(),
                        &mut from_len,
                    )
                };
                let Ok(got) = usize::try_from(got) else {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    return Err(e);
                };
                // Port 0 is the kernel; no other sender is believed.
                if from.nl_pid != 0 {
                    continue;
                }
                if let Some(answer) = answer(&datagram[..got.min(datagram.len())], seq) {
                    return answer;
                }
            }
            Ok(None)
        }
    }

    /// The kernel's netlink address; also the room recvfrom fills in.
    fn netlink_address() -> libc::sockaddr_nl {
        // SAFETY: sockaddr_nl is plain integers (one of them private), for which zero is valid.
        let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        address.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        address
    }

    /// What a datagram says to question `seq`: the socket, or none when the kernel has no such
    /// socket; nothing when the datagram does not answer it.
    fn answer(datagram: &[u8], seq: u32) -> Option<io::Result<Option<Message>>> {
        const HEADER: usize = size_of::<libc::nlmsghdr>();
        let mut rest = datagram;
        while let Some(header) = read::<libc::nlmsghdr>(rest) {
            let len = header.nlmsg_len as usize;
            if len < HEADER || len > rest.len() {
                return None;
            }
            let body = &rest[HEADER..len];
            if header.nlmsg_seq == seq {
                match i32::from(header.nlmsg_type) {
                    t if t == i32::from(SOCK_DIAG_BY_FAMILY) => return Some(Ok(read::<Message>(body))),
                    libc::NLMSG_ERROR => {
                        // The kernel's `-errno`; 0 would acknowledge a request without an answer.
                        let errno = read::<i32>(body).map_or(libc::EIO, |e| -e);
                        return Some(match errno {
                            0 | libc::ENOENT => Ok(None),
                            errno => Err(io::Error::from_raw_os_error(errno)),
                        });
                    }
                    libc::NLMSG_DONE => return Some(Ok(None)),
                    _ => {}
                }
            }
            // Messages are padded to four bytes.
            rest = rest.get((len + 3) & !3..).unwrap_or_default();
        }
        None
    }

    /// Types for which any bytes are a value, so an answer's bytes can be read as one.
    ///
    /// # Safety
    ///
    /// Only for types made of integers (and arrays and `repr(C)` structs of them): no pointer,
    /// reference, `bool`, `char` or enum.
    unsafe trait Plain: Copy {}
    // SAFETY: an integer.
    unsafe impl Plain for i32 {}
    // SAFETY: a struct of integers.
    unsafe impl Plain for libc::nlmsghdr {}
    // SAFETY: a repr(C) struct of integers and of `SockId`, itself integers and arrays of them.
    unsafe impl Plain for Message {}

    /// The `T` at the start of `bytes`, if they are long enough.
    fn read<T: Plain>(bytes: &[u8]) -> Option<T> {
        // SAFETY: the bytes are in bounds (checked), read without assuming alignment, and every
        // bit pattern is a `T` (`Plain`).
        (bytes.len() >= size_of::<T>()).then(|| unsafe { bytes.as_ptr().cast::<T>().read_unaligned() })
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_connection_of_this_process_is_this_users() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert!(is_own_user(peer, listener.local_addr().unwrap()));
        assert!(!is_own_user(
            "127.0.0.1:1".parse().unwrap(),
            listener.local_addr().unwrap()
        ));
    }

    #[test]
    fn the_answer_carries_the_clients_owner() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let local = listener.local_addr().unwrap();
        let _client = TcpStream::connect(local).unwrap();
        let (_server, peer) = listener.accept().unwrap();
        assert_eq!(diag::owner(peer, local), Some(crate::files::private::euid()));
        // Asked for a socket it does not have, the kernel answers with one listening on that
        // port: this user's, but not a client.
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(diag::owner(other.local_addr().unwrap(), local), None);
    }

    #[test]
    fn a_closed_connection_is_nobodys() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let local = listener.local_addr().unwrap();
        let client = TcpStream::connect(local).unwrap();
        let (server, peer) = listener.accept().unwrap();
        // The client closing first, its socket waits in TIME_WAIT, which the kernel tells as uid 0
        // (root's, when the tests run as root).
        drop(client);
        drop(server);
        let gone = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            diag::owner(peer, local).is_none()
        });
        assert!(gone);
    }

    #[test]
    fn a_client_on_an_ipv6_socket_is_found() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let local = listener.local_addr().unwrap();
        let mapped = SocketAddr::new(
            std::net::Ipv4Addr::LOCALHOST.to_ipv6_mapped().into(),
            local.port(),
        );
        // An IPv6 socket, unbound ([::]) until it connects, reaching our IPv4 address.
        let Ok(client) = TcpStream::connect(mapped) else {
            eprintln!("no IPv4-mapped IPv6 here: skipped");
            return;
        };
        assert!(client.local_addr().unwrap().is_ipv6());
        let (_server, peer) = listener.accept().unwrap();
        assert_eq!(diag::owner(peer, local), Some(crate::files::private::euid()));
        assert!(is_own_user(peer, local));
    }

    #[test]
    fn an_ipv6_connection_is_found() {
        let Ok(listener) = TcpListener::bind("[::1]:0") else {
            eprintln!("no IPv6 here: skipped");
            return;
        };
        let local = listener.local_addr().unwrap();
        let _client = TcpStream::connect(local).unwrap();
        let (_server, peer) = listener.accept().unwrap();
        assert_eq!(diag::owner(peer, local), Some(crate::files::private::euid()));
    }
}

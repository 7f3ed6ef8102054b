//! Listening sockets from the kernel's socket diagnostics: a netlink `NETLINK_SOCK_DIAG` dump
//! (`SOCK_DIAG_BY_FAMILY`, `inet_diag`), as `ss -l` reads them.
//!
//! Reading `/proc/net/tcp` makes the kernel walk every bucket of the established-connection
//! table (twice: once for `tcp`, once for `tcp6`) to print the few listening sockets; a dump
//! that asks for state LISTEN only never enters that table. UDP sockets are asked for in every
//! state and kept as the `/proc` parser keeps them (no remote peer), so both give the same
//! [`Listener`]s. The socket sees the reader's network namespace: the caller uses it only when
//! that is PID 1's (see `super::same_namespace_as_pid_1`).
//!
//! The answer is parsed as untrusted bytes: a short, misaligned or unexpected message is an
//! error (the caller then reads `/proc`), never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{
    AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, recv, sendto, socket_with,
    sockopt,
};

use super::Listener;

/// `struct nlmsghdr`: length, type, flags, sequence number, port id.
const NLMSG_HDRLEN: usize = 16;
/// `NLMSG_NOOP`, `NLMSG_ERROR`, `NLMSG_DONE`.
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// `SOCK_DIAG_BY_FAMILY`: the request, and the type of each socket's answer.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `NLM_F_REQUEST | NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
const NLM_F_REQUEST_DUMP: u16 = 0x0001 | 0x0300;
/// `struct inet_diag_req_v2`: family, protocol, extensions, pad, states, `inet_diag_sockid`.
const REQ_LEN: usize = 56;
/// `struct inet_diag_msg` without attributes.
const MSG_LEN: usize = 72;
/// Linux's `AF_INET`, `AF_INET6`, `IPPROTO_TCP`, `IPPROTO_UDP` (the same on every
/// architecture).
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
/// `TCP_LISTEN`, and the states mask asking for it alone.
const TCP_LISTEN: u8 = 10;
const LISTEN_ONLY: u32 = 1 << TCP_LISTEN;
/// Every state (UDP sockets are `TCP_CLOSE` when unconnected, `TCP_ESTABLISHED` when connected).
const ALL_STATES: u32 = u32::MAX;
/// The receive buffer: the kernel fills a dump's datagrams up to 32 KiB.
const RECV_BUF: usize = 64 << 10;
/// How long one answer may take before the dump is given up (and `/proc` read instead).
const RECV_TIMEOUT: Duration = Duration::from_secs(2);

/// The four tables the `/proc` parser reads, as (protocol name, family, IP protocol, states).
const TABLES: [(&str, u8, u8, u32); 4] = [
    ("tcp", AF_INET, IPPROTO_TCP, LISTEN_ONLY),
    ("tcp6", AF_INET6, IPPROTO_TCP, LISTEN_ONLY),
    ("udp", AF_INET, IPPROTO_UDP, ALL_STATES),
    ("udp6", AF_INET6, IPPROTO_UDP, ALL_STATES),
];

/// The fields of one `inet_diag_msg` that matter here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagMsg {
    /// `AF_INET` or `AF_INET6`.
    pub family: u8,
    /// The TCP state (`TCP_LISTEN` = 10); `TCP_CLOSE` (7) or `TCP_ESTABLISHED` (1) for UDP.
    pub state: u8,
    /// Local port.
    pub sport: u16,
    /// Remote port.
    pub dport: u16,
    /// Local address: the first 4 bytes for IPv4, in network order.
    pub src: [u8; 16],
    /// Remote address, likewise.
    pub dst: [u8; 16],
    /// The socket's inode, which `/proc/<pid>/fd` links name.
    pub inode: u32,
}

/// Every listening socket of the reader's network namespace, in the order of the `/proc`
/// tables (the caller sorts). An error when the kernel has no socket diagnostics for a table
/// (e.g. `udp_diag` neither built in nor loadable) or answers something unexpected.
pub fn listeners() -> Result<Vec<Listener>, String> {
    let fd = socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        Some(netlink::SOCK_DIAG),
    )
    .map_err(|e| format!("netlink sock_diag socket: {e}"))?;
    sockopt::set_socket_timeout(&fd, sockopt::Timeout::Recv, Some(RECV_TIMEOUT))
        .map_err(|e| format!("netlink sock_diag socket: {e}"))?;
    let kernel = SocketAddrNetlink::new(0, 0);
    let mut buf = vec![0u8; RECV_BUF];
    let mut out = Vec::new();
    for (seq, (protocol, family, ipproto, states)) in (1u32..).zip(TABLES) {
        let req = request(seq, family, ipproto, states);
        sendto(&fd, &req, SendFlags::empty(), &kernel)
            .map_err(|e| format!("netlink sock_diag request ({protocol}): {e}"))?;
        let mut msgs = Vec::new();
        loop {
            let (n, len) = recv(&fd, &mut buf[..], RecvFlags::TRUNC)
                .map_err(|e| format!("netlink sock_diag answer ({protocol}): {e}"))?;
            if len > n {
                return Err(format!(
                    "netlink sock_diag answer ({protocol}): a datagram of {len} bytes truncated to {n}"
                ));
            }
            if parse_datagram(&buf[..n], seq, &mut msgs)
                .map_err(|e| format!("netlink sock_diag answer ({protocol}): {e}"))?
            {
                break;
            }
        }
        for m in msgs {
            if let Some(l) = listener(&m, protocol, family, ipproto == IPPROTO_TCP)? {
                out.push(l);
            }
        }
    }
    Ok(out)
}

/// A `SOCK_DIAG_BY_FAMILY` dump request for one family and IP protocol, the sockets in
/// `states` (a mask of `1 << state`), no extensions, any address.
pub fn request(seq: u32, family: u8, protocol: u8, states: u32) -> [u8; NLMSG_HDRLEN + REQ_LEN] {
    let mut req = [0u8; NLMSG_HDRLEN + REQ_LEN];
    req[0..4].copy_from_slice(&((NLMSG_HDRLEN + REQ_LEN) as u32).to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req[6..8].copy_from_slice(&NLM_F_REQUEST_DUMP.to_ne_bytes());
    req[8..12].copy_from_slice(&seq.to_ne_bytes());
    // nlmsg_pid 0: the kernel fills in this socket's port id.
    req[16] = family;
    req[17] = protocol;
    req[20..24].copy_from_slice(&states.to_ne_bytes());
    req
}

/// Reads a native-endian u16 / u32 at `at` (the caller checked the length).
fn ne_u16(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}
fn ne_u32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses one datagram of a dump's answer into `out`; `Ok(true)` once it holds `NLMSG_DONE`.
/// Every message must be whole, of sequence `seq`, and a socket, a no-op or the end; an
/// `NLMSG_ERROR` is the kernel's refusal (e.g. `ENOENT`: no diagnostics for that protocol).
pub fn parse_datagram(mut b: &[u8], seq: u32, out: &mut Vec<DiagMsg>) -> Result<bool, String> {
    while !b.is_empty() {
        if b.len() < NLMSG_HDRLEN {
            return Err(format!("a truncated message header ({} bytes)", b.len()));
        }
        let len = ne_u32(b, 0) as usize;
        let kind = ne_u16(b, 4);
        if len < NLMSG_HDRLEN || len > b.len() {
            return Err(format!(
                "a message of length {len} in {} remaining bytes",
                b.len()
            ));
        }
        if ne_u32(b, 8) != seq {
            return Err(format!("a message of sequence {}, not {seq}", ne_u32(b, 8)));
        }
        let payload = &b[NLMSG_HDRLEN..len];
        match kind {
            NLMSG_DONE => return Ok(true),
            NLMSG_NOOP => {}
            NLMSG_ERROR => {
                let code = payload
                    .get(..4)
                    .map(|p| i32::from_ne_bytes([p[0], p[1], p[2], p[3]]))
                    .ok_or("a truncated error message")?;
                return Err(if code == 0 {
                    "an acknowledgement instead of a dump".to_string()
                } else {
                    format!(
                        "the kernel refused the dump: {}",
                        std::io::Error::from_raw_os_error(code.saturating_neg())
                    )
                });
            }
            SOCK_DIAG_BY_FAMILY => out.push(diag_msg(payload)?),
            other => return Err(format!("a message of unexpected type {other}")),
        }
        // NLMSG_ALIGN: messages start on 4-byte boundaries; the last may end unpadded.
        let step = len.saturating_add(3) & !3;
        b = b.get(step..).unwrap_or_default();
    }
    Ok(false)
}

/// One socket's `inet_diag_msg` (its attributes, none asked for, are ignored).
pub fn diag_msg(p: &[u8]) -> Result<DiagMsg, String> {
    if p.len() < MSG_LEN {
        return Err(format!(
            "a truncated socket message ({} bytes, {MSG_LEN} expected)",
            p.len()
        ));
    }
    let mut src = [0u8; 16];
    src.copy_from_slice(&p[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&p[24..40]);
    Ok(DiagMsg {
        family: p[0],
        state: p[1],
        sport: u16::from_be_bytes([p[4], p[5]]),
        dport: u16::from_be_bytes([p[6], p[7]]),
        src,
        dst,
        inode: ne_u32(p, 68),
    })
}

/// The [`Listener`] of one answered socket when it listens, with the `/proc` parser's rules:
/// TCP in state LISTEN, UDP with no remote peer (address and port zero), never port 0. A
/// socket of another family than asked for is an error.
pub fn listener(
    m: &DiagMsg,
    protocol: &'static str,
    family: u8,
    tcp: bool,
) -> Result<Option<Listener>, String> {
    if m.family != family {
        return Err(format!(
            "a socket of family {} in the {protocol} dump",
            m.family
        ));
    }
    let listening = if tcp {
        m.state == TCP_LISTEN
    } else {
        m.dport == 0 && m.dst.iter().all(|&b| b == 0)
    };
    if !listening || m.sport == 0 {
        return Ok(None);
    }
    let address = if family == AF_INET {
        IpAddr::V4(Ipv4Addr::new(m.src[0], m.src[1], m.src[2], m.src[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(m.src))
    };
    Ok(Some(Listener {
        port: m.sport,
        protocol,
        address,
        inode: u64::from(m.inode),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One netlink message: header (type, sequence 7) and payload, padded to 4 bytes.
    fn message(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((NLMSG_HDRLEN + payload.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&0x0002u16.to_ne_bytes()); // NLM_F_MULTI
        m.extend_from_slice(&7u32.to_ne_bytes());
        m.extend_from_slice(&4242u32.to_ne_bytes());
        m.extend_from_slice(payload);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    /// An `inet_diag_msg` as the kernel writes it.
    fn socket(family: u8, state: u8, src: &[u8], sport: u16, dport: u16, inode: u32) -> Vec<u8> {
        let mut p = vec![0u8; MSG_LEN];
        p[0] = family;
        p[1] = state;
        p[4..6].copy_from_slice(&sport.to_be_bytes());
        p[6..8].copy_from_slice(&dport.to_be_bytes());
        p[8..8 + src.len()].copy_from_slice(src);
        p[56..60].copy_from_slice(&3u32.to_ne_bytes()); // rqueue: not read
        p[64..68].copy_from_slice(&106u32.to_ne_bytes()); // uid: not read
        p[68..72].copy_from_slice(&inode.to_ne_bytes());
        p
    }

    #[test]
    fn the_request_is_an_inet_diag_req_v2_dump() {
        let r = request(3, AF_INET6, IPPROTO_TCP, LISTEN_ONLY);
        assert_eq!(r.len(), 72);
        assert_eq!(ne_u32(&r, 0), 72);
        assert_eq!(ne_u16(&r, 4), 20);
        assert_eq!(ne_u16(&r, 6), 0x301);
        assert_eq!(ne_u32(&r, 8), 3);
        assert_eq!((r[16], r[17], r[18]), (10, 6, 0));
        assert_eq!(ne_u32(&r, 20), 0x400);
        assert!(r[24..].iter().all(|&b| b == 0), "any address, any port");
    }

    #[test]
    fn a_dump_parses_into_listeners_as_proc_keeps_them() {
        let mut d = message(
            SOCK_DIAG_BY_FAMILY,
            &socket(AF_INET, TCP_LISTEN, &[127, 0, 0, 1], 3306, 0, 24157),
        );
        // An attribute after the message (as with extensions asked for) is skipped.
        let mut with_attr = socket(AF_INET, TCP_LISTEN, &[0, 0, 0, 0], 22, 0, 21001);
        with_attr.extend_from_slice(&[8, 0, 1, 0, 0, 0, 0, 0]);
        d.extend(message(SOCK_DIAG_BY_FAMILY, &with_attr));
        d.extend(message(NLMSG_NOOP, &[]));
        let mut msgs = Vec::new();
        assert_eq!(parse_datagram(&d, 7, &mut msgs), Ok(false));
        assert_eq!(
            parse_datagram(&message(NLMSG_DONE, &[0; 4]), 7, &mut msgs),
            Ok(true)
        );
        let got: Vec<Listener> = msgs
            .iter()
            .filter_map(|m| listener(m, "tcp", AF_INET, true).unwrap())
            .collect();
        assert_eq!(
            got.iter()
                .map(|l| format!("{} {}:{} {}", l.protocol, l.address, l.port, l.inode))
                .collect::<Vec<_>>(),
            ["tcp 127.0.0.1:3306 24157", "tcp 0.0.0.0:22 21001"]
        );

        // IPv6, and UDP: bound without a peer is listening, connected is not.
        let v6_lo = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let m = diag_msg(&socket(AF_INET6, 7, &v6_lo, 323, 0, 19002)).unwrap();
        let l = listener(&m, "udp6", AF_INET6, false).unwrap().unwrap();
        assert_eq!((l.address.to_string(), l.port), ("::1".into(), 323));
        let mut connected = diag_msg(&socket(AF_INET, 1, &[10, 0, 0, 5], 46530, 123, 1)).unwrap();
        assert_eq!(listener(&connected, "udp", AF_INET, false), Ok(None));
        connected.dport = 0;
        connected.dst[0] = 10;
        assert_eq!(listener(&connected, "udp", AF_INET, false), Ok(None));
        // An established TCP socket, and port 0, are not listeners.
        let est = diag_msg(&socket(AF_INET, 1, &[10, 0, 0, 5], 22, 54321, 9)).unwrap();
        assert_eq!(listener(&est, "tcp", AF_INET, true), Ok(None));
        let zero = diag_msg(&socket(AF_INET, TCP_LISTEN, &[0; 4], 0, 0, 9)).unwrap();
        assert_eq!(listener(&zero, "tcp", AF_INET, true), Ok(None));
        // A socket of the other family is not what was asked for.
        assert!(listener(&m, "udp", AF_INET, false).is_err());
    }

    #[test]
    fn truncated_or_malformed_answers_are_errors() {
        let whole = message(
            SOCK_DIAG_BY_FAMILY,
            &socket(AF_INET, TCP_LISTEN, &[0; 4], 22, 0, 1),
        );
        // Every truncation of a valid message.
        for cut in 1..whole.len() {
            let mut msgs = Vec::new();
            assert!(
                parse_datagram(&whole[..cut], 7, &mut msgs).is_err(),
                "cut at {cut}"
            );
        }
        let mut msgs = Vec::new();
        // A length below the header's, or beyond the datagram.
        for len in [0u32, 15, whole.len() as u32 + 1, u32::MAX] {
            let mut bad = whole.clone();
            bad[0..4].copy_from_slice(&len.to_ne_bytes());
            assert!(parse_datagram(&bad, 7, &mut msgs).is_err(), "length {len}");
        }
        // A header-only socket message (length 16): no inet_diag_msg.
        assert!(
            parse_datagram(&message(SOCK_DIAG_BY_FAMILY, &[]), 7, &mut msgs)
                .unwrap_err()
                .contains("truncated socket message")
        );
        // Another sequence (an answer to another request), an unknown type.
        assert!(parse_datagram(&whole, 8, &mut msgs).is_err());
        assert!(parse_datagram(&message(16, &[0; 72]), 7, &mut msgs).is_err());
        // The kernel's refusal, an acknowledgement, a truncated error.
        let enoent = message(NLMSG_ERROR, &(-2i32).to_ne_bytes());
        let e = parse_datagram(&enoent, 7, &mut msgs).unwrap_err();
        assert!(e.contains("refused") && e.contains("No such file"), "{e}");
        assert!(parse_datagram(&message(NLMSG_ERROR, &0i32.to_ne_bytes()), 7, &mut msgs).is_err());
        assert!(parse_datagram(&message(NLMSG_ERROR, &[1, 2]), 7, &mut msgs).is_err());
        assert!(
            parse_datagram(&message(NLMSG_ERROR, &i32::MIN.to_ne_bytes()), 7, &mut msgs).is_err()
        );
        assert!(msgs.is_empty(), "nothing kept from a bad answer: {msgs:?}");
        // Arbitrary bytes never panic.
        let mut x = 0x2545_f491_u32;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let _ = parse_datagram(&bytes, 7, &mut msgs);
            let mut with_header = whole[..16].to_vec();
            with_header[0..4].copy_from_slice(&((16 + len) as u32).to_ne_bytes());
            with_header.extend_from_slice(&bytes);
            let _ = parse_datagram(&with_header, 7, &mut msgs);
        }
    }
}

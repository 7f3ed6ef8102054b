//! Network exposure: listening sockets and their processes, IP forwarding, and the packet
//! filter (nftables, iptables, ufw, firewalld).
//!
//! Sockets are read in the network namespace of PID 1 (the host's, or the container's when the
//! agent runs inside one), not the reader's own, which would show only the agent's sockets if
//! its service ran with a private network (`PrivateNetwork=`). When the agent shares PID 1's
//! namespace they come from the kernel's socket diagnostics over netlink (`sockdiag`), which
//! asks for listening sockets only; otherwise from `/proc/1/net/*`, and from `/proc/net` when
//! PID 1 is not visible.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use async_trait::async_trait;
use serde_json::{Value, json};
use vouch_evidence::Source as ItemSource;

use super::logging::{conf_files, read_optional, setting};
use super::procs::Processes;
use crate::{
    CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, describe_io, fact,
    file,
};

mod rulesets;
mod sockdiag;
use rulesets::*;

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "host.network.listening",
        value_type: ValueType::ObjectList,
        meaning: "Sockets accepting connections: TCP in state LISTEN and UDP bound with no \
                  remote peer, each {protocol: tcp|tcp6|udp|udp6, address, port}, without \
                  duplicates, sorted by port. Read in the network namespace of PID 1 (the \
                  host's), whatever namespace the agent runs in.",
        source: "netlink sock_diag when the agent shares PID 1's network namespace, else \
                 /proc/1/net/{tcp,tcp6,udp,udp6} (else /proc/net/…)",
        context_only: Some(
            "the detail behind host.network.exposed_ports, which host.network.no_exposed_sensitive_ports judges.",
        ),
    },
    EvidenceSpec {
        id: "host.network.listening_processes",
        value_type: ValueType::ObjectList,
        meaning: "The listening sockets with the name of the process holding each \
                  ({protocol, address, port, process}; process null for a socket no process \
                  holds, such as the kernel's own; the lowest pid's name when several share \
                  one). Needs another user's open files: unavailable with the reason when any \
                  process's could not be read, never a partial list.",
        source: "netlink sock_diag or /proc/1/net/*, /proc/<pid>/fd/* (socket:[inode] links), \
                 /proc/<pid>/stat",
        context_only: Some(
            "the detail behind host.network.exposed_ports, which host.network.no_exposed_sensitive_ports judges.",
        ),
    },
    EvidenceSpec {
        id: "host.network.exposed_ports",
        value_type: ValueType::StringList,
        meaning: "Ports listening on an address other than loopback, as `tcp/22`, `udp/161` \
                  (IPv4 and IPv6 together), sorted by protocol and port: what the network can \
                  reach unless a firewall stops it.",
        source: "netlink sock_diag, else /proc/1/net/{tcp,tcp6,udp,udp6}",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.network.ip_forwarding",
        value_type: ValueType::Bool,
        meaning: "The host routes packets between interfaces (IPv4 `ip_forward` or IPv6 \
                  `conf.all.forwarding` is 1), in the agent's network namespace.",
        source: "/proc/sys/net/ipv4/ip_forward, /proc/sys/net/ipv6/conf/all/forwarding",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.firewall.active",
        value_type: ValueType::Bool,
        meaning: "A packet filter is in force for inbound traffic now: the kernel's ruleset has a \
                  filter base chain on the input hook (ip, ip6 or inet) with a rule or a drop \
                  policy. Read from the loaded ruleset, never from configuration files; reading \
                  it needs root (CAP_NET_ADMIN).",
        source: "nft list ruleset (else iptables-save, ip6tables-save)",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.firewall.backend",
        value_type: ValueType::String,
        meaning: "Which firewall manages the rules: `ufw` (enabled in ufw.conf), `firewalld` \
                  (running), otherwise what the loaded ruleset's inbound filtering is made of: \
                  `iptables` (tables of iptables or iptables-nft), `nftables`, or `none` (no \
                  inbound filtering loaded).",
        source: "/etc/ufw/ufw.conf, /proc/<pid>/stat, nft list ruleset (else iptables-save)",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.firewall.default_deny_inbound",
        value_type: ValueType::Bool,
        meaning: "The loaded ruleset drops or rejects inbound traffic that no rule accepts, for \
                  IPv4 and (when enabled) IPv6: an input base chain with policy drop, or whose \
                  first unconditional verdict is drop/reject (as firewalld's final reject). \
                  Needs root (CAP_NET_ADMIN).",
        source: "nft list ruleset (else iptables-save, ip6tables-save), /proc/sys/net/ipv6",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.firewall.configured_default_deny_inbound",
        value_type: ValueType::Bool,
        meaning: "The firewall configured to start at boot denies inbound traffic by default: \
                  ufw enabled with DEFAULT_INPUT_POLICY DROP or REJECT; firewalld enabled with a \
                  default zone whose target is not ACCEPT; the nftables service enabled with a \
                  configuration whose input chains deny by default. False when none is \
                  configured. Readable without root; what the kernel enforces now is \
                  host.firewall.default_deny_inbound.",
        source: "/etc/ufw/ufw.conf, /etc/default/ufw, /etc/firewalld/firewalld.conf and zones, \
                 /etc/nftables.conf or /etc/sysconfig/nftables.conf, systemd enablement links",
        context_only: Some(
            "what starts at boot, readable without root; the verdict rests on the ruleset in force (host.firewall.default_deny_inbound).",
        ),
    },
];

/// The collector.
pub struct Network;

const NFT: &str = "/usr/sbin/nft";
const IPTABLES_SAVE: &str = "/usr/sbin/iptables-save";
const IP6TABLES_SAVE: &str = "/usr/sbin/ip6tables-save";
const UFW_CONF: &str = "/etc/ufw/ufw.conf";
const UFW_DEFAULTS: &str = "/etc/default/ufw";
const FIREWALLD_CONF: &str = "/etc/firewalld/firewalld.conf";

// ---------------------------------------------------------------------------------------------
// Listening sockets

/// One listening socket.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listener {
    /// Its port.
    pub port: u16,
    /// `tcp`, `tcp6`, `udp` or `udp6` (the /proc/net table it was in).
    pub protocol: &'static str,
    /// The local address it is bound to.
    pub address: IpAddr,
    /// The socket's inode, which `/proc/<pid>/fd` links name.
    pub inode: u64,
}

/// An address as /proc/net prints it: the bytes in network order, printed as native-endian
/// 32-bit words (one for IPv4, four for IPv6) in hex.
pub fn decode_address(hex: &str) -> Option<IpAddr> {
    let word = |h: &str| u32::from_str_radix(h, 16).ok().map(u32::to_ne_bytes);
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(hex)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                chunk.copy_from_slice(&word(hex.get(i * 8..i * 8 + 8)?)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

/// (address, port, inode) of one line of /proc/net/{tcp,udp}[6] when the socket listens: TCP
/// in state `0A` (LISTEN), UDP with no remote peer (`00…0:0000`).
pub fn parse_socket_line(line: &str, tcp: bool) -> Option<(IpAddr, u16, u64)> {
    let mut f = line.split_whitespace();
    let local = f.nth(1)?;
    let remote = f.next()?;
    let state = f.next()?;
    let listening = if tcp {
        state == "0A"
    } else {
        remote.bytes().all(|b| b == b'0' || b == b':')
    };
    if !listening {
        return None;
    }
    let inode = f.nth(5)?.parse().ok()?;
    let (addr, port) = local.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok().filter(|p| *p != 0)?;
    Some((decode_address(addr)?, port, inode))
}

/// The directory of the socket tables: PID 1's namespace, else the reader's.
fn net_dir(ctx: &CollectContext) -> &'static str {
    if ctx.path("/proc/1/net").is_dir() {
        "/proc/1/net"
    } else {
        "/proc/net"
    }
}

/// Where the listening sockets were read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketsVia {
    /// The kernel's socket diagnostics over netlink, in PID 1's namespace.
    Netlink,
    /// The `/proc` tables in this directory.
    Tables(&'static str),
}

impl SocketsVia {
    /// The evidence source of the socket lists read this way.
    fn source(self) -> ItemSource {
        match self {
            SocketsVia::Netlink => ItemSource::Syscall(SOCK_DIAG.into()),
            SocketsVia::Tables(dir) => file(&format!("{dir}/{{tcp,tcp6,udp,udp6}}")),
        }
    }

    /// The evidence source of the sockets with their processes.
    fn with_processes(self) -> ItemSource {
        match self {
            SocketsVia::Netlink => ItemSource::Syscall(format!("{SOCK_DIAG}, /proc/<pid>/fd")),
            SocketsVia::Tables(dir) => file(&format!("{dir}/*, /proc/<pid>/fd")),
        }
    }
}

/// The source of the socket lists read over netlink.
const SOCK_DIAG: &str = "netlink sock_diag (SOCK_DIAG_BY_FAMILY) in PID 1's network namespace";

/// Whether the agent's network namespace is PID 1's, so that a netlink socket it opens sees
/// the sockets `/proc/1/net` lists. The `/proc/self/ns/net` and `/proc/1/ns/net` links name
/// the namespaces; reading PID 1's needs ptrace access to it, which an unprivileged agent (and
/// a sandboxed root) lacks. Then the `tcp` entry of `/proc/1/net` and of `/proc/self/net` are
/// compared: each namespace has its own entry, with its own inode number, so the same entry
/// means the same namespace. False when neither can be read.
fn same_namespace_as_pid_1() -> bool {
    match (
        std::fs::read_link("/proc/self/ns/net"),
        std::fs::read_link("/proc/1/ns/net"),
    ) {
        (Ok(own), Ok(pid1)) => own == pid1,
        _ => {
            use std::os::unix::fs::MetadataExt as _;
            let entry = |p: &str| std::fs::metadata(p).map(|m| (m.dev(), m.ino()));
            match (entry("/proc/self/net/tcp"), entry("/proc/1/net/tcp")) {
                (Ok(own), Ok(pid1)) => own == pid1,
                _ => false,
            }
        }
    }
}

/// Every listening socket, sorted. On a live host (root `/`) in PID 1's network namespace
/// from the kernel's socket diagnostics over netlink, which never walks the established
/// connections (a busy server has many; reading `/proc/net/tcp` walks the whole connection
/// table); otherwise, or when netlink fails (no `inet_diag` in the kernel, a seccomp filter),
/// from the `/proc` tables.
pub fn listeners(ctx: &CollectContext) -> (SocketsVia, Result<Vec<Listener>, String>) {
    if ctx.root == std::path::Path::new("/") && same_namespace_as_pid_1() {
        match sockdiag::listeners() {
            Ok(mut list) => {
                list.sort();
                return (SocketsVia::Netlink, Ok(list));
            }
            Err(e) => tracing::debug!("listening sockets from /proc: {e}"),
        }
    }
    let dir = net_dir(ctx);
    (SocketsVia::Tables(dir), read_tables(ctx, dir))
}

/// Every listening socket of the `/proc` tables in `dir`, sorted, streaming the tables line
/// by line (a busy server's tables hold many connections). The IPv6 tables are absent when
/// IPv6 is disabled.
pub fn read_tables(ctx: &CollectContext, dir: &str) -> Result<Vec<Listener>, String> {
    let mut out = Vec::new();
    for protocol in ["tcp", "tcp6", "udp", "udp6"] {
        let abs = format!("{dir}/{protocol}");
        let f = match std::fs::File::open(ctx.path(&abs)) {
            Ok(f) => f,
            Err(e) if protocol.ends_with('6') && e.kind() == std::io::ErrorKind::NotFound => {
                continue;
            }
            Err(e) => return Err(describe_io(&abs, &e)),
        };
        let mut reader = BufReader::new(f);
        let mut line = String::new();
        let mut header = true;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) if header => header = false,
                Ok(_) => {
                    if let Some((address, port, inode)) =
                        parse_socket_line(&line, protocol.starts_with("tcp"))
                    {
                        out.push(Listener {
                            port,
                            protocol,
                            address,
                            inode,
                        });
                    }
                }
                Err(e) => return Err(describe_io(&abs, &e)),
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The listening sockets as evidence objects (without inodes), without duplicates.
fn listening_value(list: &[Listener], owners: Option<&BTreeMap<u64, String>>) -> Value {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for l in list {
        let process = owners.map(|o| o.get(&l.inode).cloned());
        if seen.insert((l.port, l.protocol, l.address, process.clone())) {
            let mut item = json!({
                "protocol": l.protocol,
                "address": l.address.to_string(),
                "port": l.port,
            });
            if let Some(p) = process {
                item["process"] = json!(p);
            }
            out.push(item);
        }
    }
    Value::Array(out)
}

/// `tcp/22`-style ports bound to an address other than loopback, by protocol then port.
pub fn exposed_ports(list: &[Listener]) -> Vec<String> {
    let exposed: BTreeSet<(&str, u16)> = list
        .iter()
        .filter(|l| {
            let loopback = match l.address {
                IpAddr::V4(a) => a.is_loopback(),
                IpAddr::V6(a) => {
                    a.is_loopback() || a.to_ipv4_mapped().is_some_and(|m| m.is_loopback())
                }
            };
            !loopback
        })
        .map(|l| (l.protocol.trim_end_matches('6'), l.port))
        .collect();
    exposed
        .into_iter()
        .map(|(proto, port)| format!("{proto}/{port}"))
        .collect()
}

/// Whether IPv4 or IPv6 forwarding is on (IPv6's file is absent when IPv6 is disabled).
fn ip_forwarding(ctx: &CollectContext) -> Result<bool, String> {
    let v4 = ctx.read("/proc/sys/net/ipv4/ip_forward")?;
    let v6 = match ctx.read("/proc/sys/net/ipv6/conf/all/forwarding") {
        Err(e) if e.starts_with("not found") => String::new(),
        other => other?,
    };
    Ok(v4.trim() == "1" || v6.trim() == "1")
}

/// Whether the host has IPv6 (the module loaded and not disabled for all interfaces).
fn ipv6_enabled(ctx: &CollectContext) -> bool {
    ctx.path("/proc/sys/net/ipv6").is_dir()
        && ctx
            .read("/proc/sys/net/ipv6/conf/all/disable_ipv6")
            .map_or(true, |v| v.trim() != "1")
}

/// The kernel's ruleset: from nft, else (nft not installed) from iptables-save and
/// ip6tables-save.
async fn live_ruleset(ctx: &CollectContext) -> (ItemSource, Result<Ruleset, String>) {
    let nft = ItemSource::Command("nft list ruleset".into());
    match ctx.command(NFT, &["list", "ruleset"]).await {
        Ok(text) => return (nft, Ok(parse_nft(&text).0)),
        Err(e) if !e.starts_with("not installed") => return (nft, Err(ruleset_error(e))),
        Err(_) => {}
    }
    let source = ItemSource::Command("iptables-save; ip6tables-save".into());
    let v4 = match ctx.command(IPTABLES_SAVE, &[]).await {
        Ok(text) => text,
        Err(e) if e.starts_with("not installed") => {
            return (
                nft,
                Err(format!(
                    "not installed: {NFT}, {IPTABLES_SAVE} (the kernel's ruleset cannot be read)"
                )),
            );
        }
        Err(e) => return (source, Err(ruleset_error(e))),
    };
    let v6 = match ctx.command(IP6TABLES_SAVE, &[]).await {
        Ok(text) => text,
        Err(e) => return (source, Err(ruleset_error(e))),
    };
    let mut chains = parse_iptables_save(&v4, "ip");
    chains.extend(parse_iptables_save(&v6, "ip6"));
    (source, Ok(Ruleset { chains }))
}

/// Whether a systemd unit is enabled: its link in a `.wants` directory of /etc (the link
/// itself; its target may be elsewhere).
fn unit_enabled(ctx: &CollectContext, unit: &str, targets: &[&str]) -> bool {
    targets.iter().any(|t| {
        std::fs::symlink_metadata(ctx.path(&format!("/etc/systemd/system/{t}.wants/{unit}")))
            .is_ok()
    })
}

/// ufw is enabled in its configuration.
fn ufw_enabled(ctx: &CollectContext) -> Result<bool, String> {
    Ok(read_optional(ctx, UFW_CONF)?
        .is_some_and(|t| setting(&t, "ENABLED").is_some_and(|v| v.eq_ignore_ascii_case("yes"))))
}

/// The target of a firewalld zone file (`<zone target="…">`), `default` when unset.
pub fn zone_target(xml: &str) -> String {
    let tag = xml
        .find("<zone")
        .and_then(|i| xml[i..].split_once('>').map(|(t, _)| t))
        .unwrap_or_default();
    tag.split_once("target=")
        .and_then(|(_, v)| {
            let q = v.chars().next()?;
            v[1..].split(q).next()
        })
        .unwrap_or("default")
        .to_string()
}

/// The default zone's target denies inbound traffic not allowed by the zone.
fn firewalld_configured_deny(ctx: &CollectContext) -> Result<bool, String> {
    let conf = read_optional(ctx, FIREWALLD_CONF)?;
    let zone = conf
        .as_deref()
        .and_then(|t| setting(t, "DefaultZone"))
        .unwrap_or("public")
        .to_string();
    let etc = format!("/etc/firewalld/zones/{zone}.xml");
    let xml = match read_optional(ctx, &etc)? {
        Some(x) => x,
        None => ctx.read(&format!("/usr/lib/firewalld/zones/{zone}.xml"))?,
    };
    Ok(!zone_target(&xml).eq_ignore_ascii_case("ACCEPT"))
}

/// The nftables service's configuration, with its includes (literal paths or `dir/*.ext`),
/// at most a few levels deep.
fn nftables_config(
    ctx: &CollectContext,
    abs: &str,
    depth: u8,
    rs: &mut Ruleset,
) -> Result<(), String> {
    let (parsed, includes) = parse_nft(&ctx.read(abs)?);
    rs.chains.extend(parsed.chains);
    if depth == 0 {
        return Ok(());
    }
    for inc in includes {
        let files = match inc.rsplit_once("/*") {
            Some((dir, ext)) => conf_files(ctx, dir, ext)?.unwrap_or_default(),
            None => vec![inc],
        };
        for f in files {
            nftables_config(ctx, &f, depth - 1, rs)?;
        }
    }
    Ok(())
}

/// Whether the firewall configured to start at boot denies inbound traffic by default.
fn configured_default_deny(ctx: &CollectContext) -> (ItemSource, Result<bool, String>) {
    match ufw_enabled(ctx) {
        Ok(true) => {
            let policy = ctx.read(UFW_DEFAULTS).and_then(|t| {
                setting(&t, "DEFAULT_INPUT_POLICY")
                    .map(|p| matches!(p.to_ascii_uppercase().as_str(), "DROP" | "REJECT"))
                    .ok_or_else(|| format!("{UFW_DEFAULTS} has no DEFAULT_INPUT_POLICY"))
            });
            return (file(UFW_DEFAULTS), policy);
        }
        Err(e) => return (file(UFW_CONF), Err(e)),
        Ok(false) => {}
    }
    if unit_enabled(ctx, "firewalld.service", &["multi-user.target"]) {
        return (file(FIREWALLD_CONF), firewalld_configured_deny(ctx));
    }
    if unit_enabled(
        ctx,
        "nftables.service",
        &["sysinit.target", "multi-user.target"],
    ) {
        let conf = if ctx.path("/etc/nftables.conf").exists() {
            "/etc/nftables.conf"
        } else {
            "/etc/sysconfig/nftables.conf"
        };
        let mut rs = Ruleset::default();
        let deny =
            nftables_config(ctx, conf, 3, &mut rs).map(|()| rs.default_deny(ipv6_enabled(ctx)));
        return (file(conf), deny);
    }
    (file("/etc/systemd/system"), Ok(false))
}

#[async_trait]
impl Collector for Network {
    fn name(&self) -> &'static str {
        "host.network"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let (via, list) = listeners(ctx);
        let tables = via.source();
        let procs = Processes::read(ctx);
        let with_processes = list.as_ref().map_err(Clone::clone).and_then(|l| {
            if l.is_empty() {
                return Ok(Value::Array(Vec::new()));
            }
            let inodes: BTreeSet<u64> = l.iter().map(|s| s.inode).collect();
            let owners = procs
                .as_ref()
                .map_err(Clone::clone)?
                .socket_owners(ctx, &inodes)?;
            Ok(listening_value(l, Some(&owners)))
        });
        let (rules_source, ruleset) = live_ruleset(ctx).await;
        let ipv6 = ipv6_enabled(ctx);
        let backend = match ufw_enabled(ctx) {
            Ok(true) => (file(UFW_CONF), Ok("ufw")),
            Err(e) => (file(UFW_CONF), Err(e)),
            Ok(false) => match &procs {
                Ok(p) if p.running(ctx, "firewalld") => (file("/proc/<pid>/stat"), Ok("firewalld")),
                Ok(_) => (
                    rules_source.clone(),
                    ruleset.as_ref().map(Ruleset::kind).map_err(Clone::clone),
                ),
                Err(e) => (file("/proc/<pid>/stat"), Err(e.clone())),
            },
        };
        let (configured_source, configured) = configured_default_deny(ctx);
        Ok(vec![
            fact(
                "host.network.listening",
                tables.clone(),
                list.as_ref()
                    .map(|l| listening_value(l, None))
                    .map_err(Clone::clone),
            ),
            fact(
                "host.network.listening_processes",
                via.with_processes(),
                with_processes,
            ),
            fact(
                "host.network.exposed_ports",
                tables,
                list.as_deref().map(exposed_ports).map_err(Clone::clone),
            ),
            fact(
                "host.network.ip_forwarding",
                file("/proc/sys/net/ipv4/ip_forward"),
                ip_forwarding(ctx),
            ),
            fact(
                "host.firewall.active",
                rules_source.clone(),
                ruleset.as_ref().map(Ruleset::active).map_err(Clone::clone),
            ),
            fact("host.firewall.backend", backend.0, backend.1),
            fact(
                "host.firewall.default_deny_inbound",
                rules_source,
                ruleset
                    .as_ref()
                    .map(|r| r.default_deny(ipv6))
                    .map_err(Clone::clone),
            ),
            fact(
                "host.firewall.configured_default_deny_inbound",
                configured_source,
                configured,
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_and_ipv6_addresses_decode_from_proc_net_hex() {
        // Real lines from a little-endian host.
        let tcp = "   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   \
                   106        0 24157 1 0000000000000000 100 0 0 10 0";
        let (addr, port, inode) = parse_socket_line(tcp, true).unwrap();
        assert_eq!(
            (addr.to_string(), port, inode),
            ("127.0.0.1".into(), 3306, 24157)
        );
        let any = "   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     \
                   0        0 21001 1 0000000000000000 100 0 0 10 0";
        assert_eq!(
            parse_socket_line(any, true).unwrap().0.to_string(),
            "0.0.0.0"
        );
        let lan = "   2: 0501A8C0:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     \
                   0        0 777 1 0000000000000000 100 0 0 10 0";
        assert_eq!(
            parse_socket_line(lan, true).unwrap().0.to_string(),
            "192.168.1.5"
        );
        let v6_any = "   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 \
                      0A 00000000:00000000 00:00000000 00000000     0        0 21003 1 0000000000000000 100 0 0 10 0";
        assert_eq!(parse_socket_line(v6_any, true).unwrap().0.to_string(), "::");
        let v6_lo = "   1: 00000000000000000000000001000000:0143 00000000000000000000000000000000:0000 \
                     07 00000000:00000000 00:00000000 00000000     0        0 19002 2 0000000000000000 0";
        let (lo, port, _) = parse_socket_line(v6_lo, false).unwrap();
        assert_eq!((lo.to_string(), port), ("::1".into(), 323));
        // 2001:db8::5 and an IPv4-mapped 127.0.0.1.
        assert_eq!(
            decode_address("B80D0120000000000000000005000000")
                .unwrap()
                .to_string(),
            "2001:db8::5"
        );
        assert_eq!(
            decode_address("0000000000000000FFFF00000100007F")
                .unwrap()
                .to_string(),
            "::ffff:127.0.0.1"
        );
        assert_eq!(decode_address("0100007"), None);
        assert_eq!(decode_address("zz00007F"), None);
    }

    #[test]
    fn only_listening_sockets_are_kept() {
        let established = "   3: 0501A8C0:0016 0A01A8C0:D431 01 00000000:00000000 02:0009D5E1 00000000     \
                           0        0 31337 2 0000000000000000 20 4 29 10 -1";
        assert_eq!(parse_socket_line(established, true), None);
        // A connected UDP socket (chronyd's NTP client) is not listening.
        let connected = "  817: 0501A8C0:B5C2 0A0A0A0A:007B 01 00000000:00000000 00:00000000 00000000   \
                         104        0 19005 2 0000000000000000 0";
        assert_eq!(parse_socket_line(connected, false), None);
        let bound = "  120: 00000000:00A1 00000000:0000 07 00000000:00000000 00:00000000 00000000     \
                     0        0 4242 2 0000000000000000 0";
        assert_eq!(parse_socket_line(bound, false).unwrap().1, 161);
        assert_eq!(
            parse_socket_line("  sl  local_address rem_address   st", true),
            None
        );
    }

    fn l(protocol: &'static str, address: &str, port: u16) -> Listener {
        Listener {
            port,
            protocol,
            address: address.parse().unwrap(),
            inode: 1,
        }
    }

    #[test]
    fn exposed_ports_leave_out_loopback_and_merge_families() {
        let list = [
            l("tcp", "0.0.0.0", 22),
            l("tcp6", "::", 22),
            l("tcp", "127.0.0.1", 25),
            l("tcp6", "::1", 25),
            l("tcp6", "::ffff:127.0.0.1", 8080),
            l("udp", "127.0.0.53", 53),
            l("udp", "10.0.0.5", 161),
            l("tcp", "10.0.0.5", 443),
            l("tcp", "10.0.0.5", 80),
        ];
        assert_eq!(
            exposed_ports(&list),
            ["tcp/22", "tcp/80", "tcp/443", "udp/161"]
        );
    }

    #[test]
    fn listening_values_drop_duplicates_and_name_processes() {
        // Two sockets on one port (SO_REUSEPORT) and one no process holds.
        let mut dhcp = l("udp", "0.0.0.0", 68);
        dhcp.inode = 7;
        let mut web1 = l("tcp", "0.0.0.0", 80);
        web1.inode = 5;
        let mut web2 = l("tcp", "0.0.0.0", 80);
        web2.inode = 6;
        let list = [dhcp, web1, web2];
        assert_eq!(
            listening_value(&list, None),
            json!([
                {"protocol": "udp", "address": "0.0.0.0", "port": 68},
                {"protocol": "tcp", "address": "0.0.0.0", "port": 80},
            ])
        );
        let owners = BTreeMap::from([(5, "nginx".to_string()), (6, "nginx".to_string())]);
        assert_eq!(
            listening_value(&list, Some(&owners)),
            json!([
                {"protocol": "udp", "address": "0.0.0.0", "port": 68, "process": null},
                {"protocol": "tcp", "address": "0.0.0.0", "port": 80, "process": "nginx"},
            ])
        );
    }

    #[test]
    fn socket_tables_of_pid_1_else_of_the_reader() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = CollectContext::for_test(dir.path());
        let tables = |ctx: &CollectContext| {
            let (via, list) = listeners(ctx);
            assert_eq!(via, SocketsVia::Tables(net_dir(ctx)), "a fake root: /proc");
            list
        };
        assert_eq!(tables(&ctx).unwrap_err(), "not found: /proc/net/tcp");
        let net = dir.path().join("proc/net");
        std::fs::create_dir_all(&net).unwrap();
        let header = "  sl  local_address rem_address   st\n";
        let ssh = "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     \
                   0        0 21001 1 0000000000000000 100 0 0 10 0\n";
        std::fs::write(net.join("tcp"), format!("{header}{ssh}")).unwrap();
        assert_eq!(tables(&ctx).unwrap_err(), "not found: /proc/net/udp");
        std::fs::write(net.join("udp"), header).unwrap();
        // No IPv6 tables: IPv6 is off, not an error.
        assert_eq!(
            tables(&ctx).unwrap(),
            [{
                let mut s = l("tcp", "0.0.0.0", 22);
                s.inode = 21001;
                s
            }]
        );
        // PID 1's namespace wins when it is visible.
        let pid1 = dir.path().join("proc/1/net");
        std::fs::create_dir_all(&pid1).unwrap();
        std::fs::write(pid1.join("tcp"), header).unwrap();
        std::fs::write(pid1.join("udp"), header).unwrap();
        assert!(tables(&ctx).unwrap().is_empty());
        assert_eq!(listeners(&ctx).0, SocketsVia::Tables("/proc/1/net"));
    }

    /// The inode `/proc/self/fd` names for one of this process's sockets.
    fn socket_inode(fd: &impl std::os::fd::AsRawFd) -> u64 {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
        let link = link.to_string_lossy();
        link.strip_prefix("socket:[")
            .and_then(|s| s.strip_suffix(']'))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not a socket: {link}"))
    }

    #[test]
    fn netlink_and_the_proc_tables_agree_on_this_machine() {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        // A connected UDP socket and an accepted connection are not listeners.
        let connected = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        connected.connect(udp.local_addr().unwrap()).unwrap();
        let client = std::net::TcpStream::connect(tcp.local_addr().unwrap()).unwrap();
        let (accepted, _) = tcp.accept().unwrap();
        // IPv6 when the host has it.
        let tcp6 = std::net::TcpListener::bind("[::1]:0").ok();
        let udp6 = std::net::UdpSocket::bind("[::1]:0").ok();
        let ctx = CollectContext::for_test("/");
        // Other processes open and close sockets meanwhile: a few tries to read both alike.
        let mut tries = Vec::new();
        let list = loop {
            let mut netlink = sockdiag::listeners().expect("netlink sock_diag on this machine");
            netlink.sort();
            let tables = read_tables(&ctx, "/proc/self/net").unwrap();
            if netlink == tables {
                break netlink;
            }
            tries.push((netlink, tables));
            assert!(tries.len() < 5, "netlink and /proc differ: {tries:#?}");
        };
        let expect = |protocol: &str, addr: std::net::SocketAddr, inode: u64| {
            let found: Vec<&Listener> = list.iter().filter(|l| l.port == addr.port()).collect();
            assert!(
                found
                    .iter()
                    .any(|l| l.protocol == protocol && l.address == addr.ip() && l.inode == inode),
                "{protocol} {addr} (inode {inode}) in {found:?}"
            );
        };
        expect("tcp", tcp.local_addr().unwrap(), socket_inode(&tcp));
        expect("udp", udp.local_addr().unwrap(), socket_inode(&udp));
        if let Some(s) = &tcp6 {
            expect("tcp6", s.local_addr().unwrap(), socket_inode(s));
        }
        if let Some(s) = &udp6 {
            expect("udp6", s.local_addr().unwrap(), socket_inode(s));
        }
        for not in [
            socket_inode(&connected),
            socket_inode(&client),
            socket_inode(&accepted),
        ] {
            assert!(!list.iter().any(|l| l.inode == not), "inode {not} listed");
        }
        // On a live root the collector reads netlink whenever it shares PID 1's namespace.
        let (via, live) = listeners(&ctx);
        if same_namespace_as_pid_1() {
            assert_eq!(via, SocketsVia::Netlink);
        } else {
            assert_eq!(via, SocketsVia::Tables(net_dir(&ctx)));
        }
        assert!(live.is_ok());
    }

    const FIREWALLD: &str = r#"table inet firewalld { # progname firewalld
	ct helper helper-tftp-udp {
		type "tftp" protocol udp
		l3proto inet
	}

	set allowed { type ipv4_addr
		elements = { 10.0.0.1,
			     10.0.0.2 }
	}

	chain filter_INPUT {
		type filter hook input priority filter + 10; policy accept;
		ct state { established, related } accept
		ct status dnat accept
		iifname "lo" accept
		ct state invalid drop
		jump filter_INPUT_ZONES
		reject with icmpx admin-prohibited
	}

	chain filter_IN_public_allow {
		tcp dport 22 accept
	}
}
"#;

    #[test]
    fn nft_listing_finds_base_chains_policies_and_final_verdicts() {
        let (rs, includes) = parse_nft(FIREWALLD);
        assert!(includes.is_empty());
        let names: Vec<&str> = rs.chains.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["filter_INPUT", "filter_IN_public_allow"]);
        let input = &rs.chains[0];
        assert_eq!(input.hook.as_deref(), Some("input"));
        assert!(!input.policy_drop);
        assert_eq!(input.rules, 6);
        assert_eq!(input.first_verdict, Some(Verdict::Deny));
        assert_eq!(rs.chains[1].hook, None);
        assert!(rs.active() && rs.default_deny(true));
        assert_eq!(rs.kind(), "nftables");
    }

    #[test]
    fn nft_configuration_one_liners_and_includes() {
        let conf = "#!/usr/sbin/nft -f\nflush ruleset\ninclude \"/etc/nftables.d/*.nft\"\n\
                    table ip filter { chain input { type filter hook input priority 0; policy drop; } }\n\
                    table ip6 filter {\n chain input {\n type filter hook input priority 0; policy accept;\n \
                    counter packets 0 bytes 0 accept # everything\n drop\n }\n}\n";
        let (rs, includes) = parse_nft(conf);
        assert_eq!(includes, ["/etc/nftables.d/*.nft"]);
        assert_eq!(rs.chains.len(), 2);
        assert!(rs.chains[0].policy_drop && !rs.chains[0].iptables);
        assert_eq!(rs.chains[1].first_verdict, Some(Verdict::Accept));
        // IPv6 accepts everything first: not default-deny while IPv6 is on.
        assert!(!rs.default_deny(true));
        assert!(rs.default_deny(false));
    }

    #[test]
    fn an_empty_or_accepting_ruleset_is_not_a_firewall() {
        assert_eq!(parse_nft("").0.kind(), "none");
        let docker = "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n\
                      \tchain FORWARD {\n\t\ttype filter hook forward priority filter; policy drop;\n\t\tcounter packets 5 bytes 300 jump DOCKER-USER\n\t}\n}\n";
        let (rs, _) = parse_nft(docker);
        assert!(!rs.active());
        assert!(!rs.default_deny(false));
        assert_eq!(rs.kind(), "none");
        assert!(rs.chains[0].iptables);
    }

    #[test]
    fn verdicts_only_when_unconditional() {
        type Parse = fn(&str) -> Option<Verdict>;
        let (nft, ipt): (Parse, Parse) = (nft_verdict, iptables_verdict);
        let (deny, accept) = (Some(Verdict::Deny), Some(Verdict::Accept));
        let cases = [
            (nft, "drop", deny),
            (nft, "counter packets 12 bytes 720 drop", deny),
            (
                nft,
                "log prefix \"INPUT drop: \" level info reject with icmpx port-unreachable",
                deny,
            ),
            (nft, "counter accept", accept),
            (nft, "tcp dport 22 drop", None),
            (nft, "iifname \"lo\" accept", None),
            (nft, "jump filter_INPUT_ZONES", None),
            (ipt, "-j DROP", deny),
            (
                ipt,
                "-m comment --comment \"last\" -j REJECT --reject-with icmp-host-prohibited",
                deny,
            ),
            (ipt, "-j ACCEPT", accept),
            (ipt, "-i lo -j ACCEPT", None),
            (ipt, "-j ufw-before-input", None),
        ];
        for (parse, rule, verdict) in cases {
            assert_eq!(parse(rule), verdict, "{rule}");
        }
    }

    #[test]
    fn iptables_save_output_gives_the_filter_chains() {
        let v4 = "# Generated by iptables-save v1.8.9 (nf_tables)\n*nat\n:PREROUTING ACCEPT [0:0]\n\
                  -A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 8080\nCOMMIT\n*filter\n\
                  :INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:ufw-before-input - [0:0]\n\
                  -A INPUT -j ufw-before-input\n-A ufw-before-input -i lo -j ACCEPT\nCOMMIT\n";
        let v6 = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
        let mut chains = parse_iptables_save(v4, "ip");
        assert_eq!(chains.len(), 4);
        assert_eq!(chains[0].rules, 1);
        assert_eq!(chains[3].rules, 1);
        assert_eq!(chains[3].hook, None);
        chains.extend(parse_iptables_save(v6, "ip6"));
        let rs = Ruleset { chains };
        assert!(rs.active());
        assert_eq!(rs.kind(), "iptables");
        assert!(rs.default_deny(false));
        assert!(!rs.default_deny(true), "IPv6 accepts what no rule matches");
    }

    #[test]
    fn firewalld_zone_targets() {
        assert_eq!(
            zone_target("<?xml version=\"1.0\"?>\n<zone>\n<short>Public</short>"),
            "default"
        );
        assert_eq!(
            zone_target("<zone target=\"ACCEPT\">\n<short>Trusted</short>"),
            "ACCEPT"
        );
        assert_eq!(zone_target("<zone version='1' target='DROP'>"), "DROP");
        assert_eq!(zone_target("<zone>\n<rule target=\"ACCEPT\"/>"), "default");
    }

    #[test]
    fn privilege_failures_say_so() {
        let e = ruleset_error(
            "`nft list ruleset` failed (exit status: 1): netlink: Error: cache initialization failed: Operation not permitted".into(),
        );
        assert!(e.starts_with("needs root (CAP_NET_ADMIN)"), "{e}");
        assert_eq!(
            ruleset_error("`nft list ruleset` timed out after 10 s".into()),
            "`nft list ruleset` timed out after 10 s"
        );
    }
}

//! Operating system, kernel, hostname, uptime and boot time.

use async_trait::async_trait;

use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact, file};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "host.os.id",
        value_type: ValueType::String,
        meaning: "Distribution id (`ID` of os-release), e.g. debian, rhel.",
        source: "/etc/os-release, else /usr/lib/os-release",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.os.name",
        value_type: ValueType::String,
        meaning: "Distribution name and version for people (`PRETTY_NAME`).",
        source: "/etc/os-release, else /usr/lib/os-release",
        context_only: Some(
            "inventory: it describes the asset and requires nothing.",
        ),
    },
    EvidenceSpec {
        id: "host.os.version_id",
        value_type: ValueType::String,
        meaning: "Distribution version (`VERSION_ID`), e.g. 12, 9.4.",
        source: "/etc/os-release, else /usr/lib/os-release",
        context_only: None,
    },
    EvidenceSpec {
        id: "host.kernel.release",
        value_type: ValueType::String,
        meaning: "Running kernel release.",
        source: "/proc/sys/kernel/osrelease",
        context_only: Some(
            "inventory; patching is judged from the package database (host.packages.*).",
        ),
    },
    EvidenceSpec {
        id: "host.system.hostname",
        value_type: ValueType::String,
        meaning: "Hostname.",
        source: "/proc/sys/kernel/hostname, else /etc/hostname",
        context_only: Some(
            "inventory: it describes the asset and requires nothing.",
        ),
    },
    EvidenceSpec {
        id: "host.system.uptime_seconds",
        value_type: ValueType::Integer,
        meaning: "Seconds since boot.",
        source: "/proc/uptime",
        context_only: Some(
            "inventory; a pending reboot is judged by host.system.no_reboot_pending.",
        ),
    },
    EvidenceSpec {
        id: "host.system.boot_time",
        value_type: ValueType::Timestamp,
        meaning: "When the host last booted (UTC).",
        source: "/proc/stat (btime)",
        context_only: Some(
            "inventory; a pending reboot is judged by host.system.no_reboot_pending.",
        ),
    },
    EvidenceSpec {
        id: "host.system.machine_id_present",
        value_type: ValueType::Bool,
        meaning: "The host has a machine id (32 hex digits), which identifies the asset.",
        source: "/etc/machine-id",
        context_only: Some(
            "inventory: whether the asset's id comes from /etc/machine-id.",
        ),
    },
];

/// The collector.
pub struct System;

/// The hostname, from the kernel or /etc/hostname.
pub fn hostname(ctx: &CollectContext) -> Result<String, String> {
    ctx.read("/proc/sys/kernel/hostname")
        .or_else(|_| ctx.read("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .and_then(|s| {
            if s.is_empty() {
                Err("hostname is empty".into())
            } else {
                Ok(s)
            }
        })
}

/// The key=value pairs of an os-release file.
type OsRelease = Vec<(String, String)>;

/// (path read, pairs) of os-release.
fn os_release(ctx: &CollectContext) -> (&'static str, Result<OsRelease, String>) {
    let (path, text) = match ctx.read("/etc/os-release") {
        Ok(t) => ("/etc/os-release", Ok(t)),
        Err(_) => ("/usr/lib/os-release", ctx.read("/usr/lib/os-release")),
    };
    let pairs = text.map(|t| {
        t.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| {
                (
                    k.trim().to_string(),
                    v.trim().trim_matches('"').trim_matches('\'').to_string(),
                )
            })
            .collect()
    });
    (path, pairs)
}

#[async_trait]
impl Collector for System {
    fn name(&self) -> &'static str {
        "host.system"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let (osr_path, osr) = os_release(ctx);
        let key = |k: &str| -> Result<String, String> {
            let pairs = osr.as_ref().map_err(Clone::clone)?;
            pairs
                .iter()
                .find(|(kk, _)| kk == k)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| format!("{osr_path} has no {k}"))
        };
        let uptime = ctx.read("/proc/uptime").and_then(|t| {
            t.split_whitespace()
                .next()
                .and_then(|s| s.parse::<f64>().ok())
                .map(|f| f as u64)
                .ok_or_else(|| "/proc/uptime is not readable as seconds".to_string())
        });
        let boot = ctx.read("/proc/stat").and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|s| s.trim().parse::<i64>().ok())
                .and_then(|secs| vouch_evidence::Timestamp::from_unix_micros(secs * 1_000_000))
                .map(|t| t.to_string())
                .ok_or_else(|| "/proc/stat has no btime".to_string())
        });
        let machine_id = ctx.read("/etc/machine-id").map(|s| {
            let s = s.trim();
            s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
        });
        let machine_id = match machine_id {
            Err(e) if e.starts_with("not found") => Ok(false),
            other => other,
        };
        Ok(vec![
            fact("host.os.id", file(osr_path), key("ID")),
            fact(
                "host.os.name",
                file(osr_path),
                key("PRETTY_NAME").or_else(|_| key("NAME")),
            ),
            fact("host.os.version_id", file(osr_path), key("VERSION_ID")),
            fact(
                "host.kernel.release",
                file("/proc/sys/kernel/osrelease"),
                ctx.read("/proc/sys/kernel/osrelease")
                    .map(|s| s.trim().to_string()),
            ),
            fact(
                "host.system.hostname",
                file("/proc/sys/kernel/hostname"),
                hostname(ctx),
            ),
            fact("host.system.uptime_seconds", file("/proc/uptime"), uptime),
            fact("host.system.boot_time", file("/proc/stat"), boot),
            fact(
                "host.system.machine_id_present",
                file("/etc/machine-id"),
                machine_id,
            ),
        ])
    }
}

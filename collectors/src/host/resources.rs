//! CPU and memory, from /proc below the root.

use async_trait::async_trait;

use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact, file};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "host.cpu.count",
        value_type: ValueType::Integer,
        meaning: "Logical CPUs.",
        source: "/proc/cpuinfo",
        context_only: Some(
            "inventory: it describes the asset and requires nothing.",
        ),
    },
    EvidenceSpec {
        id: "host.cpu.model",
        value_type: ValueType::String,
        meaning: "CPU model name.",
        source: "/proc/cpuinfo",
        context_only: Some(
            "inventory: it describes the asset and requires nothing.",
        ),
    },
    EvidenceSpec {
        id: "host.memory.total_bytes",
        value_type: ValueType::Integer,
        meaning: "Installed memory.",
        source: "/proc/meminfo (MemTotal)",
        context_only: Some(
            "inventory: it describes the asset and requires nothing.",
        ),
    },
    EvidenceSpec {
        id: "host.memory.available_bytes",
        value_type: ValueType::Integer,
        meaning: "Memory available to new work.",
        source: "/proc/meminfo (MemAvailable)",
        context_only: Some(
            "inventory: it describes the asset and requires nothing.",
        ),
    },
    EvidenceSpec {
        id: "host.swap.total_bytes",
        value_type: ValueType::Integer,
        meaning: "Swap space configured (0: none).",
        source: "/proc/meminfo (SwapTotal)",
        context_only: Some(
            "inventory: it describes the asset and requires nothing.",
        ),
    },
];

/// The collector.
pub struct Resources;

#[async_trait]
impl Collector for Resources {
    fn name(&self) -> &'static str {
        "host.resources"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let cpuinfo = ctx.read("/proc/cpuinfo");
        let count = cpuinfo.clone().and_then(|t| {
            let n = t.lines().filter(|l| l.starts_with("processor")).count();
            if n == 0 {
                Err("/proc/cpuinfo lists no processor".to_string())
            } else {
                Ok(n as u64)
            }
        });
        let model = cpuinfo.and_then(|t| {
            t.lines()
                .find_map(|l| {
                    l.strip_prefix("model name")
                        .and_then(|r| r.split_once(':'))
                        .map(|(_, v)| v.trim().to_string())
                })
                .ok_or_else(|| "/proc/cpuinfo has no model name".to_string())
        });
        let meminfo = ctx.read("/proc/meminfo");
        let mem = |key: &str| -> Result<u64, String> {
            let text = meminfo.as_ref().map_err(Clone::clone)?;
            text.lines()
                .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
                .map(|kib| kib * 1024)
                .ok_or_else(|| format!("/proc/meminfo has no {key}"))
        };
        Ok(vec![
            fact("host.cpu.count", file("/proc/cpuinfo"), count),
            fact("host.cpu.model", file("/proc/cpuinfo"), model),
            fact(
                "host.memory.total_bytes",
                file("/proc/meminfo"),
                mem("MemTotal"),
            ),
            fact(
                "host.memory.available_bytes",
                file("/proc/meminfo"),
                mem("MemAvailable"),
            ),
            fact(
                "host.swap.total_bytes",
                file("/proc/meminfo"),
                mem("SwapTotal"),
            ),
        ])
    }
}

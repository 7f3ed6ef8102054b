//! The table `vouch-agent collect` prints: evidence grouped by area, one line per fact, long
//! values shortened to the line, unavailable facts with their reason, failed collectors last.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;
use vouch_collectors::Collected;
use vouch_evidence::{ItemStatus, RunOutcome};

/// The widest a value column gets before it is shortened with `…`.
const VALUE_WIDTH: usize = 72;

/// The table for one source's collection.
pub fn render(c: &Collected, took: Duration) -> String {
    let failed = c
        .collectors
        .iter()
        .filter(|r| r.outcome != RunOutcome::Ok)
        .count();
    let unavailable = c
        .evidence
        .values()
        .filter(|i| i.status == ItemStatus::Unavailable)
        .count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({}): {} facts, {} unavailable; {} collectors, {} failed; {} ms",
        c.asset.kind,
        c.asset.name,
        c.asset.id,
        c.evidence.len(),
        unavailable,
        c.collectors.len(),
        failed,
        took.as_millis()
    );
    let width = c
        .evidence
        .keys()
        .map(|id| id.splitn(3, '.').nth(2).unwrap_or(id).len())
        .max()
        .unwrap_or(10);
    let mut area = "";
    for (id, item) in &c.evidence {
        let mut parts = id.splitn(3, '.');
        let (source, group, fact) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let this_area = &id[..source.len() + 1 + group.len()];
        if this_area != area {
            area = this_area;
            let _ = writeln!(out, "{area}");
        }
        let shown = match item.status {
            ItemStatus::Ok => shorten(&describe(&item.value)),
            ItemStatus::Unavailable => shorten(&format!(
                "unavailable: {}",
                item.reason.as_deref().unwrap_or("no reason given")
            )),
        };
        let _ = writeln!(out, "  {fact:<width$}  {shown}");
    }
    for run in c.collectors.iter().filter(|r| r.outcome != RunOutcome::Ok) {
        if let RunOutcome::Error { message } = &run.outcome {
            let _ = writeln!(out, "collector {} failed: {message}", run.name);
        }
    }
    out
}

/// A value for people: strings bare, lists as their length and first members.
fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "none".into(),
        Value::Array(a) => {
            let members: Vec<String> = a
                .iter()
                .map(|m| match m {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => o
                        .values()
                        .map(|x| match x {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
                    other => other.to_string(),
                })
                .collect();
            format!("({}) {}", a.len(), members.join(", "))
        }
        other => other.to_string(),
    }
}

fn shorten(s: &str) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() <= VALUE_WIDTH {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(VALUE_WIDTH - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use vouch_evidence::{Asset, AssetKind, CollectorRun, EvidenceItem, Source};

    #[test]
    fn groups_by_area_shortens_and_names_failures() {
        let t = "2026-11-24T02:00:00Z".parse().unwrap();
        let mut evidence = BTreeMap::new();
        let f = |p: &str| Source::File(p.into());
        evidence.insert(
            "host.ssh.permit_root_login".to_string(),
            EvidenceItem::ok("no", f("/etc/ssh/sshd_config")),
        );
        evidence.insert(
            "host.ssh.weak_ciphers".to_string(),
            EvidenceItem::ok(serde_json::json!([]), f("/etc/ssh/sshd_config")),
        );
        evidence.insert(
            "host.network.listening".to_string(),
            EvidenceItem::ok(
                serde_json::json!([{"port": 22, "process": "sshd"}, {"port": 5432, "process": "postgres"}]),
                f("/proc/net/tcp"),
            ),
        );
        evidence.insert(
            "host.accounts.empty_password_count".to_string(),
            EvidenceItem::unavailable(f("/etc/shadow"), "permission denied reading /etc/shadow"),
        );
        evidence.insert(
            "host.os.name".to_string(),
            EvidenceItem::ok("x".repeat(200), f("/etc/os-release")),
        );
        let c = Collected {
            asset: Asset {
                kind: AssetKind::Host,
                id: "m-1".into(),
                name: "web-1".into(),
            },
            collected_at: t,
            collectors: vec![CollectorRun {
                name: "host.ssh".into(),
                version: "0.1.0".into(),
                started_at: t,
                finished_at: t,
                outcome: RunOutcome::Error {
                    message: "collector panicked".into(),
                },
            }],
            evidence,
        };
        let table = render(&c, Duration::from_millis(42));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "host web-1 (m-1): 5 facts, 1 unavailable; 1 collectors, 1 failed; 42 ms"
        );
        assert_eq!(lines[1], "host.accounts");
        assert!(lines[2].ends_with("unavailable: permission denied reading /etc/shadow"));
        assert!(table.contains("\nhost.network\n"));
        assert!(table.contains("(2) 22 sshd, 5432 postgres"));
        assert!(table.contains("  weak_ciphers          none\n"), "{table}");
        let os = lines.iter().find(|l| l.contains("xxx")).unwrap();
        assert!(os.ends_with('…') && os.chars().count() < 100);
        assert_eq!(
            lines.last().unwrap(),
            &"collector host.ssh failed: collector panicked"
        );
    }
}

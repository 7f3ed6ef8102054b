//! Vulnerabilities of the imported Trivy, Grype and CycloneDX reports, with the VEX state that
//! a CycloneDX document's analysis gives each (a statement about a vulnerability in a package
//! version applies to every report of the import that finds it there, the newest document's
//! statement winning), and the age limits the pack judges them by.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use vouch_evidence::EvidenceItem;

use super::report::{Format, Severity, Vuln};
use super::{Batch, MAX_FINDINGS, Shared, all_unavailable, files_source};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "import.vulnerabilities.critical_high",
        value_type: ValueType::ObjectList,
        meaning: "Critical and high vulnerabilities the imported Trivy, Grype and CycloneDX reports find: `{id, severity, package, version, fixed_version, artifact, tool, since, vex}`, `since` the advisory's publication or else the time the report was written (null when neither is known), `vex` the CycloneDX analysis state that applies (`not_affected`, `false_positive`, `exploitable`, `in_triage`, `resolved`…) or null; one per advisory, package version and artifact; critical first, then oldest; at most 1000.",
        source: "Trivy `Results[].Vulnerabilities`, Grype `matches`, CycloneDX `vulnerabilities` (and their `analysis`)",
        context_only: None,
    },
    EvidenceSpec {
        id: "import.vulnerabilities.critical_high_count",
        value_type: ValueType::Integer,
        meaning: "How many critical and high vulnerabilities those are (the whole count behind the list).",
        source: "as `import.vulnerabilities.critical_high`",
        context_only: None,
    },
    EvidenceSpec {
        id: "import.vulnerabilities.by_severity",
        value_type: ValueType::Object,
        meaning: "Vulnerabilities found, of every severity, counted by severity (`critical`, `high`, `medium`, `low`, `unknown`).",
        source: "as `import.vulnerabilities.critical_high`",
        context_only: Some(
            "the population behind the judged list; medium and low vulnerabilities are the team's to schedule",
        ),
    },
    EvidenceSpec {
        id: "import.vulnerabilities.max_age_days",
        value_type: ValueType::Object,
        meaning: "The days a vulnerability may stay open, by severity: `{critical, high}` (`critical_max_age_days`, `high_max_age_days` of the agent's configuration).",
        source: "collectors.import.critical_max_age_days, collectors.import.high_max_age_days",
        context_only: None,
    },
    EvidenceSpec {
        id: "import.vulnerabilities.reports",
        value_type: ValueType::Integer,
        meaning: "How many imported reports carry vulnerability findings (Trivy, Grype, CycloneDX with vulnerabilities).",
        source: "the imported reports",
        context_only: None,
    },
];

/// One vulnerability with the tool that found it and the VEX state that applies.
pub(crate) struct Found<'a> {
    pub(crate) vuln: &'a Vuln,
    pub(crate) tool: &'a str,
    pub(crate) since: Option<vouch_evidence::Timestamp>,
    pub(crate) vex: Option<String>,
}

/// Every vulnerability of the batch, once per (advisory, package, version, artifact), with the
/// VEX statements applied.
pub(crate) fn found(batch: &Batch) -> Vec<Found<'_>> {
    // VEX statements, the newest document's last.
    let mut cdx: Vec<_> = batch.of(Format::CycloneDx).collect();
    cdx.sort_by(|a, b| (a.report.created, &a.path).cmp(&(b.report.created, &b.path)));
    let mut vex: BTreeMap<(&str, &str, &str), &str> = BTreeMap::new();
    for r in &cdx {
        for s in &r.report.vex {
            vex.insert(
                (s.id.as_str(), s.package.as_str(), s.version.as_str()),
                s.state.as_str(),
            );
        }
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for r in &batch.reports {
        if !matches!(r.format, Format::Trivy | Format::Grype | Format::CycloneDx) {
            continue;
        }
        for v in &r.report.vulns {
            if !seen.insert((&v.id, &v.package, &v.version, &v.artifact)) {
                continue;
            }
            // A statement about the advisory, else about one of its aliases (a GHSA's CVE).
            let package = v.package.to_ascii_lowercase();
            let statement = std::iter::once(&v.id)
                .chain(&v.aliases)
                .find_map(|id| vex.get(&(id.as_str(), package.as_str(), v.version.as_str())))
                .map(|s| s.to_string());
            out.push(Found {
                vuln: v,
                tool: &r.report.tool,
                since: v.published.or(r.report.created),
                vex: statement.or_else(|| v.vex.clone()),
            });
        }
    }
    out.sort_by(|a, b| {
        (a.vuln.severity, a.since, &a.vuln.id, &a.vuln.package).cmp(&(
            b.vuln.severity,
            b.since,
            &b.vuln.id,
            &b.vuln.package,
        ))
    });
    out
}

/// The collector.
pub struct Vulnerabilities(pub(super) Arc<Shared>);

#[async_trait]
impl Collector for Vulnerabilities {
    fn name(&self) -> &'static str {
        "import.vulnerabilities"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let batch = self.0.batch(ctx).await;
        if let Some(reason) = batch.none_readable() {
            return Ok(all_unavailable(EVIDENCE, &reason));
        }
        let source = files_source(&batch, None);
        let all = found(&batch);
        let urgent: Vec<&Found<'_>> = all
            .iter()
            .filter(|f| matches!(f.vuln.severity, Severity::Critical | Severity::High))
            .collect();
        let listed: Vec<_> = urgent
            .iter()
            .take(MAX_FINDINGS)
            .map(|f| {
                json!({
                    "id": f.vuln.id,
                    "severity": f.vuln.severity.as_str(),
                    "package": f.vuln.package,
                    "version": f.vuln.version,
                    "fixed_version": f.vuln.fixed_version,
                    "artifact": f.vuln.artifact,
                    "tool": f.tool,
                    "since": f.since.map(|t| t.to_string()),
                    "vex": f.vex,
                })
            })
            .collect();
        let mut by_severity = serde_json::Map::new();
        for s in [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Unknown,
        ] {
            let n = all.iter().filter(|f| f.vuln.severity == s).count();
            by_severity.insert(s.as_str().to_string(), json!(n));
        }
        let reports = batch
            .reports
            .iter()
            .filter(|r| {
                matches!(r.format, Format::Trivy | Format::Grype)
                    || (r.format == Format::CycloneDx && !r.report.vulns.is_empty())
            })
            .count();
        let config = &self.0.config;
        Ok(vec![
            (
                "import.vulnerabilities.critical_high",
                EvidenceItem::ok(listed, source.clone()),
            ),
            (
                "import.vulnerabilities.critical_high_count",
                EvidenceItem::ok(urgent.len(), source.clone()),
            ),
            (
                "import.vulnerabilities.by_severity",
                EvidenceItem::ok(by_severity, source.clone()),
            ),
            (
                "import.vulnerabilities.max_age_days",
                EvidenceItem::ok(
                    json!({"critical": config.critical_max_age_days, "high": config.high_max_age_days}),
                    vouch_evidence::Source::File("agent configuration".into()),
                ),
            ),
            ("import.vulnerabilities.reports", EvidenceItem::ok(reports, source)),
        ])
    }
}

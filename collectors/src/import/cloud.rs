//! Cloud posture findings of the imported Prowler reports (OCSF): each failed check with its
//! resource. Which control a check serves is the policy pack's reviewed table
//! (`policies/pack/lib/prowler.rego`), not Prowler's framework lists.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use vouch_evidence::EvidenceItem;

use super::report::Format;
use super::{MAX_FINDINGS, Shared, all_unavailable, files_source};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "import.cloud.failed",
        value_type: ValueType::ObjectList,
        meaning: "Failed, unmuted findings of the imported Prowler reports: `{check_id, severity, provider, account, region, resource}`; by check id and resource; at most 1000.",
        source: "Prowler OCSF findings (`metadata.event_code`, `status_code` FAIL, `status` not Suppressed, `cloud`, `resources[0].uid`)",
        context_only: None,
    },
    EvidenceSpec {
        id: "import.cloud.failed_count",
        value_type: ValueType::Integer,
        meaning: "How many failed, unmuted findings there are (the whole count behind the list).",
        source: "as `import.cloud.failed`",
        context_only: None,
    },
    EvidenceSpec {
        id: "import.cloud.by_status",
        value_type: ValueType::Object,
        meaning: "Findings counted by status (`PASS`, `FAIL`, `MANUAL`), and `muted`: those Prowler's mutelist muted.",
        source: "as `import.cloud.failed`",
        context_only: Some("the population behind the judged list, for the auditor"),
    },
    EvidenceSpec {
        id: "import.cloud.reports",
        value_type: ValueType::Integer,
        meaning: "How many Prowler reports were imported.",
        source: "the imported reports",
        context_only: None,
    },
];

/// The collector.
pub struct Cloud(pub(super) Arc<Shared>);

#[async_trait]
impl Collector for Cloud {
    fn name(&self) -> &'static str {
        "import.cloud"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let batch = self.0.batch(ctx).await;
        if let Some(reason) = batch.none_readable() {
            return Ok(all_unavailable(EVIDENCE, &reason));
        }
        let source = files_source(&batch, Some(Format::ProwlerOcsf));
        let mut failed = Vec::new();
        let mut by_status = serde_json::Map::new();
        for status in ["PASS", "FAIL", "MANUAL", "muted"] {
            by_status.insert(status.to_string(), json!(0));
        }
        let mut reports = 0usize;
        for r in batch.of(Format::ProwlerOcsf) {
            reports += 1;
            for f in &r.report.cloud {
                let key = if f.muted { "muted" } else { f.status.as_str() };
                if let Some(n) = by_status.get_mut(key) {
                    *n = json!(n.as_u64().unwrap_or(0) + 1);
                }
                if !f.muted && f.status == "FAIL" {
                    failed.push(f);
                }
            }
        }
        failed.sort_by(|a, b| (&a.check_id, &a.resource).cmp(&(&b.check_id, &b.resource)));
        failed.dedup_by(|a, b| a.check_id == b.check_id && a.resource == b.resource && a.account == b.account);
        let listed: Vec<_> = failed
            .iter()
            .take(MAX_FINDINGS)
            .map(|f| {
                json!({
                    "check_id": f.check_id,
                    "severity": f.severity.as_str(),
                    "provider": f.provider,
                    "account": f.account,
                    "region": f.region,
                    "resource": f.resource,
                })
            })
            .collect();
        Ok(vec![
            ("import.cloud.failed", EvidenceItem::ok(listed, source.clone())),
            (
                "import.cloud.failed_count",
                EvidenceItem::ok(failed.len(), source.clone()),
            ),
            ("import.cloud.by_status", EvidenceItem::ok(by_status, source.clone())),
            ("import.cloud.reports", EvidenceItem::ok(reports, source)),
        ])
    }
}

//! The reports themselves: which were imported (path, digest, format, tool and version) and
//! which could not be, with the problem.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use vouch_evidence::EvidenceItem;

use super::{MAX_FINDINGS, Shared, files_source};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "import.reports.imported",
        value_type: ValueType::ObjectList,
        meaning: "The reports imported, one per SHA-256 digest, by path: `{path, sha256, format, tool, tool_version, created, findings, copies}` (`format` one of `sarif`, `cyclonedx`, `trivy`, `grype`, `ocsf-prowler`; `created` when the report says when it was written; `copies` the matched files holding the same bytes, imported once); at most 1000.",
        source: "the files the import's path globs match",
        context_only: None,
    },
    EvidenceSpec {
        id: "import.reports.unreadable",
        value_type: ValueType::ObjectList,
        meaning: "Files that could not be imported, by path: `{path, problem}`, the problem naming the line and column or the JSON path where there is one (too large, not JSON, nested too deep, of no known format, of the wrong shape, unreadable); at most 1000.",
        source: "the files the import's path globs match",
        context_only: None,
    },
];

/// The collector.
pub struct Reports(pub(super) Arc<Shared>);

#[async_trait]
impl Collector for Reports {
    fn name(&self) -> &'static str {
        "import.reports"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let batch = self.0.batch(ctx).await;
        let source = files_source(&batch, None);
        let imported: Vec<_> = batch
            .reports
            .iter()
            .take(MAX_FINDINGS)
            .map(|r| {
                json!({
                    "path": r.path,
                    "sha256": r.sha256,
                    "format": r.format.as_str(),
                    "tool": r.report.tool,
                    "tool_version": r.report.tool_version,
                    "created": r.report.created.map(|t| t.to_string()),
                    "findings": r.report.findings(),
                    "copies": r.copies,
                })
            })
            .collect();
        let unreadable: Vec<_> = batch
            .unreadable
            .iter()
            .take(MAX_FINDINGS)
            .map(|u| json!({"path": u.path, "problem": u.problem}))
            .collect();
        Ok(vec![
            ("import.reports.imported", EvidenceItem::ok(imported, source.clone())),
            ("import.reports.unreadable", EvidenceItem::ok(unreadable, source)),
        ])
    }
}

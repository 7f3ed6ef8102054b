//! Results of the imported SARIF logs: each open result's rule, level and place.

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
        id: "import.static_analysis.errors",
        value_type: ValueType::ObjectList,
        meaning: "Results of level `error` of the imported SARIF logs that are not suppressed: `{tool, rule_id, file, line}`; by tool, file and line; at most 1000.",
        source: "SARIF `runs[].results[]` (`ruleId`, `level` or the rule's default, `locations[0]`, `suppressions`)",
        context_only: None,
    },
    EvidenceSpec {
        id: "import.static_analysis.errors_count",
        value_type: ValueType::Integer,
        meaning: "How many such results there are (the whole count behind the list).",
        source: "as `import.static_analysis.errors`",
        context_only: None,
    },
    EvidenceSpec {
        id: "import.static_analysis.by_level",
        value_type: ValueType::Object,
        meaning: "Results that are not suppressed, counted by SARIF level (`error`, `warning`, `note`, `none`), and `suppressed`: those suppressed.",
        source: "as `import.static_analysis.errors`",
        context_only: Some("warnings and notes are the team's to triage; errors are judged"),
    },
    EvidenceSpec {
        id: "import.static_analysis.reports",
        value_type: ValueType::Integer,
        meaning: "How many SARIF logs were imported.",
        source: "the imported reports",
        context_only: None,
    },
];

/// The collector.
pub struct StaticAnalysis(pub(super) Arc<Shared>);

#[async_trait]
impl Collector for StaticAnalysis {
    fn name(&self) -> &'static str {
        "import.static_analysis"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let batch = self.0.batch(ctx).await;
        if let Some(reason) = batch.none_readable() {
            return Ok(all_unavailable(EVIDENCE, &reason));
        }
        let source = files_source(&batch, Some(Format::Sarif));
        let mut errors = Vec::new();
        let mut by_level = serde_json::Map::new();
        for level in ["error", "warning", "note", "none", "suppressed"] {
            by_level.insert(level.to_string(), json!(0));
        }
        let mut reports = 0usize;
        for r in batch.of(Format::Sarif) {
            reports += 1;
            for f in &r.report.code {
                let key = if f.suppressed { "suppressed" } else { f.level.as_str() };
                if let Some(n) = by_level.get_mut(key) {
                    *n = json!(n.as_u64().unwrap_or(0) + 1);
                }
                if !f.suppressed && f.level == "error" {
                    errors.push((&r.report.tool, &f.file, f.line, &f.rule_id));
                }
            }
        }
        errors.sort();
        let listed: Vec<_> = errors
            .iter()
            .take(MAX_FINDINGS)
            .map(|(tool, file, line, rule)| {
                json!({"tool": tool, "rule_id": rule, "file": file, "line": line})
            })
            .collect();
        Ok(vec![
            (
                "import.static_analysis.errors",
                EvidenceItem::ok(listed, source.clone()),
            ),
            (
                "import.static_analysis.errors_count",
                EvidenceItem::ok(errors.len(), source.clone()),
            ),
            (
                "import.static_analysis.by_level",
                EvidenceItem::ok(by_level, source.clone()),
            ),
            ("import.static_analysis.reports", EvidenceItem::ok(reports, source)),
        ])
    }
}

//! Dependabot: the organisation's open alerts counted by severity, in total and per repository.
//! Read with `github.repos.dependabot_alerts_disabled`: a repository whose alerts are off has
//! none to count.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Shared, call};
use crate::{CollectContext, CollectError, Collector, EvidenceSpec, Facts, ValueType, fact};

/// The evidence this area produces.
pub const EVIDENCE: &[EvidenceSpec] = &[
    EvidenceSpec {
        id: "github.dependabot.open_alerts",
        value_type: ValueType::Object,
        meaning: "Open Dependabot alerts of the covered repositories by severity: `critical`, `high`, `medium`, `low` (each present, 0 when none).",
        source: "GET /orgs/{org}/dependabot/alerts?state=open",
        context_only: None,
    },
    EvidenceSpec {
        id: "github.dependabot.open_alerts_by_repository",
        value_type: ValueType::Object,
        meaning: "Repository name → its open alerts by severity, for the covered repositories that have any.",
        source: "GET /orgs/{org}/dependabot/alerts?state=open",
        context_only: None,
    },
];

const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// The collector.
pub struct Dependabot(pub(super) Arc<Shared>);

/// Counts by severity of `alerts` (each alert's advisory severity), in total and per
/// repository, for the repositories `covers` accepts.
fn count(alerts: &[Value], covers: impl Fn(&str) -> bool) -> Result<(Value, Value), String> {
    let mut total: BTreeMap<String, u64> = SEVERITIES.iter().map(|s| (s.to_string(), 0)).collect();
    let mut by_repo: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (i, alert) in alerts.iter().enumerate() {
        let repo = alert
            .pointer("/repository/name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("alert {i} names no repository"))?;
        if !covers(repo) {
            continue;
        }
        let severity = alert
            .pointer("/security_advisory/severity")
            .or_else(|| alert.pointer("/security_vulnerability/severity"))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("alert {i} of {repo} has no severity"))?
            .to_ascii_lowercase();
        *total.entry(severity.clone()).or_default() += 1;
        let counts = by_repo
            .entry(repo.to_string())
            .or_insert_with(|| SEVERITIES.iter().map(|s| (s.to_string(), 0)).collect());
        *counts.entry(severity).or_default() += 1;
    }
    Ok((json!(total), json!(by_repo)))
}

#[async_trait]
impl Collector for Dependabot {
    fn name(&self) -> &'static str {
        "github.dependabot"
    }

    fn evidence(&self) -> &'static [EvidenceSpec] {
        EVIDENCE
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Facts, CollectError> {
        let api = self.0.api()?;
        let path = format!("/orgs/{}/dependabot/alerts?state=open", self.0.org());
        let counted = api
            .get_all(ctx, &format!("{path}&per_page=100"))
            .await
            .map_err(|e| e.to_string())
            .and_then(|alerts| {
                count(&alerts, |repo| self.0.config.covers(repo))
                    .map_err(|e| format!("GET {path}: unexpected answer: {e}"))
            });
        Ok(vec![
            fact(
                "github.dependabot.open_alerts",
                call(&path),
                counted.clone().map(|(total, _)| total),
            ),
            fact(
                "github.dependabot.open_alerts_by_repository",
                call(&path),
                counted.map(|(_, by_repo)| by_repo),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_are_counted_by_advisory_severity() {
        let alerts = json!([
            {"repository": {"name": "api"}, "security_advisory": {"severity": "critical"}, "security_vulnerability": {"severity": "critical"}},
            {"repository": {"name": "api"}, "security_advisory": {"severity": "high"}},
            {"repository": {"name": "web"}, "security_vulnerability": {"severity": "low"}},
            {"repository": {"name": "legacy"}, "security_advisory": {"severity": "high"}}
        ]);
        let (total, by_repo) = count(alerts.as_array().unwrap(), |r| r != "legacy").unwrap();
        assert_eq!(
            total,
            json!({"critical": 1, "high": 1, "medium": 0, "low": 1})
        );
        assert_eq!(
            by_repo,
            json!({
                "api": {"critical": 1, "high": 1, "medium": 0, "low": 0},
                "web": {"critical": 0, "high": 0, "medium": 0, "low": 1}
            })
        );
        let (none, empty) = count(&[], |_| true).unwrap();
        assert_eq!(
            none,
            json!({"critical": 0, "high": 0, "medium": 0, "low": 0})
        );
        assert_eq!(empty, json!({}));
    }

    #[test]
    fn malformed_alerts_are_not_counted_silently() {
        let no_repo = json!([{"security_advisory": {"severity": "high"}}]);
        assert!(count(no_repo.as_array().unwrap(), |_| true).is_err());
        let no_severity = json!([{"repository": {"name": "api"}}]);
        assert_eq!(
            count(no_severity.as_array().unwrap(), |_| true).unwrap_err(),
            "alert 0 of api has no severity"
        );
    }
}

//! OCSF detection findings (class 2004) as Prowler writes them (`--output-formats json-ocsf`):
//! a JSON array of findings, each with Prowler's check id (`metadata.event_code`), its status
//! (`status_code`: `PASS`, `FAIL`, `MANUAL`), severity, cloud, account, region and first
//! resource. Findings of another product are refused: only Prowler's check ids are mapped to
//! controls by the policy pack. Prowler's own framework lists (`unmapped.compliance`) are not
//! read: the pack's reviewed table decides which control a check serves.

use super::json::{At, Problem};
use super::report::{CloudFinding, Report, Severity, cut};

/// OCSF's class of detection findings.
const DETECTION_FINDING: u64 = 2004;

/// Reads Prowler's OCSF findings.
pub(crate) fn parse(root: &At<'_>) -> Result<Report, Problem> {
    let mut report = Report::default();
    let mut earliest: Option<i64> = None;
    for finding in root.items()? {
        let class = finding.req("class_uid")?;
        if class.u64()? != DETECTION_FINDING {
            return Err(class.problem(format!(
                "OCSF class {}: only detection findings ({DETECTION_FINDING}) are read",
                class.v
            )));
        }
        let meta = finding.req("metadata")?;
        let product = meta.req("product")?;
        let name = product.req_str("name")?;
        if name != "Prowler" {
            return Err(product.problem(format!(
                "findings of {:?}: only Prowler's check ids are mapped to controls",
                cut(name)
            )));
        }
        if report.tool.is_empty() {
            report.tool = name.to_string();
            report.tool_version = cut(product.opt_str("version")?.unwrap_or(""));
        }
        let status = finding.req("status_code")?;
        let status_text = status.str()?;
        if !matches!(status_text, "PASS" | "FAIL" | "MANUAL") {
            return Err(status.problem(format!(
                "{:?} is not PASS, FAIL or MANUAL",
                cut(status_text)
            )));
        }
        let cloud = finding.req("cloud")?;
        let account = match cloud.get("account") {
            Some(a) => a.opt_str("uid")?.unwrap_or(""),
            None => "",
        };
        let resource = match finding.get("resources") {
            Some(r) => match r.items()?.first() {
                Some(first) => first.opt_str("uid")?.unwrap_or("").to_string(),
                None => String::new(),
            },
            None => String::new(),
        };
        if let Some(t) = finding.get("time") {
            let t = i64::try_from(t.u64()?).unwrap_or(i64::MAX);
            earliest = Some(earliest.map_or(t, |e| e.min(t)));
        }
        report.cloud.push(CloudFinding {
            check_id: cut(meta.req_str("event_code")?),
            status: status_text.to_string(),
            severity: Severity::parse(finding.opt_str("severity")?.unwrap_or("")),
            provider: cut(cloud.opt_str("provider")?.unwrap_or("")),
            account: cut(account),
            region: cut(cloud.opt_str("region")?.unwrap_or("")),
            resource: cut(&resource),
            // Prowler writes a muted finding's status as `Suppressed`.
            muted: finding.opt_str("status")? == Some("Suppressed"),
        });
    }
    report.created = earliest
        .and_then(|s| s.checked_mul(1_000_000))
        .and_then(vouch_evidence::Timestamp::from_unix_micros);
    Ok(report)
}

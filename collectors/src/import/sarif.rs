//! SARIF 2.1.0 (OASIS): each run's tool, and each result's rule, level, first location and
//! suppression. Messages, snippets and fixes are never kept.

use super::json::{At, Problem, each};
use super::report::{CodeFinding, Report, cut};

/// Reads a SARIF log.
pub(crate) fn parse(root: &At<'_>) -> Result<Report, Problem> {
    let version = root.req_str("version")?;
    if version != "2.1.0" {
        return Err(root
            .req("version")?
            .problem(format!("SARIF {:?}: only 2.1.0 is read", cut(version))));
    }
    let mut report = Report::default();
    let runs = root.req("runs")?.items()?;
    for run in &runs {
        let driver = run.req("tool")?.req("driver")?;
        let name = driver.req_str("name")?;
        let version = match driver.opt_str("semanticVersion")? {
            Some(v) => Some(v),
            None => driver.opt_str("version")?,
        };
        if report.tool.is_empty() {
            report.tool = cut(name);
            report.tool_version = version.map(cut).unwrap_or_default();
        }
        // A rule's default level, by index, for results that give none.
        let defaults = each(&driver, "rules", |rule| {
            Ok(match rule.get("defaultConfiguration") {
                Some(c) => c.opt_str("level")?.map(str::to_string),
                None => None,
            })
        })?;
        let results = each(run, "results", |result| {
            // Results of kind pass, notApplicable, informational, review or open are not
            // problems; `fail` is the default.
            if let Some(kind) = result.opt_str("kind")?
                && kind != "fail"
            {
                return Ok(None);
            }
            let rule_id = match result.opt_str("ruleId")? {
                Some(id) => id.to_string(),
                None => match result.get("rule") {
                    Some(rule) => rule.req_str("id")?.to_string(),
                    None => return Err(result.problem("neither ruleId nor rule.id")),
                },
            };
            let index = match result.get("ruleIndex") {
                Some(i) => Some(i.u64()?),
                None => None,
            };
            let level = match result.opt_str("level")? {
                Some(l) => l.to_string(),
                None => index
                    .and_then(|i| defaults.get(usize::try_from(i).ok()?).cloned().flatten())
                    .unwrap_or_else(|| "warning".to_string()),
            };
            if !matches!(level.as_str(), "error" | "warning" | "note" | "none") {
                return Err(result
                    .req("level")?
                    .problem(format!("{:?} is not a SARIF level", cut(&level))));
            }
            let (file, line) = match result.get("locations") {
                Some(locations) => match locations.items()?.first() {
                    Some(loc) => match loc.get("physicalLocation") {
                        Some(p) => {
                            let file = match p.get("artifactLocation") {
                                Some(a) => a.opt_str("uri")?.map(cut),
                                None => None,
                            };
                            let line = match p.get("region").and_then(|r| r.get("startLine")) {
                                Some(l) => Some(l.u64()?),
                                None => None,
                            };
                            (file, line)
                        }
                        None => (None, None),
                    },
                    None => (None, None),
                },
                None => (None, None),
            };
            // A suppression counts unless it is rejected or still under review.
            let suppressed = each(result, "suppressions", |s| {
                Ok(!matches!(
                    s.opt_str("status")?,
                    Some("rejected" | "underReview")
                ))
            })?
            .into_iter()
            .any(|accepted| accepted);
            Ok(Some(CodeFinding {
                rule_id: cut(&rule_id),
                level,
                file,
                line,
                suppressed,
            }))
        })?;
        report.code.extend(results.into_iter().flatten());
    }
    if report.tool.is_empty() {
        return Err(root.problem("a SARIF log with no run"));
    }
    Ok(report)
}

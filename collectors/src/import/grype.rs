//! Grype's JSON report (the `Document` of anchore/grype's `grype/presenter/models`): the tool
//! (`descriptor`), the scanned source and each match's vulnerability and package. Grype gives
//! no publication date, so a match's age is counted from the report's `descriptor.timestamp`.

use super::json::{At, Problem, each};
use super::report::{Report, Severity, Vuln, cut, instant};

/// Reads a Grype report.
pub(crate) fn parse(root: &At<'_>) -> Result<Report, Problem> {
    let descriptor = root.req("descriptor")?;
    let name = descriptor.req_str("name")?;
    let artifact = match root.get("source").and_then(|s| s.get("target")) {
        Some(t) if t.v.is_string() => t.str()?.to_string(),
        Some(t) => match t.opt_str("userInput")? {
            Some(u) => u.to_string(),
            None => t.opt_str("name")?.unwrap_or("unnamed").to_string(),
        },
        None => "unnamed".to_string(),
    };
    let artifact = cut(&artifact);
    let mut report = Report {
        tool: cut(name),
        tool_version: cut(descriptor.opt_str("version")?.unwrap_or("")),
        created: instant(descriptor.get("timestamp"))?,
        scanned_artifact: Some(artifact.clone()),
        ..Report::default()
    };
    report.vulns = each(root, "matches", |m| {
        let v = m.req("vulnerability")?;
        let a = m.req("artifact")?;
        let fixed = match v.get("fix") {
            Some(fix) => each(&fix, "versions", |f| Ok(f.str()?.to_string()))?
                .into_iter()
                .next(),
            None => None,
        };
        let aliases = each(m, "relatedVulnerabilities", |r| Ok(cut(r.req_str("id")?)))?;
        Ok(Vuln {
            id: cut(v.req_str("id")?),
            severity: Severity::parse(v.opt_str("severity")?.unwrap_or("Unknown")),
            package: cut(&a.req_str("name")?.to_ascii_lowercase()),
            version: cut(a.opt_str("version")?.unwrap_or("")),
            fixed_version: fixed.map(|f| cut(&f)),
            artifact: artifact.clone(),
            published: None,
            vex: None,
            aliases,
        })
    })?;
    Ok(report)
}

//! Trivy's JSON report (`SchemaVersion` 2, as `pkg/types/report.go` of aquasecurity/trivy
//! defines it): the artifact, when it was scanned, and each result's vulnerabilities. Trivy's
//! misconfigurations, secrets and licences are not read (secrets would put a secret's location
//! and rule in evidence; the other two have their own sources).

use super::cyclonedx::purl_name_version;
use super::json::{At, Problem, each};
use super::report::{Report, Severity, Vuln, cut, instant};

/// Reads a Trivy report.
pub(crate) fn parse(root: &At<'_>) -> Result<Report, Problem> {
    let schema = root.req("SchemaVersion")?;
    if schema.u64()? != 2 {
        return Err(schema.problem("only Trivy's SchemaVersion 2 is read"));
    }
    let artifact = cut(root.opt_str("ArtifactName")?.unwrap_or("unnamed"));
    let mut report = Report {
        tool: "Trivy".to_string(),
        created: instant(root.get("CreatedAt"))?,
        scanned_artifact: Some(artifact.clone()),
        ..Report::default()
    };
    if let Some(t) = root.get("Trivy") {
        report.tool_version = cut(t.opt_str("Version")?.unwrap_or(""));
    }
    let results = each(root, "Results", |result| {
        result.req_str("Target")?;
        each(result, "Vulnerabilities", |v| {
            let name = v.req_str("PkgName")?;
            // The package URL names the package as the ecosystem does; PkgName may carry a
            // group (`org.apache:log4j`) or a source package's name.
            let package = match v.get("PkgIdentifier") {
                Some(id) => id
                    .opt_str("PURL")?
                    .and_then(purl_name_version)
                    .map(|(n, _)| n),
                None => None,
            }
            .unwrap_or_else(|| name.to_ascii_lowercase());
            Ok(Vuln {
                id: cut(v.req_str("VulnerabilityID")?),
                severity: Severity::parse(v.opt_str("Severity")?.unwrap_or("UNKNOWN")),
                package: cut(&package),
                version: cut(v.opt_str("InstalledVersion")?.unwrap_or("")),
                fixed_version: v
                    .opt_str("FixedVersion")?
                    .filter(|f| !f.is_empty())
                    .map(cut),
                artifact: artifact.clone(),
                published: instant(v.get("PublishedDate"))?,
                vex: None,
                aliases: Vec::new(),
            })
        })
    })?;
    report.vulns = results.into_iter().flatten().collect();
    Ok(report)
}

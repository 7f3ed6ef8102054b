//! CycloneDX 1.5 and later (JSON): the component the document describes, how many components
//! it lists (an SBOM), and its vulnerabilities with the packages they affect and their analysis
//! state (VEX). A document with components counts as an SBOM of its `metadata.component`; one
//! with vulnerabilities is a vulnerability report about it, its analysis states VEX statements
//! that apply to every report of the import.

use std::collections::BTreeMap;

use super::json::{At, Problem, each};
use super::report::{Report, Severity, VexStatement, Vuln, cut, instant};

/// The name and version of a package URL (`pkg:pypi/pyyaml@5.3?x=y` → `pyyaml`, `5.3`).
pub(crate) fn purl_name_version(purl: &str) -> Option<(String, String)> {
    let rest = purl.strip_prefix("pkg:")?;
    let rest = rest.split(['?', '#']).next()?;
    let (path, version) = rest.rsplit_once('@').unwrap_or((rest, ""));
    let name = path.rsplit('/').next()?;
    Some((name.to_ascii_lowercase(), version.to_string()))
}

/// Reads a CycloneDX document.
pub(crate) fn parse(root: &At<'_>) -> Result<Report, Problem> {
    let spec = root.req("specVersion")?;
    let text = spec.str()?;
    let (major, minor) = text
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
        .ok_or_else(|| spec.problem(format!("{:?} is not a CycloneDX version", cut(text))))?;
    if (major, minor) < (1, 5) {
        return Err(spec.problem(format!(
            "CycloneDX {}: only 1.5 and later are read",
            cut(text)
        )));
    }
    let mut report = Report::default();
    let mut artifact = String::new();
    if let Some(meta) = root.get("metadata") {
        report.created = instant(meta.get("timestamp"))?;
        if let Some(c) = meta.get("component") {
            let name = c.req_str("name")?;
            artifact = match c.opt_str("version")? {
                Some(v) if !v.is_empty() => format!("{name}@{v}"),
                _ => name.to_string(),
            };
        }
        // 1.5 and later: tools.components (or services); the array form is deprecated.
        if let Some(tools) = meta.get("tools") {
            let first = if tools.v.is_array() {
                tools.items()?.into_iter().next()
            } else {
                tools
                    .get("components")
                    .map(|c| c.items())
                    .transpose()?
                    .and_then(|c| c.into_iter().next())
            };
            if let Some(tool) = first {
                report.tool = cut(tool.opt_str("name")?.unwrap_or(""));
                report.tool_version = cut(tool.opt_str("version")?.unwrap_or(""));
            }
        }
    }
    if report.tool.is_empty() {
        report.tool = "unknown".to_string();
    }
    let artifact = cut(&artifact);

    // Components by bom-ref (nested ones too), for the references of `affects`.
    let mut by_ref: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut count = 0usize;
    let mut stack: Vec<At<'_>> = match root.get("components") {
        Some(c) => c.items()?,
        None => Vec::new(),
    };
    while let Some(c) = stack.pop() {
        count += 1;
        let name = c.req_str("name")?.to_ascii_lowercase();
        let version = c.opt_str("version")?.unwrap_or("").to_string();
        if let Some(r) = c.opt_str("bom-ref")? {
            by_ref.insert(r.to_string(), (name, version));
        }
        if let Some(nested) = c.get("components") {
            stack.extend(nested.items()?);
        }
    }
    if count > 0 {
        report.sbom = Some((
            if artifact.is_empty() {
                "unnamed".to_string()
            } else {
                artifact.clone()
            },
            count,
        ));
    }

    let vulns = each(root, "vulnerabilities", |v| {
        let id = v.req_str("id")?;
        // The highest severity any rating gives.
        let severity = each(v, "ratings", |r| {
            Ok(r.opt_str("severity")?
                .map(Severity::parse)
                .unwrap_or(Severity::Unknown))
        })?
        .into_iter()
        .min()
        .unwrap_or(Severity::Unknown);
        let published = instant(v.get("published"))?;
        let state = match v.get("analysis") {
            Some(a) => a.opt_str("state")?.map(str::to_string),
            None => None,
        };
        let affected = each(v, "affects", |a| {
            let r = a.req_str("ref")?;
            // A BOM-Link (`urn:cdx:<serial>/<version>#<bom-ref>`) names a component of another
            // document by its bom-ref.
            let r = match r.strip_prefix("urn:cdx:") {
                Some(link) => link.split_once('#').map_or(r, |(_, fragment)| fragment),
                None => r,
            };
            Ok(by_ref
                .get(r)
                .cloned()
                .or_else(|| purl_name_version(r))
                .unwrap_or_else(|| (r.to_ascii_lowercase(), String::new())))
        })?;
        Ok(affected
            .into_iter()
            .map(|(package, version)| {
                (
                    Vuln {
                        id: cut(id),
                        severity,
                        package: cut(&package),
                        version: cut(&version),
                        fixed_version: None,
                        artifact: artifact.clone(),
                        published,
                        vex: state.clone(),
                        aliases: Vec::new(),
                    },
                    state.clone().map(|state| VexStatement {
                        id: id.to_string(),
                        package: package.clone(),
                        version: version.clone(),
                        state,
                    }),
                )
            })
            .collect::<Vec<_>>())
    })?;
    for (vuln, statement) in vulns.into_iter().flatten() {
        report.vulns.push(vuln);
        report.vex.extend(statement);
    }
    if !report.vulns.is_empty() && !artifact.is_empty() {
        report.scanned_artifact = Some(artifact);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_urls_give_name_and_version() {
        assert_eq!(
            purl_name_version("pkg:pypi/PyYAML@5.3?extra=1#sub"),
            Some(("pyyaml".into(), "5.3".into()))
        );
        assert_eq!(
            purl_name_version("pkg:npm/%40scope/left-pad@1.0.0"),
            Some(("left-pad".into(), "1.0.0".into()))
        );
        assert_eq!(purl_name_version("requirements-L1"), None);
    }
}

//! What an imported report becomes, whatever its format: the tool that wrote it and the facts
//! of its findings (ids, severities, package names and versions, rule ids, check ids, file
//! paths and lines), never its text (messages, snippets, descriptions).

use serde_json::Value;
use vouch_evidence::Timestamp;
use vouch_evidence::limits::truncate_echo;

use super::json::{At, Problem};
use super::{cyclonedx, grype, ocsf, sarif, trivy};

/// The formats the import source reads, recognised by their content (never by a file name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    /// SARIF 2.1.0, from static analysers.
    Sarif,
    /// CycloneDX 1.5 or later: a software bill of materials, VEX statements or both.
    CycloneDx,
    /// Trivy's JSON report (`trivy … --format json`).
    Trivy,
    /// Grype's JSON report (`grype … -o json`).
    Grype,
    /// OCSF detection findings as Prowler writes them (`prowler … --output-formats json-ocsf`).
    ProwlerOcsf,
}

impl Format {
    /// Its name in evidence.
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::Sarif => "sarif",
            Format::CycloneDx => "cyclonedx",
            Format::Trivy => "trivy",
            Format::Grype => "grype",
            Format::ProwlerOcsf => "ocsf-prowler",
        }
    }
}

/// A vulnerability severity, normalised from each tool's spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Critical.
    Critical,
    /// High.
    High,
    /// Medium (Grype and CycloneDX also say moderate).
    Medium,
    /// Low (and Grype's negligible, CycloneDX's info).
    Low,
    /// None given, or one not known.
    Unknown,
}

impl Severity {
    /// Reads a tool's severity, in any case.
    pub fn parse(text: &str) -> Severity {
        match text.to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "medium" | "moderate" => Severity::Medium,
            "low" | "negligible" | "info" | "informational" | "none" => Severity::Low,
            _ => Severity::Unknown,
        }
    }

    /// Its name in evidence.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Unknown => "unknown",
        }
    }
}

/// One vulnerability of one package in one artifact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vuln {
    /// The advisory's id (`CVE-2020-14343`, `GHSA-…`).
    pub id: String,
    /// Its severity.
    pub severity: Severity,
    /// The affected package's name.
    pub package: String,
    /// The version installed.
    pub version: String,
    /// The first version that fixes it, if the report names one.
    pub fixed_version: Option<String>,
    /// The artifact scanned (an image, a directory, an application).
    pub artifact: String,
    /// When the advisory was published, if the report says.
    pub published: Option<Timestamp>,
    /// The analysis state a VEX statement gives it (`not_affected`, `exploitable`…), if any.
    pub vex: Option<String>,
    /// Other ids of the same vulnerability the report names (Grype's related CVE of a GHSA),
    /// through which a VEX statement may apply.
    pub aliases: Vec<String>,
}

/// A VEX statement: the analysis state of one vulnerability in one package version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VexStatement {
    /// The advisory's id.
    pub id: String,
    /// The package's name, in lower case.
    pub package: String,
    /// The package's version.
    pub version: String,
    /// The CycloneDX analysis state.
    pub state: String,
}

/// One result of a static analyser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeFinding {
    /// The rule's id (`B602`).
    pub rule_id: String,
    /// SARIF's level: `error`, `warning`, `note` or `none`.
    pub level: String,
    /// The file, as the report names it (relative to the scanned tree).
    pub file: Option<String>,
    /// The first line.
    pub line: Option<u64>,
    /// Whether the report says it is suppressed (accepted in the source or a baseline).
    pub suppressed: bool,
}

/// One finding of a cloud posture check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudFinding {
    /// Prowler's check id (`iam_root_mfa_enabled`).
    pub check_id: String,
    /// `PASS`, `FAIL` or `MANUAL`.
    pub status: String,
    /// Its severity.
    pub severity: Severity,
    /// The cloud (`aws`, `azure`, `gcp`, `kubernetes`, `m365`).
    pub provider: String,
    /// The account, subscription or project.
    pub account: String,
    /// The region, when there is one.
    pub region: String,
    /// The resource's id.
    pub resource: String,
    /// Whether Prowler muted it (a mutelist entry: accepted in the scanner).
    pub muted: bool,
}

/// An imported report, normalised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The tool that wrote it.
    pub tool: String,
    /// Its version, when the report says.
    pub tool_version: String,
    /// When the report was written, when it says.
    pub created: Option<Timestamp>,
    /// The artifact a vulnerability report is about (for the SBOM check).
    pub scanned_artifact: Option<String>,
    /// Vulnerabilities.
    pub vulns: Vec<Vuln>,
    /// VEX statements.
    pub vex: Vec<VexStatement>,
    /// The artifact an SBOM describes, with its number of components.
    pub sbom: Option<(String, usize)>,
    /// Static analysis results.
    pub code: Vec<CodeFinding>,
    /// Cloud posture findings.
    pub cloud: Vec<CloudFinding>,
}

impl Report {
    /// How many findings it holds (for the list of imported reports).
    pub fn findings(&self) -> usize {
        self.vulns.len() + self.code.len() + self.cloud.len()
    }
}

/// A string another party chose, cut before it is kept.
pub(crate) fn cut(s: &str) -> String {
    truncate_echo(s)
}

/// An optional instant of a report: absent, or RFC 3339 (`2019-04-18T17:29:00.253Z`). An
/// instant the report spells otherwise is a problem at its path.
pub(crate) fn instant(at: Option<At<'_>>) -> Result<Option<Timestamp>, Problem> {
    let Some(at) = at else { return Ok(None) };
    let text = at.str()?;
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<Timestamp>()
        .map(Some)
        .map_err(|_| at.problem(format!("{:?} is not an RFC 3339 instant", cut(text))))
}

/// The format of a parsed document, by its content.
pub fn detect(v: &Value) -> Result<Format, Problem> {
    match v {
        Value::Object(o) => {
            if o.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
                Ok(Format::CycloneDx)
            } else if o.contains_key("runs")
                && (o.contains_key("version")
                    || o
                        .get("$schema")
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.contains("sarif")))
            {
                Ok(Format::Sarif)
            } else if o.contains_key("SchemaVersion")
                && (o.contains_key("Results") || o.contains_key("ArtifactName"))
            {
                Ok(Format::Trivy)
            } else if o.contains_key("matches") && o.contains_key("descriptor") {
                Ok(Format::Grype)
            } else {
                Err(not_recognised())
            }
        }
        Value::Array(a) => match a.first() {
            Some(first) if first.get("class_uid").is_some() => Ok(Format::ProwlerOcsf),
            Some(_) => Err(not_recognised()),
            None => Err(
                "$: an empty array: OCSF findings with no finding, or no report at all".to_string(),
            ),
        },
        _ => Err(not_recognised()),
    }
}

fn not_recognised() -> Problem {
    "$: not a report the import source reads (SARIF 2.1.0, CycloneDX 1.5 or later, Trivy JSON, \
     Grype JSON, or OCSF detection findings from Prowler)"
        .to_string()
}

/// Parses a document of the detected format.
pub fn parse(v: &Value) -> Result<(Format, Report), Problem> {
    let format = detect(v)?;
    let root = At::root(v);
    let report = match format {
        Format::Sarif => sarif::parse(&root)?,
        Format::CycloneDx => cyclonedx::parse(&root)?,
        Format::Trivy => trivy::parse(&root)?,
        Format::Grype => grype::parse(&root)?,
        Format::ProwlerOcsf => ocsf::parse(&root)?,
    };
    Ok((format, report))
}

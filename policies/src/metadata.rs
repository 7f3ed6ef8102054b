//! The OPA `# METADATA` annotation block at the top of a policy module, and the Vouch fields
//! under its `custom:` key.
//!
//! As OPA documents it, the block is a run of comment lines starting at column 1, the first of
//! which reads `# METADATA`; the rest, each with its leading `#` removed, is one YAML document.
//! The block ends at the first line that is not a comment. Vouch requires the package-scope
//! block (the one before the `package` statement) with `title`, `description` and, under
//! `custom`, `id`, `severity`, `controls`, `asset_kinds`, `evidence`, `remediation` and
//! `freshness`. Every problem is reported with the file line it is on.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vouch_evidence::AssetKind;
use yaml_serde::Value as Yaml;

use crate::catalog::{Catalogs, ControlId};

/// How serious a failure of a policy is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Hygiene: worth fixing, rarely exploitable alone.
    Low,
    /// Weakens a control.
    Medium,
    /// Defeats a control on this asset.
    High,
    /// Directly exploitable or exposes the asset.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// Its name in metadata and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How closely a policy's check evidences a control it maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The check tests what the control (or its technical part) requires.
    Exact,
    /// The check is related evidence an auditor may weigh, not a test of the control itself.
    Supporting,
}

impl Relation {
    /// Every relation.
    pub const ALL: [Relation; 2] = [Relation::Exact, Relation::Supporting];

    /// Its name in metadata and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Exact => "exact",
            Relation::Supporting => "supporting",
        }
    }

    /// The relation named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One control a policy maps to, with how and why.
///
/// In metadata an entry of `custom.controls` is a mapping `{control, relation, why}`. Packs kept
/// from before relations existed list bare control ids: those load with no relation and no
/// rationale. A control that names an `equivalent` in an earlier edition (ISO/IEC 27701:2025 by
/// its 2019 clause, through the Annex F correspondence) is never listed in the mapping form: it
/// is derived from the earlier clause, with the same relation and rationale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// The control.
    pub control: ControlId,
    /// How closely the check evidences it; `None` for a bare id of an older pack.
    pub relation: Option<Relation>,
    /// One line of rationale; empty for a bare id of an older pack.
    pub why: String,
    /// The earlier edition's control it was derived from, when derived.
    pub derived_from: Option<ControlId>,
}

/// One policy's description, from its module's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Stable id, e.g. `host.ssh.root_login_disabled`; its package is `vouch.policies.<id>`.
    pub id: String,
    /// Short name for people.
    pub title: String,
    /// What it checks and why.
    pub description: String,
    /// How serious a failure is.
    pub severity: Severity,
    /// The controls it evidences, checked against the loaded catalogs: those of `mappings`, in
    /// their order.
    pub controls: Vec<ControlId>,
    /// How and why it evidences each of `controls` (same order), derived ones included.
    pub mappings: Vec<Mapping>,
    /// The kinds of asset it applies to; on others it is not applicable.
    pub asset_kinds: Vec<AssetKind>,
    /// Every evidence id it reads; when one is unavailable the result is an error.
    pub evidence: Vec<String>,
    /// What to do when it fails.
    pub remediation: String,
    /// How old the evidence may be before the result is stale.
    pub freshness: Duration,
    /// The module's path inside its pack, e.g. `host/ssh_root_login.rego`.
    pub file: String,
    /// The line of its `package` statement.
    pub line: usize,
}

impl Policy {
    /// The Rego package the module must declare.
    pub fn package(&self) -> String {
        format!("{POLICY_PACKAGE_PREFIX}{}", self.id)
    }
}

/// The package prefix of every policy module (`package vouch.policies.<id>`).
pub const POLICY_PACKAGE_PREFIX: &str = "vouch.policies.";

/// One problem in a module, at a line (0 when it concerns the whole file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    pub line: usize,
    pub reason: String,
}

fn problem(line: usize, reason: impl Into<String>) -> Problem {
    Problem {
        line,
        reason: reason.into(),
    }
}

/// The top-level annotation keys OPA defines.
const OPA_KEYS: [&str; 9] = [
    "scope",
    "title",
    "description",
    "related_resources",
    "authors",
    "organizations",
    "schemas",
    "entrypoint",
    "custom",
];

/// The Vouch keys under `custom`, all required.
const CUSTOM_KEYS: [&str; 7] = [
    "id",
    "severity",
    "controls",
    "asset_kinds",
    "evidence",
    "remediation",
    "freshness",
];

/// The line (1-based) of the `package` statement and the package path it names.
pub(crate) fn package_statement(text: &str) -> Option<(usize, &str)> {
    text.lines().enumerate().find_map(|(i, l)| {
        let rest = l.strip_prefix("package")?;
        rest.starts_with(char::is_whitespace)
            .then(|| (i + 1, rest.trim()))
    })
}

/// The metadata block: the file line of `# METADATA` and the YAML text, one line per comment.
fn metadata_block(text: &str) -> Option<(usize, Vec<&str>)> {
    let mut lines = text.lines().enumerate();
    let start = lines.find(|(_, l)| l.trim_end() == "# METADATA")?.0 + 1;
    let yaml = text
        .lines()
        .skip(start)
        .map_while(|l| l.strip_prefix('#'))
        .collect();
    Some((start, yaml))
}

/// The file line of the first YAML line containing `needle`, or the block's own line.
fn line_of(start: usize, yaml: &[&str], needle: &str) -> usize {
    yaml.iter()
        .position(|l| l.contains(needle))
        .map_or(start, |i| start + 1 + i)
}

/// The file line of the YAML character at `index` in the block joined with `\n`.
///
/// YAML also breaks lines at a lone `\r` (and libyaml at NEL, LS and PS), which
/// `str::lines` does not, so the parser's own line number can point past the file;
/// counting the joins before the character cannot.
fn yaml_line(start: usize, yaml: &[&str], index: usize) -> usize {
    let mut chars = 0;
    for (i, l) in yaml.iter().enumerate() {
        chars += l.chars().count() + 1;
        if index < chars {
            return start + 1 + i;
        }
    }
    start + yaml.len().max(1)
}

/// Parses and checks the metadata of the policy module `file`.
pub(crate) fn parse(file: &str, text: &str, catalogs: &Catalogs) -> Result<Policy, Vec<Problem>> {
    let Some((start, yaml_lines)) = metadata_block(text) else {
        return Err(vec![problem(
            1,
            "no `# METADATA` block: a policy starts with OPA package annotations (title, description, custom: id, severity, controls, asset_kinds, evidence, remediation, freshness)",
        )]);
    };
    let package_line = package_statement(text).map_or(0, |(l, _)| l);
    let mut problems = Vec::new();
    if package_line != 0 && package_line < start {
        problems.push(problem(
            start,
            "the `# METADATA` block must come before the package statement (package scope)",
        ));
    }
    let doc: Yaml = match yaml_serde::from_str(&yaml_lines.join("\n")) {
        Ok(d) => d,
        Err(e) => {
            let line = e
                .location()
                .map_or(start, |l| yaml_line(start, &yaml_lines, l.index()));
            problems.push(problem(line, format!("metadata is not valid YAML: {e}")));
            return Err(problems);
        }
    };
    let at = |needle: &str| line_of(start, &yaml_lines, needle);
    let Some(top) = doc.as_mapping() else {
        problems.push(problem(start, "metadata must be a YAML mapping"));
        return Err(problems);
    };
    for key in top.keys() {
        match key.as_str() {
            Some(k) if OPA_KEYS.contains(&k) => {}
            _ => problems.push(problem(
                at(&yaml_key(key)),
                format!(
                    "unknown annotation {:?} (OPA defines: {})",
                    yaml_key(key),
                    OPA_KEYS.join(", ")
                ),
            )),
        }
    }
    if let Some(scope) = top.get("scope")
        && scope.as_str() != Some("package")
    {
        problems.push(problem(
            at("scope:"),
            "scope must be `package`: the block describes the whole module",
        ));
    }
    let mut fields = Fields {
        problems: &mut problems,
        at: &at,
        block_line: start,
    };
    let title = fields.text(top, "title", "");
    let description = fields.text(top, "description", "");
    let Some(custom) = top.get("custom").and_then(Yaml::as_mapping) else {
        fields.problems.push(problem(
            start,
            format!(
                "missing `custom:` mapping with the Vouch fields ({})",
                CUSTOM_KEYS.join(", ")
            ),
        ));
        return Err(problems);
    };
    for key in custom.keys() {
        if !key.as_str().is_some_and(|k| CUSTOM_KEYS.contains(&k)) {
            fields.problems.push(problem(
                at(&yaml_key(key)),
                format!(
                    "unknown Vouch field custom.{} (expected: {})",
                    yaml_key(key),
                    CUSTOM_KEYS.join(", ")
                ),
            ));
        }
    }
    let id = fields.text(custom, "id", "custom.");
    if !id.is_empty() && !valid_policy_id(&id) {
        fields.problems.push(problem(
            at("id:"),
            format!(
                "custom.id {id:?} must be dotted lowercase Rego names, e.g. host.ssh.root_login_disabled"
            ),
        ));
    }
    let severity = fields.text(custom, "severity", "custom.");
    let severity = match Severity::parse(&severity) {
        Some(s) => Some(s),
        None if severity.is_empty() => None,
        None => {
            fields.problems.push(problem(
                at("severity:"),
                format!("custom.severity {severity:?} must be low, medium, high or critical"),
            ));
            None
        }
    };
    let mappings = mappings(&mut fields, custom, catalogs);
    let controls = mappings.iter().map(|m| m.control.clone()).collect();
    let asset_kinds = fields
        .list(custom, "asset_kinds")
        .into_iter()
        .filter_map(|k| {
            let kind = AssetKind::parse(&k);
            if kind.is_none() {
                let known: Vec<&str> = AssetKind::ALL.iter().map(AssetKind::as_str).collect();
                fields.problems.push(problem(
                    at(&k),
                    format!("unknown asset kind {k:?} (known: {})", known.join(", ")),
                ));
            }
            kind
        })
        .collect();
    let mut evidence: Vec<String> = Vec::new();
    for e in fields.list(custom, "evidence") {
        if !valid_evidence_id(&e) {
            fields.problems.push(problem(
                at(&e),
                format!("{e:?} is not an evidence id (source.area.fact, e.g. host.ssh.permit_root_login)"),
            ));
        } else if evidence.contains(&e) {
            fields
                .problems
                .push(problem(at(&e), format!("evidence {e} is listed twice")));
        } else {
            evidence.push(e);
        }
    }
    let remediation = fields.text(custom, "remediation", "custom.");
    let freshness = fields.text(custom, "freshness", "custom.");
    let freshness = if freshness.is_empty() {
        None
    } else {
        match parse_freshness(&freshness) {
            Ok(d) => Some(d),
            Err(e) => {
                fields.problems.push(problem(at("freshness:"), e));
                None
            }
        }
    };
    match (severity, freshness) {
        (Some(severity), Some(freshness)) if problems.is_empty() => Ok(Policy {
            id,
            title,
            description,
            severity,
            controls,
            mappings,
            asset_kinds,
            evidence,
            remediation,
            freshness,
            file: file.to_string(),
            line: package_line,
        }),
        _ => Err(problems),
    }
}

/// The keys of one entry of `custom.controls` in the mapping form.
const MAPPING_KEYS: [&str; 3] = ["control", "relation", "why"];

/// `custom.controls`: each entry checked against the catalogs, then the controls derived from
/// them through the catalogs' `equivalent` correspondences appended (each once).
fn mappings<F: Fn(&str) -> usize>(
    fields: &mut Fields<'_, F>,
    custom: &yaml_serde::Mapping,
    catalogs: &Catalogs,
) -> Vec<Mapping> {
    let items = match custom.get("controls") {
        Some(Yaml::Sequence(items)) if !items.is_empty() => items,
        Some(_) => {
            fields.problems.push(problem(
                (fields.at)("controls:"),
                "custom.controls must be a non-empty list",
            ));
            return Vec::new();
        }
        None => {
            fields
                .problems
                .push(problem(fields.block_line, "missing custom.controls"));
            return Vec::new();
        }
    };
    let mut out: Vec<Mapping> = Vec::new();
    for item in items {
        let (id, relation, why) = match item {
            Yaml::String(s) => (s.clone(), None, String::new()),
            Yaml::Mapping(m) => {
                let id = m.get("control").and_then(Yaml::as_str).unwrap_or_default();
                let line = if id.is_empty() {
                    (fields.at)("control:")
                } else {
                    (fields.at)(id)
                };
                for key in m.keys() {
                    if !key.as_str().is_some_and(|k| MAPPING_KEYS.contains(&k)) {
                        fields.problems.push(problem(
                            line,
                            format!(
                                "unknown key {:?} in a custom.controls entry (expected: {})",
                                yaml_key(key),
                                MAPPING_KEYS.join(", ")
                            ),
                        ));
                    }
                }
                if id.is_empty() {
                    fields.problems.push(problem(
                        line,
                        "a custom.controls entry needs `control`, a qualified control id",
                    ));
                    continue;
                }
                let relation = match m.get("relation").and_then(Yaml::as_str) {
                    Some(r) => match Relation::parse(r) {
                        Some(r) => Some(r),
                        None => {
                            fields.problems.push(problem(
                                line,
                                format!("{id}: relation {r:?} must be exact or supporting"),
                            ));
                            None
                        }
                    },
                    None => {
                        fields.problems.push(problem(
                            line,
                            format!("{id}: missing relation (exact or supporting)"),
                        ));
                        None
                    }
                };
                let why = match m.get("why").and_then(Yaml::as_str) {
                    Some(w) if !w.trim().is_empty() => w.trim().to_string(),
                    _ => {
                        fields.problems.push(problem(
                            line,
                            format!("{id}: missing why, one line of rationale"),
                        ));
                        String::new()
                    }
                };
                (id.to_string(), relation, why)
            }
            _ => {
                fields.problems.push(problem(
                    (fields.at)("controls:"),
                    "custom.controls must list control ids or {control, relation, why} entries",
                ));
                continue;
            }
        };
        let line = (fields.at)(&id);
        let control = match id.parse::<ControlId>() {
            Ok(c) => c,
            Err(e) => {
                fields.problems.push(problem(line, e));
                continue;
            }
        };
        let Some(found) = catalogs.control(&control) else {
            fields.problems.push(problem(
                line,
                format!("unknown control {control}: not a control of any loaded catalog"),
            ));
            continue;
        };
        if relation.is_some() && !found.equivalent.is_empty() {
            let from: Vec<String> = found.equivalent.iter().map(ToString::to_string).collect();
            fields.problems.push(problem(
                line,
                format!(
                    "{control} follows from {} (its equivalent): map that instead",
                    from.join(", ")
                ),
            ));
            continue;
        }
        if out.iter().any(|m| m.control == control) {
            fields
                .problems
                .push(problem(line, format!("{control} is listed twice")));
            continue;
        }
        out.push(Mapping {
            control,
            relation,
            why,
            derived_from: None,
        });
    }
    let derived: Vec<Mapping> = out
        .iter()
        .flat_map(|m| {
            catalogs
                .iter()
                .flat_map(|c| &c.controls)
                .filter(|c| c.equivalent.contains(&m.control))
                .map(|c| Mapping {
                    control: c.id.clone(),
                    relation: m.relation,
                    why: m.why.clone(),
                    derived_from: Some(m.control.clone()),
                })
        })
        .collect();
    for d in derived {
        if !out.iter().any(|m| m.control == d.control) {
            out.push(d);
        }
    }
    out
}

/// Reads required fields of a mapping, recording what is missing or mistyped.
struct Fields<'a, F: Fn(&str) -> usize> {
    problems: &'a mut Vec<Problem>,
    at: &'a F,
    block_line: usize,
}

impl<F: Fn(&str) -> usize> Fields<'_, F> {
    /// A required non-empty string; empty when missing or invalid (and recorded).
    fn text(&mut self, map: &yaml_serde::Mapping, key: &str, prefix: &str) -> String {
        match map.get(key) {
            Some(Yaml::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(_) => {
                self.problems.push(problem(
                    (self.at)(&format!("{key}:")),
                    format!("{prefix}{key} must be a non-empty string"),
                ));
                String::new()
            }
            None => {
                self.problems
                    .push(problem(self.block_line, format!("missing {prefix}{key}")));
                String::new()
            }
        }
    }

    /// A required non-empty list of strings under `custom`.
    fn list(&mut self, map: &yaml_serde::Mapping, key: &str) -> Vec<String> {
        let items = match map.get(key) {
            Some(Yaml::Sequence(items)) if !items.is_empty() => items,
            Some(_) => {
                self.problems.push(problem(
                    (self.at)(&format!("{key}:")),
                    format!("custom.{key} must be a non-empty list"),
                ));
                return Vec::new();
            }
            None => {
                self.problems
                    .push(problem(self.block_line, format!("missing custom.{key}")));
                return Vec::new();
            }
        };
        items
            .iter()
            .filter_map(|v| match v.as_str() {
                Some(s) => Some(s.to_string()),
                None => {
                    self.problems.push(problem(
                        (self.at)(&format!("{key}:")),
                        format!("custom.{key} must list strings"),
                    ));
                    None
                }
            })
            .collect()
    }
}

fn yaml_key(key: &Yaml) -> String {
    key.as_str()
        .map_or_else(|| format!("{key:?}"), ToString::to_string)
}

/// Dotted lowercase Rego identifiers, at least two of them.
fn valid_policy_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            p.starts_with(|c: char| c.is_ascii_lowercase())
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// `source.area.fact`: at least three dotted parts of lowercase letters, digits and `_`.
pub(crate) fn valid_evidence_id(id: &str) -> bool {
    id.split('.').count() >= 3
        && id.split('.').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// Parses a freshness such as `90m`, `24h`, `7d` or `2w` (a positive whole number and a unit).
pub fn parse_freshness(s: &str) -> Result<Duration, String> {
    let err = || format!("freshness {s:?} must be a positive number and a unit: 90m, 24h, 7d, 2w");
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| err())?;
    let secs = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(err()),
    };
    if n == 0 {
        return Err(err());
    }
    n.checked_mul(secs).map(Duration::from_secs).ok_or_else(err)
}

/// A freshness as written in metadata: the largest whole unit.
pub fn format_freshness(d: Duration) -> String {
    let s = d.as_secs();
    [(604_800, "w"), (86_400, "d"), (3600, "h"), (60, "m")]
        .into_iter()
        .find(|(unit, _)| s.is_multiple_of(*unit))
        .map_or_else(|| format!("{s}s"), |(unit, u)| format!("{}{u}", s / unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "# METADATA\n\
        # title: Root login over SSH is disabled\n\
        # description: PermitRootLogin is no.\n\
        # custom:\n\
        #   id: host.ssh.root_login_disabled\n\
        #   severity: high\n\
        #   controls:\n\
        #     - iso27001-2022:A.8.2\n\
        #   asset_kinds: [host]\n\
        #   evidence:\n\
        #     - host.ssh.permit_root_login\n\
        #   remediation: Set PermitRootLogin no.\n\
        #   freshness: 24h\n\
        package vouch.policies.host.ssh.root_login_disabled\n";

    fn errors(text: &str) -> Vec<String> {
        parse("p.rego", text, &Catalogs::builtin())
            .unwrap_err()
            .into_iter()
            .map(|p| format!("{}: {}", p.line, p.reason))
            .collect()
    }

    #[test]
    fn reads_every_field() {
        let p = parse("p.rego", GOOD, &Catalogs::builtin()).unwrap();
        assert_eq!(p.id, "host.ssh.root_login_disabled");
        assert_eq!(p.title, "Root login over SSH is disabled");
        assert_eq!(p.severity, Severity::High);
        assert_eq!(p.controls[0].to_string(), "iso27001-2022:A.8.2");
        assert_eq!(p.asset_kinds, vec![AssetKind::Host]);
        assert_eq!(p.evidence, vec!["host.ssh.permit_root_login"]);
        assert_eq!(p.freshness, Duration::from_secs(86_400));
        assert_eq!(p.line, 14);
        assert_eq!(p.package(), "vouch.policies.host.ssh.root_login_disabled");
    }

    /// The mapping form: each control with its relation and rationale; the ISO/IEC 27701:2025
    /// clause follows from the 2019 one through the catalogs' correspondence.
    #[test]
    fn mappings_carry_relation_and_rationale_and_derive_2025() {
        let text = GOOD.replace(
            "#     - iso27001-2022:A.8.2\n",
            "#     - control: iso27001-2022:A.8.2  # Privileged access rights\n\
             #       relation: exact\n\
             #       why: Privileged access goes through named accounts.\n\
             #     - control: iso27701-2019:A.7.4.9\n\
             #       relation: supporting\n\
             #       why: \"Transmission: TLS only.\"\n",
        );
        let p = parse("p.rego", &text, &Catalogs::builtin()).unwrap();
        let got: Vec<(String, Option<Relation>, Option<String>)> = p
            .mappings
            .iter()
            .map(|m| {
                (
                    m.control.to_string(),
                    m.relation,
                    m.derived_from.as_ref().map(ToString::to_string),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("iso27001-2022:A.8.2".into(), Some(Relation::Exact), None),
                (
                    "iso27701-2019:A.7.4.9".into(),
                    Some(Relation::Supporting),
                    None
                ),
                (
                    "iso27701-2025:A.1.4.10".into(),
                    Some(Relation::Supporting),
                    Some("iso27701-2019:A.7.4.9".into())
                ),
            ]
        );
        assert_eq!(p.mappings[2].why, "Transmission: TLS only.");
        let controls: Vec<ControlId> = p.mappings.iter().map(|m| m.control.clone()).collect();
        assert_eq!(p.controls, controls);
    }

    /// A pack kept from before relations lists bare ids, 2025 ones included: it still loads,
    /// with no relation, and a derived id is not added twice.
    #[test]
    fn bare_ids_of_older_packs_still_load() {
        let text = GOOD.replace(
            "#     - iso27001-2022:A.8.2\n",
            "#     - iso27001-2022:A.8.2\n\
             #     - iso27701-2019:A.7.4.7\n\
             #     - iso27701-2025:A.1.4.8\n\
             #     - iso27701-2025:A.3.26\n",
        );
        let p = parse("p.rego", &text, &Catalogs::builtin()).unwrap();
        let ids: Vec<String> = p.controls.iter().map(ToString::to_string).collect();
        assert_eq!(
            ids,
            [
                "iso27001-2022:A.8.2",
                "iso27701-2019:A.7.4.7",
                "iso27701-2025:A.1.4.8",
                "iso27701-2025:A.3.26"
            ]
        );
        assert!(
            p.mappings
                .iter()
                .all(|m| m.relation.is_none() && m.why.is_empty())
        );
    }

    #[test]
    fn mapping_problems_are_all_reported() {
        let text = GOOD.replace(
            "#     - iso27001-2022:A.8.2\n",
            "#     - control: iso27001-2022:A.8.2\n\
             #       relation: close\n\
             #       why: w\n\
             #     - control: iso27001-2022:A.8.3\n\
             #       why: w\n\
             #     - control: iso27001-2022:A.8.4\n\
             #       relation: exact\n\
             #       owner: me\n\
             #     - control: iso27701-2025:A.1.4.8\n\
             #       relation: exact\n\
             #       why: w\n\
             #     - control: iso27001-2022:A.8.3\n\
             #       relation: exact\n\
             #       why: w\n",
        );
        let e = errors(&text);
        let has = |s: &str| e.iter().any(|l| l.contains(s));
        assert!(
            has("8: iso27001-2022:A.8.2: relation \"close\" must be exact or supporting"),
            "{e:#?}"
        );
        assert!(
            has("iso27001-2022:A.8.3: missing relation (exact or supporting)"),
            "{e:#?}"
        );
        assert!(
            has("13: unknown key \"owner\" in a custom.controls entry"),
            "{e:#?}"
        );
        assert!(
            has("13: iso27001-2022:A.8.4: missing why, one line of rationale"),
            "{e:#?}"
        );
        assert!(
            has(
                "16: iso27701-2025:A.1.4.8 follows from iso27701-2019:A.7.4.7 (its equivalent): map that instead"
            ),
            "{e:#?}"
        );
        assert!(has("iso27001-2022:A.8.3 is listed twice"), "{e:#?}");
        assert_eq!(e.len(), 6, "{e:#?}");
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = GOOD
            .replace("severity: high", "severity: severe")
            .replace("iso27001-2022:A.8.2", "iso27001-2022:A.9.9")
            .replace("[host]", "[host, mainframe]")
            .replace("freshness: 24h", "freshness: soon");
        let e = errors(&text);
        assert!(
            e.contains(
                &"6: custom.severity \"severe\" must be low, medium, high or critical".to_string()
            ),
            "{e:?}"
        );
        assert!(
            e.contains(
                &"8: unknown control iso27001-2022:A.9.9: not a control of any loaded catalog"
                    .to_string()
            ),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|l| l.starts_with("9: unknown asset kind \"mainframe\"")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|l| l.starts_with("13: freshness \"soon\"")),
            "{e:?}"
        );
        assert_eq!(e.len(), 4, "{e:?}");
    }

    #[test]
    fn missing_block_and_missing_fields() {
        let e = errors("package vouch.policies.x.y\n");
        assert!(e[0].starts_with("1: no `# METADATA` block"), "{e:?}");
        let text = GOOD
            .replace("#   remediation: Set PermitRootLogin no.\n", "")
            .replace("# title: Root login over SSH is disabled\n", "");
        let e = errors(&text);
        assert!(e.contains(&"1: missing title".to_string()), "{e:?}");
        assert!(
            e.contains(&"1: missing custom.remediation".to_string()),
            "{e:?}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_ids_are_refused() {
        let text = GOOD
            .replace("#   id: host.ssh.root_login_disabled", "#   id: Host-SSH")
            .replace("#   severity: high", "#   severity: high\n#   owner: me")
            .replace(
                "#     - host.ssh.permit_root_login",
                "#     - host.ssh.permit_root_login\n#     - host.ssh.permit_root_login",
            );
        let e = errors(&text);
        assert!(
            e.iter().any(|l| l.starts_with("5: custom.id \"Host-SSH\"")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|l| l.starts_with("7: unknown Vouch field custom.owner")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|l| l.contains("evidence host.ssh.permit_root_login is listed twice")),
            "{e:?}"
        );
    }

    #[test]
    fn invalid_yaml_points_at_its_line() {
        let text = GOOD.replace("#   severity: high", "#   severity: [high");
        let e = errors(&text);
        assert!(e[0].contains("metadata is not valid YAML"), "{e:?}");
        let line: usize = e[0].split(':').next().unwrap().parse().unwrap();
        assert!((6..=14).contains(&line), "{e:?}");
    }

    #[test]
    fn invalid_yaml_after_lone_carriage_returns_points_inside_the_file() {
        // Found by fuzzing: YAML counts a lone `\r` as a line break, `str::lines` does not.
        let text = GOOD.replace(
            "#   severity: high",
            &format!("#   severity: high{}   x: [", "\r".repeat(100)),
        );
        let e = errors(&text);
        assert!(e[0].contains("metadata is not valid YAML"), "{e:?}");
        let line: usize = e[0].split(':').next().unwrap().parse().unwrap();
        let severity = text
            .lines()
            .position(|l| l.contains("severity: high"))
            .unwrap()
            + 1;
        assert!(
            (severity..=text.lines().count()).contains(&line),
            "{e:?} (severity on line {severity})"
        );
    }

    #[test]
    fn metadata_after_the_package_is_not_package_scope() {
        let text = format!(
            "package vouch.policies.host.ssh.root_login_disabled\n{}",
            GOOD.replace("package vouch.policies.host.ssh.root_login_disabled\n", "")
        );
        let e = errors(&text);
        assert!(
            e.iter()
                .any(|l| l.starts_with("2: the `# METADATA` block must come before")),
            "{e:?}"
        );
    }

    #[test]
    fn freshness_parses_units_and_refuses_the_rest() {
        assert_eq!(parse_freshness("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_freshness("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_freshness("2w"), Ok(Duration::from_secs(1_209_600)));
        for bad in ["", "24", "h", "0h", "1.5h", "-1d", "24 h", "1y"] {
            assert!(parse_freshness(bad).is_err(), "{bad}");
        }
        assert_eq!(format_freshness(Duration::from_secs(86_400)), "1d");
        assert_eq!(format_freshness(Duration::from_secs(5400)), "90m");
        assert_eq!(format_freshness(Duration::from_secs(7)), "7s");
    }

    #[test]
    fn ids_have_a_shape() {
        assert!(valid_policy_id("host.ssh.root_login_disabled"));
        assert!(!valid_policy_id("host"));
        assert!(!valid_policy_id("host.1ssh"));
        assert!(!valid_policy_id("host..ssh"));
        assert!(valid_evidence_id("host.sysctl.kernel_randomize_va_space"));
        assert!(!valid_evidence_id("host.ssh"));
        assert!(!valid_evidence_id("host.SSH.x"));
    }
}

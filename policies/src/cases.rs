//! Test cases for policies, as `opa test` runs them for OPA: readable fixture files beside the
//! modules, each case an input and the verdict expected.
//!
//! A case file is any `*_test.json` below the pack's directory:
//!
//! ```json
//! {
//!   "policy": "host.ssh.root_login_disabled",
//!   "cases": [
//!     { "name": "root login refused", "expect": "pass",
//!       "evidence": { "host.ssh.server_installed": true, "host.ssh.permit_root_login": "no" } },
//!     { "name": "root login allowed", "expect": "fail", "reason_contains": "yes",
//!       "evidence": { "host.ssh.server_installed": true, "host.ssh.permit_root_login": "yes" } }
//!   ]
//! }
//! ```
//!
//! `evidence` holds the available facts, `unavailable` (optional) maps ids to the reason they
//! could not be read; `asset_kind` defaults to the policy's first kind and `collected_at` to
//! 2026-01-01T00:00:00Z; `config` (optional) is the organisation settings the case is judged
//! with (`data.vouch.config`, e.g. `{"pii_tag_keys": ["data-class"]}`), else the pack's. Every
//! policy needs at least one `pass` and one `fail` case.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;
use vouch_evidence::{Asset, AssetKind, EvidenceItem, Source, Timestamp};

use crate::engine::{OrgConfig, SnapshotView, Status};
use crate::pack::{LoadErrors, PolicyPack, read_tree};

/// The instant cases are collected at unless they say otherwise.
pub const DEFAULT_COLLECTED_AT: &str = "2026-01-01T00:00:00Z";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    policy: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    expect: Status,
    #[serde(default)]
    evidence: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    unavailable: BTreeMap<String, String>,
    asset_kind: Option<AssetKind>,
    collected_at: Option<Timestamp>,
    reason_contains: Option<String>,
    config: Option<OrgConfig>,
}

/// One case that did not give what it expected, or a case file that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseFailure {
    /// The case file, relative to the pack.
    pub file: String,
    /// The case's name (empty for a problem with the whole file).
    pub case: String,
    /// What went wrong.
    pub problem: String,
}

/// What a test run found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestReport {
    /// Cases that gave what they expected.
    pub passed: usize,
    /// Cases that did not, and unusable files.
    pub failures: Vec<CaseFailure>,
    /// Policies without a `pass` case or without a `fail` case, e.g. `host.x: no fail case`.
    pub untested: Vec<String>,
}

impl TestReport {
    /// True when every case passed and every policy has a pass and a fail case.
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.untested.is_empty()
    }

    /// Lines for people, ending with `N passed, N failed`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.failures {
            if f.case.is_empty() {
                let _ = writeln!(out, "FAIL {}: {}", f.file, f.problem);
            } else {
                let _ = writeln!(out, "FAIL {}: {}: {}", f.file, f.case, f.problem);
            }
        }
        for u in &self.untested {
            let _ = writeln!(out, "UNTESTED {u}");
        }
        let _ = writeln!(
            out,
            "{} passed, {} failed",
            self.passed,
            self.failures.len() + self.untested.len()
        );
        out
    }
}

/// Loads the pack in `dir` and runs every `*_test.json` case file below it.
pub fn run_dir(dir: &Path) -> Result<TestReport, LoadErrors> {
    let pack = PolicyPack::load(dir)?;
    let (files, errors) = read_tree(dir, "json");
    if !errors.is_empty() {
        return Err(LoadErrors(errors));
    }
    let files: Vec<(String, String)> = files
        .into_iter()
        .filter(|(f, _)| f.ends_with("_test.json"))
        .collect();
    Ok(run_cases(&pack, &files))
}

/// Runs the cases of (file, text) case files against `pack`.
pub fn run_cases(pack: &PolicyPack, files: &[(String, String)]) -> TestReport {
    let mut report = TestReport::default();
    let mut expected: BTreeMap<&str, (bool, bool)> = pack
        .policies()
        .iter()
        .map(|p| (p.id.as_str(), (false, false)))
        .collect();
    for (file, text) in files {
        let fail = |case: &str, problem: String| CaseFailure {
            file: file.clone(),
            case: case.to_string(),
            problem,
        };
        let doc: CaseFile = match serde_json::from_str(text) {
            Ok(d) => d,
            Err(e) => {
                report
                    .failures
                    .push(fail("", format!("not a case file: {e}")));
                continue;
            }
        };
        let Some(policy) = pack.policy(&doc.policy) else {
            report
                .failures
                .push(fail("", format!("no policy {} in the pack", doc.policy)));
            continue;
        };
        if let Some(seen) = expected.get_mut(policy.id.as_str()) {
            for case in &doc.cases {
                seen.0 |= case.expect == Status::Pass;
                seen.1 |= case.expect == Status::Fail;
            }
        }
        for case in &doc.cases {
            match run_case(
                pack,
                &policy.id,
                &policy.evidence,
                policy.asset_kinds[0],
                file,
                case,
            ) {
                Ok(()) => report.passed += 1,
                Err(problem) => report.failures.push(fail(&case.name, problem)),
            }
        }
    }
    for (id, (pass, fail)) in expected {
        if !pass {
            report.untested.push(format!("{id}: no pass case"));
        }
        if !fail {
            report.untested.push(format!("{id}: no fail case"));
        }
    }
    report
}

fn run_case(
    pack: &PolicyPack,
    policy: &str,
    declared: &[String],
    default_kind: AssetKind,
    file: &str,
    case: &Case,
) -> Result<(), String> {
    if let Some(id) = case
        .evidence
        .keys()
        .chain(case.unavailable.keys())
        .find(|id| !declared.contains(id))
    {
        return Err(format!("{id} is not evidence the policy lists"));
    }
    let source = Source::File(file.to_string());
    let evidence: BTreeMap<String, EvidenceItem> = case
        .evidence
        .iter()
        .map(|(id, v)| (id.clone(), EvidenceItem::ok(v.clone(), source.clone())))
        .chain(case.unavailable.iter().map(|(id, reason)| {
            (
                id.clone(),
                EvidenceItem::unavailable(source.clone(), reason.clone()),
            )
        }))
        .collect();
    let asset = Asset {
        kind: case.asset_kind.unwrap_or(default_kind),
        id: "test-asset".into(),
        name: "test-asset".into(),
    };
    let collected_at = case.collected_at.unwrap_or_else(|| {
        DEFAULT_COLLECTED_AT
            .parse()
            .expect("a valid default instant")
    });
    let view = SnapshotView {
        asset: &asset,
        collected_at,
        evidence: &evidence,
    };
    let configured;
    let pack = match &case.config {
        Some(config) => {
            let mut p = pack.clone();
            p.set_config(config.clone())
                .map_err(|e| format!("config: {e}"))?;
            configured = p;
            &configured
        }
        None => pack,
    };
    let r = pack
        .evaluate_policy(policy, &view)
        .ok_or_else(|| format!("no policy {policy}"))?;
    if r.status != case.expect {
        return Err(format!(
            "expected {}, got {}: {}",
            case.expect.as_str(),
            r.status.as_str(),
            r.reason
        ));
    }
    match &case.reason_contains {
        Some(want) if !r.reason.contains(want.as_str()) => {
            Err(format!("reason {:?} does not contain {want:?}", r.reason))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{load, module};

    const RULES: &str = "deny contains \"flag is off\" if input.evidence[\"host.test.flag\"] == false\n\
        allow := \"flag is on\" if input.evidence[\"host.test.flag\"] == true";

    /// The flag policy with `rules`.
    fn pack_of(rules: &str) -> PolicyPack {
        let text = module(
            "host.test.flag",
            "low",
            "iso27001-2022:A.8.9",
            "host.test.flag",
            rules,
        );
        load(&[("flag.rego", text)]).unwrap()
    }

    fn pack() -> PolicyPack {
        pack_of(RULES)
    }

    fn run(case_file: &str) -> TestReport {
        run_cases(
            &pack(),
            &[("flag_test.json".to_string(), case_file.to_string())],
        )
    }

    #[test]
    fn passing_cases_count_and_missing_kinds_are_named() {
        let r = run(r#"{"policy": "host.test.flag", "cases": [
            {"name": "on", "expect": "pass", "evidence": {"host.test.flag": true}, "reason_contains": "on"},
            {"name": "gone", "expect": "error", "unavailable": {"host.test.flag": "not found: /x"}}
        ]}"#);
        assert_eq!(r.passed, 2);
        assert!(r.failures.is_empty(), "{r:?}");
        assert_eq!(r.untested, vec!["host.test.flag: no fail case"]);
        assert!(!r.ok());
        assert!(
            r.render().ends_with("2 passed, 1 failed\n"),
            "{}",
            r.render()
        );
    }

    #[test]
    fn a_case_can_set_the_organisation_settings() {
        let rules = RULES.replace(
            "allow := \"flag is on\" if input.evidence[\"host.test.flag\"] == true",
            "allow := concat(\",\", data.vouch.config.pii_tag_keys) if {\n\tinput.evidence[\"host.test.flag\"] == true\n\tcount(data.vouch.config.pii_tag_keys) > 0\n}",
        );
        assert_ne!(rules, RULES);
        let pack = pack_of(&rules);
        let run = |cases: &str| {
            run_cases(
                &pack,
                &[(
                    "flag_test.json".to_string(),
                    format!(r#"{{"policy": "host.test.flag", "cases": [{cases}]}}"#),
                )],
            )
        };
        let r = run(r#"
            {"name": "keys set", "expect": "pass", "reason_contains": "pii,data-class",
             "config": {"pii_tag_keys": ["pii", "data-class"]}, "evidence": {"host.test.flag": true}},
            {"name": "the pack's settings", "expect": "pass", "evidence": {"host.test.flag": true}}"#);
        assert_eq!(r.passed, 1, "{r:?}");
        assert_eq!(r.failures.len(), 1, "{r:?}");
        assert_eq!(r.failures[0].case, "the pack's settings");
        assert!(
            r.failures[0]
                .problem
                .starts_with("expected pass, got error: no verdict"),
            "{r:?}"
        );
        let r = run(
            r#"{"name": "typo", "expect": "pass", "config": {"pii_keys": []}, "evidence": {"host.test.flag": true}}"#,
        );
        assert!(
            r.failures[0].problem.contains("unknown field `pii_keys`"),
            "{r:?}"
        );
    }

    #[test]
    fn wrong_expectations_unknown_ids_and_bad_files_fail() {
        let r = run(r#"{"policy": "host.test.flag", "cases": [
            {"name": "on", "expect": "fail", "evidence": {"host.test.flag": true}},
            {"name": "off", "expect": "fail", "evidence": {"host.test.flag": false}, "reason_contains": "missing"},
            {"name": "typo", "expect": "pass", "evidence": {"host.test.flga": true}}
        ]}"#);
        let problems: Vec<String> = r
            .failures
            .iter()
            .map(|f| format!("{}: {}", f.case, f.problem))
            .collect();
        assert_eq!(
            problems,
            vec![
                "on: expected fail, got pass: flag is on",
                "off: reason \"flag is off\" does not contain \"missing\"",
                "typo: host.test.flga is not evidence the policy lists",
            ]
        );
        let r = run(r#"{"policy": "host.test.other", "cases": []}"#);
        assert_eq!(
            r.failures[0].problem,
            "no policy host.test.other in the pack"
        );
        let r = run("{");
        assert!(
            r.failures[0].problem.starts_with("not a case file"),
            "{r:?}"
        );
    }
}

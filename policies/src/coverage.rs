//! How far each control of a framework can be evidenced from collected facts: `automated`,
//! `partly` (some of it) or `manual` (documents and attestations), with the reason and, for
//! `partly`, the part left to an attestation. The classification is data
//! (`coverage/<framework>.toml`), checked against the catalog (every control classified once, no
//! unknown control) and against the policies that map to it: no control claims more than its
//! policies prove. An `automated` control needs a policy mapping to it exactly, a `partly` one a
//! policy mapping to it and a named manual part.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{CatalogError, Catalogs, ControlId};
use crate::metadata::{self, Policy, Relation};
use crate::pack;

/// How far a control is evidenced automatically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Technical settings the collectors read and the built-in pack judges.
    Automated,
    /// Partly by collected facts, the rest (its manual part) by documents: it passes only when
    /// its policies pass and an attestation in force covers the rest.
    Partly,
    /// Organisational, people or physical: documents and attestations.
    Manual,
}

impl Level {
    /// Its name in files and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Automated => "automated",
            Level::Partly => "partly",
            Level::Manual => "manual",
        }
    }
}

/// One control's classification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classified {
    /// The control.
    pub id: ControlId,
    /// How far it is automated.
    pub level: Level,
    /// Why, and by which evidence: one line of rationale.
    pub why: String,
    /// For a `partly` control, what an attestation must cover (what the policies do not).
    pub manual_part: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    framework: String,
    #[serde(default)]
    control: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    coverage: Level,
    why: String,
    manual_part: Option<String>,
}

const BUILTIN: &[(&str, &str)] = &[(
    "coverage/iso27001-2022.toml",
    include_str!("../coverage/iso27001-2022.toml"),
)];

/// The classification of every control of each classified framework, in catalog order.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    by_framework: BTreeMap<String, Vec<Classified>>,
}

impl Coverage {
    /// The built-in classifications, checked against `catalogs` and the mappings of the built-in
    /// pack's policies (the classification ships with that pack).
    pub fn builtin(catalogs: &Catalogs) -> Result<Self, Vec<CatalogError>> {
        let policies: Vec<Policy> = pack::BUILTIN
            .iter()
            .filter(|(_, text)| {
                metadata::package_statement(text)
                    .is_some_and(|(_, p)| p.starts_with(metadata::POLICY_PACKAGE_PREFIX))
            })
            .filter_map(|(file, text)| metadata::parse(file, text, catalogs).ok())
            .collect();
        Self::from_sources(
            BUILTIN.iter().map(|(f, t)| (f.to_string(), t.to_string())),
            catalogs,
            &policies,
        )
    }

    /// Parses classifications from (file, text) pairs, checked against `catalogs` and the
    /// mappings of `policies`; every problem is reported at once.
    pub fn from_sources(
        sources: impl IntoIterator<Item = (String, String)>,
        catalogs: &Catalogs,
        policies: &[Policy],
    ) -> Result<Self, Vec<CatalogError>> {
        let mut errors = Vec::new();
        let mut by_framework = BTreeMap::new();
        for (file, text) in sources {
            let err = |key: String, problem: String| CatalogError {
                file: file.clone(),
                key,
                problem,
            };
            let doc: Doc = match toml::from_str(&text) {
                Ok(d) => d,
                Err(e) => {
                    errors.push(err(String::new(), e.message().to_string()));
                    continue;
                }
            };
            let Some(catalog) = catalogs.get(&doc.framework) else {
                errors.push(err(
                    "framework".into(),
                    format!("{:?} is not a loaded catalog", doc.framework),
                ));
                continue;
            };
            let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
            for (i, e) in doc.control.iter().enumerate() {
                if let Some(first) = seen.insert(e.id.as_str(), i) {
                    errors.push(err(
                        format!("control[{i}].id"),
                        format!("{} is classified twice (first at control[{first}])", e.id),
                    ));
                }
                if !catalog.controls.iter().any(|c| c.id.control == e.id) {
                    errors.push(err(
                        format!("control[{i}].id"),
                        format!("{} is not a control of {}", e.id, doc.framework),
                    ));
                }
                if e.why.trim().is_empty() {
                    errors.push(err(format!("control[{i}].why"), "must say why".into()));
                }
                let id = ControlId {
                    framework: doc.framework.clone(),
                    control: e.id.clone(),
                };
                let relations: Vec<Option<Relation>> = policies
                    .iter()
                    .flat_map(|p| &p.mappings)
                    .filter(|m| m.control == id)
                    .map(|m| m.relation)
                    .collect();
                let named = e
                    .manual_part
                    .as_deref()
                    .is_some_and(|m| !m.trim().is_empty());
                match e.coverage {
                    Level::Automated if !relations.contains(&Some(Relation::Exact)) => {
                        errors.push(err(
                            format!("control[{i}].coverage"),
                            format!(
                                "{} is automated but no policy maps to it exactly ({})",
                                e.id,
                                if relations.is_empty() {
                                    "none maps to it"
                                } else {
                                    "only supporting mappings"
                                }
                            ),
                        ));
                    }
                    Level::Partly if relations.is_empty() => errors.push(err(
                        format!("control[{i}].coverage"),
                        format!("{} is partly automated but no policy maps to it", e.id),
                    )),
                    _ => {}
                }
                match (e.coverage, named) {
                    (Level::Partly, false) => errors.push(err(
                        format!("control[{i}].manual_part"),
                        format!(
                            "{} is partly automated: name the part an attestation must cover",
                            e.id
                        ),
                    )),
                    (Level::Automated | Level::Manual, _) if e.manual_part.is_some() => {
                        errors.push(err(
                            format!("control[{i}].manual_part"),
                            format!(
                                "{} is {}: only a partly automated control has a manual part",
                                e.id,
                                e.coverage.as_str()
                            ),
                        ));
                    }
                    _ => {}
                }
            }
            let mut list = Vec::new();
            for c in &catalog.controls {
                match doc.control.iter().find(|e| e.id == c.id.control) {
                    Some(e) => list.push(Classified {
                        id: c.id.clone(),
                        level: e.coverage,
                        why: e.why.clone(),
                        manual_part: e.manual_part.clone(),
                    }),
                    None => errors.push(err(
                        "control".into(),
                        format!("{} is not classified", c.id.control),
                    )),
                }
            }
            by_framework.insert(doc.framework, list);
        }
        if errors.is_empty() {
            Ok(Coverage { by_framework })
        } else {
            Err(errors)
        }
    }

    /// The classification of `framework`'s controls, in catalog order.
    pub fn of(&self, framework: &str) -> &[Classified] {
        self.by_framework.get(framework).map_or(&[], Vec::as_slice)
    }

    /// The classification of one control, when its framework is classified.
    pub fn control(&self, id: &ControlId) -> Option<&Classified> {
        self.of(&id.framework).iter().find(|c| c.id == *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_annex_a_control_is_classified_once() {
        let catalogs = Catalogs::builtin();
        let coverage = Coverage::builtin(&catalogs).unwrap();
        let list = coverage.of("iso27001-2022");
        assert_eq!(list.len(), 93);
        let count = |l: Level| list.iter().filter(|c| c.level == l).count();
        assert_eq!(
            count(Level::Automated) + count(Level::Partly) + count(Level::Manual),
            93
        );
        // People and physical controls cannot be read off a host; these are manual.
        assert!(
            list.iter()
                .filter(|c| c.id.control.starts_with("A.6."))
                .all(|c| c.level == Level::Manual)
        );
        // Encryption settings are judged, the rules on cryptography and key management are not.
        let a824 = list.iter().find(|c| c.id.control == "A.8.24").unwrap();
        assert_eq!(a824.level, Level::Partly);
        assert!(
            a824.manual_part
                .as_deref()
                .is_some_and(|m| m.contains("key management"))
        );
        // Every partly control names its manual part; no other does.
        for c in list {
            assert_eq!(
                c.manual_part.is_some(),
                c.level == Level::Partly,
                "{}: {:?}",
                c.id,
                c.manual_part
            );
            assert!(!c.why.contains('\n'), "{}: one line of rationale", c.id);
        }
    }

    /// The issue-16 review: controls whose policies test only the technical part are `partly`,
    /// and controls no policy maps to are `manual`, whatever the collectors read about them.
    #[test]
    fn no_control_claims_more_than_its_policies_prove() {
        let catalogs = Catalogs::builtin();
        let coverage = Coverage::builtin(&catalogs).unwrap();
        let level = |id: &str| {
            coverage
                .control(&format!("iso27001-2022:{id}").parse().unwrap())
                .unwrap()
                .level
        };
        for id in [
            "A.8.2", "A.8.3", "A.8.4", "A.8.5", "A.8.7", "A.8.8", "A.8.9", "A.8.15", "A.8.20",
            "A.8.24", "A.8.32",
        ] {
            assert_eq!(level(id), Level::Partly, "{id}");
        }
        for id in [
            "A.5.9", "A.5.12", "A.5.16", "A.5.23", "A.5.28", "A.5.30", "A.5.33", "A.5.36", "A.7.9",
            "A.8.1", "A.8.14", "A.8.25", "A.8.28", "A.8.29",
        ] {
            assert_eq!(level(id), Level::Manual, "{id}");
        }
        let list = coverage.of("iso27001-2022");
        let count = |l: Level| list.iter().filter(|c| c.level == l).count();
        assert_eq!(
            (
                count(Level::Automated),
                count(Level::Partly),
                count(Level::Manual)
            ),
            (1, 26, 66)
        );
    }

    /// Loading refuses a classification the policies do not bear out, naming every problem.
    #[test]
    fn claims_the_policies_do_not_bear_out_are_refused() {
        let catalogs = Catalogs::builtin();
        let pack = crate::testing::load(&[(
            "a.rego",
            crate::testing::module(
                "host.test.a",
                "low",
                "{control: \"iso27001-2022:A.8.9\", relation: supporting, why: w}, \
                     {control: \"iso27001-2022:A.8.17\", relation: exact, why: w}",
                "host.test.flag",
                "allow := \"ok\" if true\ndeny contains \"no\" if false",
            ),
        )])
        .unwrap();
        let mut text = String::from("framework = \"iso27001-2022\"\n");
        for c in &catalogs.get("iso27001-2022").unwrap().controls {
            let (level, extra) = match c.id.control.as_str() {
                "A.8.1" => ("automated", ""),
                "A.8.9" => ("automated", ""),
                "A.8.17" => ("partly", ""),
                "A.8.16" => ("partly", "manual_part = \"the process\"\n"),
                "A.5.1" => ("manual", "manual_part = \"all\"\n"),
                _ => ("manual", ""),
            };
            text.push_str(&format!(
                "[[control]]\nid = \"{}\"\ncoverage = \"{level}\"\nwhy = \"w\"\n{extra}",
                c.id.control
            ));
        }
        let errors =
            Coverage::from_sources([("c.toml".to_string(), text)], &catalogs, pack.policies())
                .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let has = |s: &str| text.iter().any(|e| e.contains(s));
        assert!(
            has("A.8.1 is automated but no policy maps to it exactly (none maps to it)"),
            "{text:#?}"
        );
        assert!(
            has("A.8.9 is automated but no policy maps to it exactly (only supporting mappings)"),
            "{text:#?}"
        );
        assert!(
            has("A.8.17 is partly automated: name the part an attestation must cover"),
            "{text:#?}"
        );
        assert!(
            has("A.8.16 is partly automated but no policy maps to it"),
            "{text:#?}"
        );
        assert!(
            has("c.toml: control[0].manual_part: A.5.1 is manual: only a partly automated"),
            "{text:#?}"
        );
        assert_eq!(text.len(), 5, "{text:#?}");
    }

    #[test]
    fn unknown_duplicate_and_missing_controls_are_all_reported() {
        let catalogs = Catalogs::builtin();
        let text = "framework = \"iso27001-2022\"\n\
                    [[control]]\nid = \"A.5.1\"\ncoverage = \"manual\"\nwhy = \"x\"\n\
                    [[control]]\nid = \"A.5.1\"\ncoverage = \"manual\"\nwhy = \"x\"\n\
                    [[control]]\nid = \"A.9.9\"\ncoverage = \"partly\"\nwhy = \" \"\n";
        let errors =
            Coverage::from_sources([("c.toml".to_string(), text.to_string())], &catalogs, &[])
                .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|e| e.contains("A.5.1 is classified twice")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|e| e.contains("A.9.9 is not a control")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|e| e.contains("control[2].why: must say why")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|e| e.contains("A.8.34 is not classified")),
            "{text:?}"
        );
    }
}

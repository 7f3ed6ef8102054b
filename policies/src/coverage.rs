//! How far each control of a framework can be evidenced from collected facts: `automated`,
//! `partly` (some of it) or `manual` (documents and attestations), with the reason. The
//! classification is data (`coverage/<framework>.toml`), checked against the catalog: every
//! control classified once, no unknown control.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{CatalogError, Catalogs, ControlId};

/// How far a control is evidenced automatically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Technical settings the collectors read and the built-in pack judges.
    Automated,
    /// Partly by collected facts, the rest by documents.
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
    /// Why, and by which evidence.
    pub why: String,
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
    /// The built-in classifications, checked against `catalogs`.
    pub fn builtin(catalogs: &Catalogs) -> Result<Self, Vec<CatalogError>> {
        Self::from_sources(
            BUILTIN.iter().map(|(f, t)| (f.to_string(), t.to_string())),
            catalogs,
        )
    }

    /// Parses classifications from (file, text) pairs; every problem is reported at once.
    pub fn from_sources(
        sources: impl IntoIterator<Item = (String, String)>,
        catalogs: &Catalogs,
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
            }
            let mut list = Vec::new();
            for c in &catalog.controls {
                match doc.control.iter().find(|e| e.id == c.id.control) {
                    Some(e) => list.push(Classified {
                        id: c.id.clone(),
                        level: e.coverage,
                        why: e.why.clone(),
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
        let a824 = list.iter().find(|c| c.id.control == "A.8.24").unwrap();
        assert_eq!(a824.level, Level::Automated);
    }

    #[test]
    fn unknown_duplicate_and_missing_controls_are_all_reported() {
        let catalogs = Catalogs::builtin();
        let text = "framework = \"iso27001-2022\"\n\
                    [[control]]\nid = \"A.5.1\"\ncoverage = \"manual\"\nwhy = \"x\"\n\
                    [[control]]\nid = \"A.5.1\"\ncoverage = \"manual\"\nwhy = \"x\"\n\
                    [[control]]\nid = \"A.9.9\"\ncoverage = \"partly\"\nwhy = \" \"\n";
        let errors = Coverage::from_sources([("c.toml".to_string(), text.to_string())], &catalogs)
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

//! Loading and querying control catalogs.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The built-in catalogs, as (file name, contents).
pub const BUILTIN: [(&str, &str); 3] = [
    (
        "iso27001-2022.toml",
        include_str!("../catalogs/iso27001-2022.toml"),
    ),
    (
        "iso27701-2019.toml",
        include_str!("../catalogs/iso27701-2019.toml"),
    ),
    (
        "iso27701-2025.toml",
        include_str!("../catalogs/iso27701-2025.toml"),
    ),
];

/// A control id qualified by its framework and edition: `iso27001-2022:A.8.24`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ControlId {
    /// The framework and edition, e.g. `iso27001-2022`.
    pub framework: String,
    /// The control's id inside the framework, e.g. `A.8.24`.
    pub control: String,
}

impl fmt::Display for ControlId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.framework, self.control)
    }
}

impl FromStr for ControlId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((fw, c)) if valid_framework_id(fw) && !c.is_empty() && !c.contains(':') => {
                Ok(ControlId {
                    framework: fw.to_string(),
                    control: c.to_string(),
                })
            }
            _ => Err(format!(
                "{s:?} is not a qualified control id (framework-edition:control, e.g. iso27001-2022:A.8.24)"
            )),
        }
    }
}

impl Serialize for ControlId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ControlId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A framework id names the framework and its edition: `iso27001-2022`.
fn valid_framework_id(s: &str) -> bool {
    let Some((name, edition)) = s.rsplit_once('-') else {
        return false;
    };
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && edition.len() == 4
        && edition.bytes().all(|b| b.is_ascii_digit())
}

/// Which role a privacy control applies to; the organisation declares its own per framework.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Applies to PII controllers.
    Controller,
    /// Applies to PII processors.
    Processor,
    /// Applies to both.
    Both,
}

impl Role {
    /// Whether a control for `self` applies to an organisation acting as `org`.
    pub fn applies_to(self, org: Role) -> bool {
        matches!((self, org), (Role::Both, _) | (_, Role::Both)) || self == org
    }
}

/// One control of a catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Control {
    /// Its qualified id.
    pub id: ControlId,
    /// Its short title.
    pub title: String,
    /// Theme (27001: organizational, people, physical, technological).
    pub theme: Option<String>,
    /// Group or objective it belongs to.
    pub group: Option<String>,
    /// For privacy frameworks: the role it applies to. `None` applies to everyone.
    pub role: Option<Role>,
    /// The same control in another edition (crosswalk).
    pub equivalent: Vec<ControlId>,
    /// The controls of another framework it extends.
    pub extends: Vec<ControlId>,
    /// True when the id, the title or the correspondence to an earlier edition comes from
    /// uncertain sources (a whole framework can be marked so).
    pub provisional: bool,
}

/// One framework edition's controls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalog {
    /// Framework and edition, e.g. `iso27001-2022`.
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Where it was loaded from.
    pub file: String,
    /// Controls in file order.
    pub controls: Vec<Control>,
}

/// Every catalog loaded, by framework id.
#[derive(Clone, Debug, Default)]
pub struct Catalogs {
    catalogs: BTreeMap<String, Catalog>,
}

/// One problem found while loading catalogs: which file, which key, what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {key}: {problem}")]
pub struct CatalogError {
    /// The file.
    pub file: String,
    /// The key path inside it, e.g. `control[12].id`.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    framework: FrameworkDoc,
    #[serde(default)]
    control: Vec<ControlDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameworkDoc {
    id: String,
    name: String,
    #[serde(default)]
    provisional: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlDoc {
    id: String,
    title: String,
    theme: Option<String>,
    group: Option<String>,
    role: Option<Role>,
    #[serde(default)]
    equivalent: Vec<String>,
    #[serde(default)]
    extends: Vec<String>,
    #[serde(default)]
    provisional: bool,
}

impl Catalogs {
    /// The built-in catalogs.
    pub fn builtin() -> Self {
        Self::from_sources(BUILTIN.iter().map(|(f, t)| (f.to_string(), t.to_string())))
            .expect("the built-in catalogs are valid (checked by tests)")
    }

    /// The built-in catalogs plus every `*.toml` file in `dir`.
    pub fn builtin_and_dir(dir: &Path) -> Result<Self, Vec<CatalogError>> {
        let mut sources: Vec<(String, String)> = BUILTIN
            .iter()
            .map(|(f, t)| (f.to_string(), t.to_string()))
            .collect();
        let mut errors = Vec::new();
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect(),
            Err(e) => {
                return Err(vec![CatalogError {
                    file: dir.display().to_string(),
                    key: String::new(),
                    problem: format!("cannot read directory: {e}"),
                }]);
            }
        };
        files.sort();
        for path in files {
            match std::fs::read_to_string(&path) {
                Ok(text) => sources.push((path.display().to_string(), text)),
                Err(e) => errors.push(CatalogError {
                    file: path.display().to_string(),
                    key: String::new(),
                    problem: format!("cannot read: {e}"),
                }),
            }
        }
        match Self::from_sources(sources) {
            Ok(c) if errors.is_empty() => Ok(c),
            Ok(_) => Err(errors),
            Err(mut more) => {
                errors.append(&mut more);
                Err(errors)
            }
        }
    }

    /// Parses catalogs from (file name, text) pairs, reporting every error at once. Cross
    /// references (`equivalent`, `extends`) must name controls of loaded catalogs.
    pub fn from_sources(
        sources: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Vec<CatalogError>> {
        let mut errors = Vec::new();
        let mut catalogs: BTreeMap<String, Catalog> = BTreeMap::new();
        for (file, text) in sources {
            let err = |key: String, problem: String| CatalogError {
                file: file.clone(),
                key,
                problem,
            };
            let doc: FileDoc = match toml::from_str(&text) {
                Ok(d) => d,
                Err(e) => {
                    let key = e.span().map_or(String::new(), |s| {
                        let line = text[..s.start].matches('\n').count() + 1;
                        format!("line {line}")
                    });
                    errors.push(err(key, e.message().to_string()));
                    continue;
                }
            };
            if !valid_framework_id(&doc.framework.id) {
                errors.push(err(
                    "framework.id".into(),
                    format!(
                        "{:?} must read name-edition, e.g. iso27001-2022",
                        doc.framework.id
                    ),
                ));
                continue;
            }
            if let Some(existing) = catalogs.get(&doc.framework.id) {
                errors.push(err(
                    "framework.id".into(),
                    format!(
                        "{} is already defined in {}",
                        doc.framework.id, existing.file
                    ),
                ));
                continue;
            }
            let mut controls = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (i, c) in doc.control.into_iter().enumerate() {
                if c.id.is_empty() || c.id.contains(':') || c.id.contains(char::is_whitespace) {
                    errors.push(err(
                        format!("control[{i}].id"),
                        format!("{:?} is not a control id", c.id),
                    ));
                    continue;
                }
                if !seen.insert(c.id.clone()) {
                    errors.push(err(
                        format!("control[{i}].id"),
                        format!("{} appears twice", c.id),
                    ));
                    continue;
                }
                if c.title.trim().is_empty() {
                    errors.push(err(
                        format!("control[{i}].title"),
                        "must not be empty".into(),
                    ));
                }
                let mut refs = |list: Vec<String>, what: &str| -> Vec<ControlId> {
                    list.into_iter()
                        .enumerate()
                        .filter_map(|(j, r)| match r.parse::<ControlId>() {
                            Ok(id) => Some(id),
                            Err(p) => {
                                errors.push(err(format!("control[{i}].{what}[{j}]"), p));
                                None
                            }
                        })
                        .collect()
                };
                let equivalent = refs(c.equivalent, "equivalent");
                let extends = refs(c.extends, "extends");
                controls.push(Control {
                    id: ControlId {
                        framework: doc.framework.id.clone(),
                        control: c.id,
                    },
                    title: c.title,
                    theme: c.theme,
                    group: c.group,
                    role: c.role,
                    equivalent,
                    extends,
                    provisional: c.provisional || doc.framework.provisional,
                });
            }
            catalogs.insert(
                doc.framework.id.clone(),
                Catalog {
                    id: doc.framework.id,
                    name: doc.framework.name,
                    file,
                    controls,
                },
            );
        }
        let loaded = Catalogs { catalogs };
        for catalog in loaded.catalogs.values() {
            for (i, c) in catalog.controls.iter().enumerate() {
                for (what, list) in [("equivalent", &c.equivalent), ("extends", &c.extends)] {
                    for (j, r) in list.iter().enumerate() {
                        if loaded.control(r).is_none() {
                            errors.push(CatalogError {
                                file: catalog.file.clone(),
                                key: format!("control[{i}].{what}[{j}]"),
                                problem: format!("{r} is not a control of any loaded catalog"),
                            });
                        }
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(loaded)
        } else {
            Err(errors)
        }
    }

    /// A catalog by framework id.
    pub fn get(&self, framework: &str) -> Option<&Catalog> {
        self.catalogs.get(framework)
    }

    /// Every catalog, by framework id.
    pub fn iter(&self) -> impl Iterator<Item = &Catalog> {
        self.catalogs.values()
    }

    /// A control by qualified id.
    pub fn control(&self, id: &ControlId) -> Option<&Control> {
        self.catalogs
            .get(&id.framework)?
            .controls
            .iter()
            .find(|c| c.id == *id)
    }

    /// The controls of `framework` that apply to an organisation acting as `role`.
    pub fn applicable<'a>(&'a self, framework: &str, role: Role) -> Vec<&'a Control> {
        self.get(framework).map_or_else(Vec::new, |c| {
            c.controls
                .iter()
                .filter(|c| c.role.is_none_or(|r| r.applies_to(role)))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogs_have_every_control() {
        let c = Catalogs::builtin();
        let iso = c.get("iso27001-2022").unwrap();
        assert_eq!(iso.controls.len(), 93);
        let by_theme = |t: &str| {
            iso.controls
                .iter()
                .filter(|c| c.theme.as_deref() == Some(t))
                .count()
        };
        assert_eq!(
            (
                by_theme("organizational"),
                by_theme("people"),
                by_theme("physical"),
                by_theme("technological")
            ),
            (37, 8, 14, 34)
        );
        let p19 = c.get("iso27701-2019").unwrap();
        let ctrl = p19
            .controls
            .iter()
            .filter(|c| c.role == Some(Role::Controller))
            .count();
        let proc = p19
            .controls
            .iter()
            .filter(|c| c.role == Some(Role::Processor))
            .count();
        assert_eq!((ctrl, proc), (31, 18));
        assert!(
            c.control(&"iso27001-2022:A.8.24".parse().unwrap())
                .is_some()
        );
    }

    #[test]
    fn editions_never_collide_and_crosswalk_resolves() {
        let c = Catalogs::builtin();
        let new: ControlId = "iso27701-2025:A.1.2.2".parse().unwrap();
        let old = &c.control(&new).unwrap().equivalent;
        assert_eq!(
            old,
            &vec!["iso27701-2019:A.7.2.1".parse::<ControlId>().unwrap()]
        );
        assert_eq!(
            c.control(&old[0]).unwrap().title,
            c.control(&new).unwrap().title
        );
        let shared: ControlId = "iso27701-2025:A.3.26".parse().unwrap();
        let shared = c.control(&shared).unwrap();
        assert!(shared.provisional);
        assert_eq!(
            c.control(&shared.extends[0]).unwrap().title,
            "Use of cryptography"
        );
    }

    #[test]
    fn role_selects_annexes() {
        let c = Catalogs::builtin();
        assert_eq!(c.applicable("iso27701-2019", Role::Controller).len(), 31);
        assert_eq!(c.applicable("iso27701-2019", Role::Processor).len(), 18);
        assert_eq!(c.applicable("iso27701-2019", Role::Both).len(), 49);
        assert_eq!(c.applicable("iso27001-2022", Role::Processor).len(), 93);
    }

    #[test]
    fn every_error_is_reported_with_file_and_key() {
        let bad = r#"
[framework]
id = "acme-2026"
name = "ACME"
[[control]]
id = "X.1"
title = ""
[[control]]
id = "X.1"
title = "dup"
[[control]]
id = "X.2"
title = "ok"
extends = ["iso27001-2022:A.99.1", "nonsense"]
"#;
        let broken = "[framework]\nid = \"x\"\nname = 3\n";
        let errs = Catalogs::from_sources(
            BUILTIN
                .iter()
                .map(|(f, t)| (f.to_string(), t.to_string()))
                .chain([
                    ("acme.toml".to_string(), bad.to_string()),
                    ("broken.toml".into(), broken.into()),
                ]),
        )
        .unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        let has = |s: &str| text.iter().any(|t| t.contains(s));
        assert!(
            has("acme.toml: control[0].title: must not be empty"),
            "{text:#?}"
        );
        assert!(
            has("acme.toml: control[1].id: X.1 appears twice"),
            "{text:#?}"
        );
        assert!(
            has("acme.toml: control[1].extends[1]") || has("acme.toml: control[2].extends[1]"),
            "{text:#?}"
        );
        assert!(
            has("iso27001-2022:A.99.1 is not a control of any loaded catalog"),
            "{text:#?}"
        );
        assert!(has("broken.toml: line 3"), "{text:#?}");
    }

    #[test]
    fn a_directory_adds_frameworks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("soc2-2017.toml"),
            "[framework]\nid = \"soc2-2017\"\nname = \"SOC 2\"\n[[control]]\nid = \"CC6.1\"\ntitle = \"Logical access\"\n",
        )
        .unwrap();
        let c = Catalogs::builtin_and_dir(dir.path()).unwrap();
        assert!(c.control(&"soc2-2017:CC6.1".parse().unwrap()).is_some());
        assert_eq!(c.iter().count(), 4);
    }

    #[test]
    fn qualified_ids() {
        assert!("iso27001-2022:A.5.1".parse::<ControlId>().is_ok());
        assert!("A.5.1".parse::<ControlId>().is_err());
        assert!("iso27001:A.5.1".parse::<ControlId>().is_err());
    }
}

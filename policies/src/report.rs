//! The coverage table `vouch policy coverage` prints: each control of a framework, how far it is
//! automated, and the policies of a pack that evidence it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::catalog::{Catalogs, ControlId};
use crate::coverage::{Coverage, Level};
use crate::metadata::Relation;
use crate::pack::PolicyPack;

/// The policies of `pack` that evidence each control, by control.
pub fn policies_by_control(pack: &PolicyPack) -> BTreeMap<&ControlId, Vec<&str>> {
    let mut map: BTreeMap<&ControlId, Vec<&str>> = BTreeMap::new();
    for p in pack.policies() {
        for c in &p.controls {
            map.entry(c).or_default().push(p.id.as_str());
        }
    }
    map
}

/// The policies of `pack` mapping to each control, by control and relation (`None` for the bare
/// ids of older packs).
fn mappings_by_control(
    pack: &PolicyPack,
) -> BTreeMap<&ControlId, BTreeMap<Option<Relation>, Vec<&str>>> {
    let mut map: BTreeMap<&ControlId, BTreeMap<Option<Relation>, Vec<&str>>> = BTreeMap::new();
    for p in pack.policies() {
        for m in &p.mappings {
            map.entry(&m.control)
                .or_default()
                .entry(m.relation)
                .or_default()
                .push(p.id.as_str());
        }
    }
    map
}

/// The table of `framework`: a summary line (controls by level, mappings by relation), then for
/// each control its id, level and title, its rationale, for a `partly` control the part an
/// attestation must cover, and the policies mapping to it by relation, indented below.
pub fn coverage_table(
    catalogs: &Catalogs,
    coverage: &Coverage,
    pack: &PolicyPack,
    framework: &str,
) -> String {
    let classified = coverage.of(framework);
    let by_control = mappings_by_control(pack);
    let mut out = String::new();
    let count = |l: Level| classified.iter().filter(|c| c.level == l).count();
    let name = catalogs
        .get(framework)
        .map_or(framework, |c| c.name.as_str());
    let mappings: Vec<_> = pack.policies().iter().flat_map(|p| &p.mappings).collect();
    let relation = |r: Option<Relation>| mappings.iter().filter(|m| m.relation == r).count();
    let unstated = relation(None);
    let _ = writeln!(
        out,
        "{name}: {} controls, {} automated, {} partly, {} manual; pack {} ({} policies, {} mappings: {} exact, {} supporting{})",
        classified.len(),
        count(Level::Automated),
        count(Level::Partly),
        count(Level::Manual),
        &pack.digest()[..12],
        pack.policies().len(),
        mappings.len(),
        relation(Some(Relation::Exact)),
        relation(Some(Relation::Supporting)),
        if unstated > 0 {
            format!(", {unstated} with no relation stated")
        } else {
            String::new()
        },
    );
    let width = classified
        .iter()
        .map(|c| c.id.control.len())
        .max()
        .unwrap_or(0);
    let indent = " ".repeat(width + 2 + 9 + 4);
    for c in classified {
        let title = catalogs.control(&c.id).map_or("", |c| c.title.as_str());
        let _ = writeln!(
            out,
            "{:<width$}  {:<9}  {title}",
            c.id.control,
            c.level.as_str()
        );
        let words = |label: &str, text: &str| -> Vec<String> {
            let words: Vec<&str> = std::iter::once(label)
                .chain(text.split_whitespace())
                .collect();
            wrap_with(&words, WIDTH - indent.len(), " ")
        };
        let mut lines = words("why:", &c.why);
        if let Some(part) = &c.manual_part {
            lines.extend(words("manual part:", part));
        }
        if let Some(by_relation) = by_control.get(&c.id) {
            for (relation, policies) in by_relation {
                let label = format!("{}:", relation.map_or("mapped", Relation::as_str));
                let items: Vec<&str> = std::iter::once(label.as_str())
                    .chain(policies.iter().copied())
                    .collect();
                lines.extend(wrap_with(&items, WIDTH - indent.len(), ", "));
            }
        }
        for line in lines {
            let _ = writeln!(out, "{indent}{line}");
        }
    }
    out
}

/// The widest a line of the table gets (a list of policies wraps).
const WIDTH: usize = 100;

/// `items` joined with `, ` in lines of at most `width` characters (a longer item gets a line of
/// its own).
#[cfg(test)]
fn wrap(items: &[&str], width: usize) -> Vec<String> {
    wrap_with(items, width, ", ")
}

/// `items` joined with `sep` (`", "` or `" "`) in lines of at most `width` characters; after a
/// label ending in `:` no separator but a space (a longer item gets a line of its own).
fn wrap_with(items: &[&str], width: usize, sep: &str) -> Vec<String> {
    let mark = sep.trim_end();
    let mut lines: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() && !item.ends_with(':') {
            format!("{item}{mark}")
        } else {
            item.to_string()
        };
        match lines.last_mut() {
            Some(line) if line.len() + 1 + piece.len() <= width => {
                line.push(' ');
                line.push_str(&piece);
            }
            _ => lines.push(piece),
        }
    }
    lines
}

/// Disagreements between a classification and a pack (another than the one it ships with):
/// controls classified `manual` that a policy maps to exactly, `automated` ones no policy of the
/// pack maps to exactly, and `partly` ones no policy maps to: claims the pack does not bear out.
pub fn coverage_mismatches(coverage: &Coverage, pack: &PolicyPack, framework: &str) -> Vec<String> {
    let by_control = mappings_by_control(pack);
    coverage
        .of(framework)
        .iter()
        .filter_map(|c| {
            let mapped = by_control.get(&c.id);
            let exact = mapped.and_then(|m| m.get(&Some(Relation::Exact)));
            match (c.level, mapped, exact) {
                (Level::Manual, _, Some(p)) => Some(format!(
                    "{} is classified manual but mapped exactly by {}",
                    c.id,
                    p.join(", ")
                )),
                (Level::Automated, _, None) => Some(format!(
                    "{} is classified automated but no policy maps to it exactly",
                    c.id
                )),
                (Level::Partly, None, _) => Some(format!(
                    "{} is classified partly but no policy maps to it",
                    c.id
                )),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_wrap_at_commas() {
        assert_eq!(wrap(&["aaaa", "bbbb", "cc"], 11), vec!["aaaa, bbbb,", "cc"]);
        assert_eq!(
            wrap(&["a-very-long-id", "b"], 5),
            vec!["a-very-long-id,", "b"]
        );
        assert!(wrap(&[], 10).is_empty());
    }

    #[test]
    fn the_table_lists_every_control_with_its_policies() {
        let catalogs = Catalogs::builtin();
        let coverage = Coverage::builtin(&catalogs).unwrap();
        let pack = PolicyPack::builtin();
        let table = coverage_table(&catalogs, &coverage, &pack, "iso27001-2022");
        // A summary line and 93 controls, each followed by the policies that evidence it.
        let controls: Vec<&str> = table.lines().filter(|l| l.starts_with("A.")).collect();
        assert_eq!(controls.len(), 93, "{table}");
        assert!(
            table
                .lines()
                .filter(|l| l.starts_with(' '))
                .all(|l| l.len() <= WIDTH),
            "{table}"
        );
        let a824: String = table
            .lines()
            .skip_while(|l| !l.starts_with("A.8.24 "))
            .skip(1)
            .take_while(|l| l.starts_with(' '))
            .collect();
        assert!(a824.contains("host.storage.root_encrypted,"), "{a824}");
        assert!(a824.contains("why: Encryption at rest"), "{a824}");
        assert!(
            a824.contains("manual part: The rules on the use of cryptography"),
            "{a824}"
        );
        assert!(
            a824.contains("exact: ") && a824.contains("supporting: "),
            "{a824}"
        );
        assert!(
            table.starts_with(
                "ISO/IEC 27001:2022 Annex A: 93 controls, 1 automated, 26 partly, 66 manual; pack "
            ),
            "{table}"
        );
        assert!(
            table.lines().next().unwrap().contains(" exact, "),
            "{table}"
        );
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("A.5.1 ") && l.contains("manual"))
        );
        let a51: Vec<&str> = table
            .lines()
            .skip_while(|l| !l.starts_with("A.5.1 "))
            .skip(1)
            .take_while(|l| l.starts_with(' '))
            .collect();
        assert!(
            a51[0].trim_start().starts_with("why: ")
                && a51
                    .iter()
                    .all(|l| !l.contains("exact:") && !l.contains("supporting:")),
            "no policy evidences A.5.1: {a51:?}"
        );
    }

    #[test]
    fn the_builtin_pack_agrees_with_the_manual_classification() {
        let catalogs = Catalogs::builtin();
        let coverage = Coverage::builtin(&catalogs).unwrap();
        let pack = PolicyPack::builtin();
        let mismatches = coverage_mismatches(&coverage, &pack, "iso27001-2022");
        assert!(mismatches.is_empty(), "{mismatches:#?}");
    }
}

//! The coverage table `vouch policy coverage` prints: each control of a framework, how far it is
//! automated, and the policies of a pack that evidence it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::catalog::{Catalogs, ControlId};
use crate::coverage::{Coverage, Level};
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

/// The table of `framework`: a summary line, then one line per control (id, level, title) with
/// the policies that evidence it indented below.
pub fn coverage_table(
    catalogs: &Catalogs,
    coverage: &Coverage,
    pack: &PolicyPack,
    framework: &str,
) -> String {
    let classified = coverage.of(framework);
    let by_control = policies_by_control(pack);
    let mut out = String::new();
    let count = |l: Level| classified.iter().filter(|c| c.level == l).count();
    let name = catalogs
        .get(framework)
        .map_or(framework, |c| c.name.as_str());
    let _ = writeln!(
        out,
        "{name}: {} controls, {} automated, {} partly, {} manual; pack {} ({} policies)",
        classified.len(),
        count(Level::Automated),
        count(Level::Partly),
        count(Level::Manual),
        &pack.digest()[..12],
        pack.policies().len(),
    );
    let width = classified
        .iter()
        .map(|c| c.id.control.len())
        .max()
        .unwrap_or(0);
    for c in classified {
        let title = catalogs.control(&c.id).map_or("", |c| c.title.as_str());
        let _ = writeln!(
            out,
            "{:<width$}  {:<9}  {title}",
            c.id.control,
            c.level.as_str()
        );
        if let Some(policies) = by_control.get(&c.id) {
            let indent = " ".repeat(width + 2 + 9 + 4);
            for line in wrap(policies, WIDTH - indent.len()) {
                let _ = writeln!(out, "{indent}{line}");
            }
        }
    }
    out
}

/// The widest a line of the table gets (a list of policies wraps).
const WIDTH: usize = 100;

/// `items` joined with `, ` in lines of at most `width` characters (a longer item gets a line of
/// its own).
fn wrap(items: &[&str], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() {
            format!("{item},")
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

/// Disagreements between a classification and a pack: controls classified `manual` that a
/// policy claims to evidence, and `automated` ones no policy of the pack evidences.
pub fn coverage_mismatches(coverage: &Coverage, pack: &PolicyPack, framework: &str) -> Vec<String> {
    let by_control = policies_by_control(pack);
    coverage
        .of(framework)
        .iter()
        .filter_map(|c| match (c.level, by_control.get(&c.id)) {
            (Level::Manual, Some(p)) => Some(format!(
                "{} is classified manual but evidenced by {}",
                c.id,
                p.join(", ")
            )),
            (Level::Automated, None) => Some(format!(
                "{} is classified automated but no policy evidences it",
                c.id
            )),
            _ => None,
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
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("A.5.1 ") && l.contains("manual"))
        );
        let a51 = table
            .lines()
            .skip_while(|l| !l.starts_with("A.5.1 "))
            .nth(1)
            .unwrap();
        assert!(
            a51.starts_with("A.5.2 "),
            "no policy evidences A.5.1: {a51}"
        );
    }

    #[test]
    fn the_builtin_pack_agrees_with_the_manual_classification() {
        let catalogs = Catalogs::builtin();
        let coverage = Coverage::builtin(&catalogs).unwrap();
        let pack = PolicyPack::builtin();
        let manual: Vec<String> = coverage_mismatches(&coverage, &pack, "iso27001-2022")
            .into_iter()
            .filter(|m| m.contains("classified manual"))
            .collect();
        assert!(manual.is_empty(), "{manual:#?}");
    }
}

//! Collected evidence checked against a fixture's expected files, item by item.
//!
//! An expected directory holds `asset.json` (`{"id": …, "name": …}`) and, per collector,
//! `<collector>.json` (`github.repos.json`) mapping each of that collector's evidence ids to
//! `{"ok": value}` or `{"unavailable": "reason"}`. The files are written by hand from the
//! fixture's contents, so a wrong reading shows up as a difference; every difference is
//! reported at once, and so is a value whose type is not the declared one.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use vouch_evidence::{ItemStatus, RunOutcome};

use crate::{Collected, Collector};

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every difference between `collected` (by `collectors`) and the files in `expected_dir`.
pub fn differences(
    collected: &Collected,
    collectors: &[Arc<dyn Collector>],
    expected_dir: &Path,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let asset = json!({"id": collected.asset.id, "name": collected.asset.name});
    match read_json(&expected_dir.join("asset.json")) {
        Ok(want) if want == asset => {}
        Ok(want) => diffs.push(format!("asset: expected {want}, got {asset}")),
        Err(e) => diffs.push(e),
    }
    for run in collected
        .collectors
        .iter()
        .filter(|r| r.outcome != RunOutcome::Ok)
    {
        diffs.push(format!("collector {} failed: {:?}", run.name, run.outcome));
    }
    let mut known = vec!["asset.json".to_string()];
    for collector in collectors {
        let file = format!("{}.json", collector.name());
        known.push(file.clone());
        let expected = match read_json(&expected_dir.join(&file)) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                diffs.push(format!("{file}: not a JSON object"));
                continue;
            }
            Err(e) => {
                diffs.push(e);
                continue;
            }
        };
        let declared = collector.evidence();
        for spec in declared {
            let got = match collected.evidence.get(spec.id) {
                None => {
                    diffs.push(format!("{}: not collected", spec.id));
                    continue;
                }
                Some(item) if item.status == ItemStatus::Ok => {
                    if !spec.value_type.matches(&item.value) {
                        diffs.push(format!(
                            "{}: {} is not a {} as declared",
                            spec.id,
                            item.value,
                            spec.value_type.as_str()
                        ));
                    }
                    json!({"ok": item.value})
                }
                Some(item) => json!({"unavailable": item.reason}),
            };
            match expected.get(spec.id) {
                None => diffs.push(format!("{}: not in {file}; collected {got}", spec.id)),
                Some(want) if *want != got => diffs.push(format!(
                    "{}:\n    expected {want}\n    got      {got}",
                    spec.id
                )),
                Some(_) => {}
            }
        }
        for id in expected
            .keys()
            .filter(|id| !declared.iter().any(|s| s.id == *id))
        {
            diffs.push(format!(
                "{file}: {id} is not declared by {}",
                collector.name()
            ));
        }
    }
    if let Ok(entries) = std::fs::read_dir(expected_dir) {
        for name in entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
        {
            if !known.contains(&name) {
                diffs.push(format!("{name}: no collector of that name"));
            }
        }
    }
    diffs
}

//! The findings of a control view as OCSF Compliance Findings ([`crate::ocsf`]), one per
//! policy result (asset and policy), made one at a time for streaming.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;
use vouch_policies::{ControlState, PolicyOutcome};

use super::ControlsView;

/// The findings of one control view, made one at a time (a view of 10,000 assets holds more
/// than a million results: they are streamed, never held as JSON together).
pub struct Findings {
    view: Arc<ControlsView>,
    /// Framework id → the catalog's name, for `compliance.standards`.
    standards: BTreeMap<String, String>,
    /// Each finding: (control, outcome) of its first appearance, and every control it counts
    /// towards, as indexes into `view.controls`.
    rows: Vec<(u32, u32, Vec<u32>)>,
}

impl Findings {
    /// The findings of `view`, keeping only results whose state is in `states` (all when
    /// empty) and, with `framework`, only that framework's controls. `standards` names each
    /// framework (id → name).
    pub fn new(
        view: Arc<ControlsView>,
        standards: BTreeMap<String, String>,
        framework: Option<&str>,
        states: &[ControlState],
    ) -> Self {
        let mut rows: Vec<(u32, u32, Vec<u32>)> = Vec::new();
        {
            let mut at: HashMap<(&str, &str, &str), usize> = HashMap::new();
            for (ci, c) in view.controls.iter().enumerate() {
                if framework.is_some_and(|f| f != c.control.framework) {
                    continue;
                }
                for (oi, o) in c.outcomes.iter().enumerate() {
                    if !states.is_empty() && !states.contains(&o.state) {
                        continue;
                    }
                    let key = (
                        o.asset.kind.as_str(),
                        o.asset.id.as_str(),
                        o.policy.id.as_str(),
                    );
                    match at.get(&key) {
                        Some(&row) => rows[row].2.push(ci as u32),
                        None => {
                            at.insert(key, rows.len());
                            rows.push((ci as u32, oi as u32, vec![ci as u32]));
                        }
                    }
                }
            }
        }
        // A stable order: by asset, then policy.
        rows.sort_by(|a, b| {
            let (x, y) = (outcome(&view, a), outcome(&view, b));
            (x.asset.kind.as_str(), &x.asset.id, &x.policy.id).cmp(&(
                y.asset.kind.as_str(),
                &y.asset.id,
                &y.policy.id,
            ))
        });
        Findings {
            view,
            standards,
            rows,
        }
    }

    /// How many findings.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The `i`th finding.
    pub fn finding(&self, i: usize) -> Value {
        let row = &self.rows[i];
        let o = outcome(&self.view, row);
        let requirements: Vec<String> = row
            .2
            .iter()
            .map(|&c| self.view.controls[c as usize].control.to_string())
            .collect();
        let mut standards: Vec<&str> = row
            .2
            .iter()
            .map(|&c| {
                let fw = &self.view.controls[c as usize].control.framework;
                self.standards.get(fw).map_or(fw.as_str(), String::as_str)
            })
            .collect();
        standards.sort_unstable();
        standards.dedup();
        let key = format!("{}/{}", o.asset.kind, o.asset.id);
        let snapshot = self.view.snapshots.get(&key);
        crate::ocsf::finding(o, &requirements, &standards, snapshot, &self.view.pack)
    }

    /// Every finding, in order.
    pub fn iter(&self) -> impl Iterator<Item = Value> + '_ {
        (0..self.len()).map(|i| self.finding(i))
    }
}

fn outcome<'a>(view: &'a ControlsView, row: &(u32, u32, Vec<u32>)) -> &'a PolicyOutcome {
    &view.controls[row.0 as usize].outcomes[row.1 as usize]
}

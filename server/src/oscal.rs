//! Assessment results in the OSCAL 1.1 assessment-results JSON model, for GRC tools.
//!
//! One result per export: the framework's applicable controls as reviewed controls; one
//! inventory item per asset; one observation per judged snapshot (method TEST, its subject the
//! asset, its evidence the envelope's URL and digest) and per attestation in force (method
//! EXAMINE); one finding per control whose target is the control's objective, `satisfied` only
//! when the control passes, `not-satisfied` otherwise with the reason (`fail`, or `other` for
//! stale, accepted, manual, error, no evidence) and the Vouch status as a property, beside the
//! control's coverage level, its rationale, for a `partly` control its manual part, what is
//! missing when it does not pass for want of evidence, and `provisional` for ISO/IEC 27701:2025
//! controls (ids and correspondence not yet checked control by control). Controls the
//! organisation excludes are left out of the reviewed controls and carry no finding.
//!
//! UUIDs are name-based (RFC 4122 version 5 layout over SHA-256): the same asset, snapshot or
//! control keeps its UUID from one export to the next, and the same inputs give the same
//! document.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};
use vouch_evidence::{Asset, Timestamp};
use vouch_policies::{Attested, Catalog, ControlState, ControlStatus};

use crate::controls::ControlsView;

/// The OSCAL version the documents follow.
pub const OSCAL_VERSION: &str = "1.1.3";

/// The namespace of Vouch's own properties.
pub const NS: &str = "https://vouch.invalid/ns/oscal";

/// A name-based UUID (version 5 layout, SHA-256 over `vouch-oscal-v1`, a kind and a name).
pub fn uuid(kind: &str, name: &str) -> String {
    crate::ids::name_uuid("vouch-oscal-v1", kind, name)
}

fn prop(name: &str, value: &str) -> Value {
    json!({ "name": name, "ns": NS, "value": value })
}

fn asset_uuid(a: &Asset) -> String {
    uuid("asset", &format!("{}/{}", a.kind, a.id))
}

/// What an export covers.
pub struct Export<'a> {
    /// The framework's catalog.
    pub catalog: &'a Catalog,
    /// The control view (now or as of an instant).
    pub view: &'a ControlsView,
    /// Excluded controls (id → justification), left out.
    pub exclusions: &'a HashMap<String, String>,
    /// When the document is made.
    pub generated_at: Timestamp,
}

impl Export<'_> {
    /// The assessment-results document.
    pub fn document(&self) -> Value {
        let framework = &self.catalog.id;
        let statuses: HashMap<String, &ControlStatus> = self
            .view
            .controls
            .iter()
            .filter(|c| &c.control.framework == framework)
            .map(|c| (c.control.control.clone(), c))
            .collect();
        let reviewed: Vec<&ControlStatus> = self
            .catalog
            .controls
            .iter()
            .filter(|c| !self.exclusions.contains_key(&c.id.to_string()))
            .filter_map(|c| statuses.get(&c.id.control).copied())
            .collect();

        let mut assets: BTreeMap<String, &Asset> = BTreeMap::new();
        for c in &reviewed {
            for o in &c.outcomes {
                assets.insert(format!("{}/{}", o.asset.kind, o.asset.id), &o.asset);
            }
        }
        let inventory: Vec<Value> = assets
            .values()
            .map(|a| {
                json!({
                    "uuid": asset_uuid(a),
                    "description": format!("{} {} ({})", a.kind, a.name, a.id),
                    "props": [prop("asset-kind", a.kind.as_str()), prop("asset-id", &a.id)],
                })
            })
            .collect();
        let mut observations: Vec<Value> = Vec::new();
        let mut observation_of: HashMap<String, String> = HashMap::new();
        for (key, a) in &assets {
            let Some((digest, collected)) = self.view.snapshots.get(key) else {
                continue;
            };
            let id = uuid("snapshot", digest);
            observation_of.insert(key.clone(), id.clone());
            observations.push(json!({
                "uuid": id,
                "title": format!("Evidence snapshot of {} {}", a.kind, a.name),
                "description": format!(
                    "Signed evidence snapshot sha256:{digest}, collected by the Vouch agent and judged by policy pack {}.",
                    self.view.pack
                ),
                "methods": ["TEST"],
                "types": ["control-objective"],
                "subjects": [{ "subject-uuid": asset_uuid(a), "type": "inventory-item" }],
                "relevant-evidence": [{
                    "href": format!("/v1/snapshots/{digest}"),
                    "description": "The DSSE envelope exactly as the agent signed it.",
                    "props": [prop("sha256", digest)],
                }],
                "collected": collected.to_string(),
            }));
        }
        let mut findings = Vec::new();
        for c in &reviewed {
            let mut related: Vec<Value> = Vec::new();
            let mut seen = std::collections::BTreeSet::new();
            for o in &c.outcomes {
                let key = format!("{}/{}", o.asset.kind, o.asset.id);
                if let Some(id) = observation_of.get(&key)
                    && seen.insert(id.clone())
                {
                    related.push(json!({ "observation-uuid": id }));
                }
            }
            if let Some(Attested::Holds {
                reference,
                by,
                until,
            }) = &c.attested
            {
                let id = uuid("attestation", reference);
                observations.push(json!({
                    "uuid": id,
                    "title": format!("Attestation for {}", c.control),
                    "description": format!("Signed attestation by {by}, in force until {until}."),
                    "methods": ["EXAMINE"],
                    "relevant-evidence": [{
                        "href": format!("/v1/attestations/{reference}"),
                        "description": "The attestation as the server signed it, with its document.",
                    }],
                    "collected": self.view.at.to_string(),
                }));
                related.push(json!({ "observation-uuid": id }));
            }
            let (state, reason) = match c.status {
                ControlState::Pass => ("satisfied", "pass"),
                ControlState::Fail => ("not-satisfied", "fail"),
                _ => ("not-satisfied", "other"),
            };
            let failing: Vec<String> = c
                .outcomes
                .iter()
                .filter(|o| o.state != ControlState::Pass && o.state != ControlState::NotApplicable)
                .take(20)
                .map(|o| {
                    format!(
                        "{} {}: {} ({})",
                        o.asset.kind, o.asset.name, o.reason, o.policy
                    )
                })
                .collect();
            let description = if failing.is_empty() {
                format!(
                    "{} {}: {} of {} policy results pass.",
                    c.control,
                    c.title,
                    c.count(ControlState::Pass),
                    c.outcomes.len()
                )
            } else {
                format!("{} {}: {}", c.control, c.title, failing.join("; "))
            };
            let mut props = vec![prop("vouch-status", c.status.as_str())];
            if let Some(level) = c.coverage {
                props.push(prop("coverage", level.as_str()));
            }
            for (name, text) in [
                ("coverage-rationale", &c.rationale),
                ("manual-part", &c.manual_part),
                ("missing", &c.missing),
            ] {
                if let Some(text) = text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                    props.push(prop(name, text));
                }
            }
            if c.provisional {
                props.push(prop("provisional", "true"));
            }
            let mut finding = json!({
                "uuid": uuid("finding", &format!("{}@{}", c.control, self.view.at)),
                "title": format!("{} {}", c.control.control, c.title),
                "description": description,
                "props": props,
                "target": {
                    "type": "objective-id",
                    "target-id": c.control.control,
                    "status": { "state": state, "reason": reason },
                },
            });
            if !related.is_empty() {
                finding["related-observations"] = Value::Array(related);
            }
            findings.push(finding);
        }
        let mut result = json!({
            "uuid": uuid("result", &format!("{framework}@{}/{}", self.view.at, self.view.pack)),
            "title": format!("{} as of {}", self.catalog.name, self.view.at),
            "description": format!(
                "Continuous assessment by Vouch: every applicable control of {} rolled up from signed evidence snapshots judged by policy pack {}.",
                self.catalog.name, self.view.pack
            ),
            "start": self.view.at.to_string(),
            "end": self.view.at.to_string(),
            "props": if self.catalog.controls.iter().any(|c| c.provisional) {
                json!([
                    prop("policy-pack", &self.view.pack),
                    prop("framework", framework),
                    prop("provisional", "true"),
                ])
            } else {
                json!([prop("policy-pack", &self.view.pack), prop("framework", framework)])
            },
            "reviewed-controls": {
                "control-selections": [{
                    "include-controls": reviewed
                        .iter()
                        .map(|c| json!({ "control-id": c.control.control }))
                        .collect::<Vec<_>>(),
                }],
            },
        });
        if !inventory.is_empty() {
            result["local-definitions"] = json!({ "inventory-items": inventory });
        }
        if !observations.is_empty() {
            result["observations"] = Value::Array(observations);
        }
        if !findings.is_empty() {
            result["findings"] = Value::Array(findings);
        }
        json!({
            "assessment-results": {
                "uuid": uuid("assessment-results", &format!("{framework}@{}/{}", self.view.at, self.view.pack)),
                "metadata": {
                    "title": format!("Vouch assessment results: {}", self.catalog.name),
                    "last-modified": self.generated_at.to_string(),
                    "version": self.view.pack.get(..12).unwrap_or(&self.view.pack),
                    "oscal-version": OSCAL_VERSION,
                },
                "import-ap": {
                    "href": "/v1/policies",
                    "remarks": "The assessment plan is the Vouch policy pack in force; its digest is in each result's props.",
                },
                "results": [result],
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// UUIDs are stable per name, distinct across names, and have the version 5 layout OSCAL
    /// requires.
    #[test]
    fn uuids_are_name_based_and_well_formed() {
        let a = uuid("asset", "host/m1");
        assert_eq!(a, uuid("asset", "host/m1"));
        assert_ne!(a, uuid("asset", "host/m2"));
        assert_ne!(a, uuid("snapshot", "host/m1"));
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('5'), "{a}");
        assert!(
            matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{a}"
        );
    }
}

//! What the benches share: the hardened-host fixture, every fact present.

use std::collections::BTreeMap;

use vouch_evidence::{EvidenceItem, Source, Timestamp};

/// The fixture's collection time and evidence.
pub fn hardened_host() -> (Timestamp, BTreeMap<String, EvidenceItem>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/hardened-host.json"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let collected_at: Timestamp = doc["collected_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("collected_at");
    let evidence = doc["evidence"]
        .as_object()
        .expect("evidence")
        .iter()
        .map(|(id, v)| {
            let item = EvidenceItem::ok(v.clone(), Source::File("/fixture".into()));
            (id.clone(), item)
        })
        .collect();
    (collected_at, evidence)
}
